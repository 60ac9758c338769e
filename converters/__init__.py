"""vgdata's built-in sources: one module per source format family, each turning a dataset on disk
into canonical `pipeline.stages.records.VideoRecord`s. Every source registers under the
entry-point group `vgdata.sources` (pyproject.toml), as a source in a package of its own does;
the build and everything after it find sources through `pipeline.sources` only, never by
importing this package."""
