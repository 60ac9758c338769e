"""The source contract and the registry of sources.

A source is a `Converter` subclass (`base.py`: `discover` a split's videos cheaply, `load` one into
a `VideoRecord`, reading files only through `read_text` / `read_json` / `source_path` and
split-wide files through `split_index`) and its data manifest, registered under the entry-point
group `vgdata.sources` of an installed package (`registry.py`). vgdata's built-in sources, in
`converters/`, register in its own `pyproject.toml` the same way; a source in a package of its own
needs nothing else (README: "Add a source in your own package").
"""

from .base import (
    Converter,
    VideoRef,
    check,
    image_size,
    list_frames,
    parse_numbers,
    read_json,
    read_text,
    require_dir,
    source_path,
)
from .registry import GROUP, get_converter, load_manifest, refresh, source_class, sources

__all__ = ["GROUP", "Converter", "VideoRef", "check", "get_converter", "image_size", "list_frames", "load_manifest",
           "parse_numbers", "read_json", "read_text", "refresh", "require_dir", "source_class", "source_path",
           "sources"]
