"""The converter contract.

`discover(root, split)` lists the videos of a split cheaply (no annotation parsing), as `VideoRef`s
that name the files each video's conversion reads; `load(ref)` parses one video into a
`VideoRecord`. A malformed or missing file raises `SourceError(path, problem)`: the build rejects
that video, records why, and goes on.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from pipeline.errors import SourceError
from pipeline.records import Kind, VideoRecord


@dataclass(frozen=True)
class VideoRef:
    source: str
    split: str
    video_id: str
    root: str
    location: str  # the sequence folder or annotation file the video comes from
    files: tuple[str, ...] = ()  # annotation files load() reads (cache keys, build manifest)
    options: tuple[tuple[str, object], ...] = field(default=())

    def option(self, name: str, default=None):
        return dict(self.options).get(name, default)


class Converter(ABC):
    name: str
    kind: Kind

    def __init__(self, **options):
        self.options = options

    @abstractmethod
    def discover(self, root: str, split: str) -> list[VideoRef]:
        """The split's videos, sorted by id. SourceError when the layout is not there at all."""

    @abstractmethod
    def load(self, ref: VideoRef) -> VideoRecord:
        """One video's canonical record."""

    def _ref(self, root, split, video_id, location, files) -> VideoRef:
        return VideoRef(self.name, split, video_id, str(root), str(location), tuple(str(f) for f in files),
                        tuple(sorted(self.options.items())))


def require_dir(path: str, what: str) -> None:
    if not os.path.isdir(path):
        raise SourceError(path, f"{what} folder not found")


def read_text(path: str, encoding: str = "utf-8") -> str:
    try:
        with open(path, encoding=encoding) as f:
            return f.read()
    except FileNotFoundError:
        raise SourceError(path, "file is missing") from None
    except UnicodeDecodeError as e:
        raise SourceError(path, f"not valid {encoding} text ({e})") from None


def parse_numbers(path: str, line: str, lineno: int, sep: str = ",") -> list[float]:
    try:
        return [float(x) for x in line.replace("\t", sep).replace(" ", "").split(sep) if x != ""]
    except ValueError:
        raise SourceError(path, f"line {lineno}: not a list of numbers: {line.strip()[:80]!r}") from None
