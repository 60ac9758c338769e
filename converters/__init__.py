"""Converters: one module per source format family, each turning a dataset on disk into canonical
`pipeline.stages.records.VideoRecord`s. `registry.get_converter(name)` maps a source name to one."""

from .registry import SOURCES, get_converter, load_manifest

__all__ = ["SOURCES", "get_converter", "load_manifest"]
