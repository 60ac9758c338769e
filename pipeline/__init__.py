"""vgdata pipeline: plain Python (no Prefect) that turns source datasets into dataset rows, and the
work around a build. Each folder is one role; imports run one way, down (docs/ARCHITECTURE.md draws
the layers, and `lint-imports` holds them, see pyproject.toml):

- `build/`: a whole build: `run.py` (preflight -> discover -> videos -> outputs, for every runner),
  `runner.py` (how videos are mapped), `video.py` (one video's job, cached), `write.py` (outputs).
- `quality/`: checks after the fact: the build's files (`files`), the sources read again
  (`ground_truth`), `audit`.
- `ops/`: around a build: pull a source, write the dataset card, publish to the Hub.
- `report/`: `vgdata report`: numbers, plots and previews on a static page.
- `sample/`: the bundled sample and the segmenter's quality against its truth.
- `outputs/`: what a build writes, and how: schemas, shards (streamed), videos, rejects, manifest.
- `stages/`: one video's way through: records -> sampling -> (frames -> segmenters -> track_filter)
  -> points -> rows (Molmo2's columns and text).
- here: `config.py`, `errors.py`, `checks.py`, `progress.py`, `metrics.py` (Molmo2's metrics,
  `vgdata eval`).

`converters/` sits between the build and the stages: the build calls converters, converters make
`stages.records`, and no stage imports a converter.
"""

__version__ = "0.3.0"
