"""The converter contract, and the safe way to read a source's files.

`discover(root, split)` lists the videos of a split cheaply (no annotation parsing), as `VideoRef`s
that name the files each video's conversion reads; `load(ref)` parses one video into a
`VideoRecord`. A malformed, missing or unreadable file raises `SourceError(path, problem)`: the
build rejects that video, records why, and goes on.

Every file a converter reads goes through `read_text` / `read_json` / `source_path`, which refuse
paths that resolve outside the source root (a symbolic link or an `imDir=../..` pointing
elsewhere) and turn every OS or decoding error into a `SourceError` naming the file.

Options: a converter declares the options it takes in `OPTIONS` (name -> (type, default, help));
anything else, or a value of the wrong type, is a `ConfigError` before any work starts.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import statistics
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pipeline import checks
from pipeline.errors import ConfigError, SourceError
from pipeline.stages.records import Kind, VideoRecord

from .split_index import IndexWriter, SplitIndex, open_index


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


Option = tuple[type | tuple[type, ...], object, str]  # (accepted types, default, help)


class Converter(ABC):
    name: str
    title: str = ""  # the dataset's own spelling, for messages
    kind: Kind
    OPTIONS: dict[str, Option] = {}
    # The data manifest, relative to the folder of the module that defines the class; None: the
    # built-in sources' `data_manifests/<name>.yaml` beside their package.
    MANIFEST: str | None = None
    # The allenai/molmo2 datasets this source fills (`vgdata export molmo2`, pipeline/ops/molmo2.py):
    # {Molmo2 class: {its data split: this source's splits}}, and {point subset: {this source's
    # split: train or val}}. A class's own statement only: a subclass that is another source says its own.
    molmo2: dict[str, dict[str, tuple[str, ...]]] = {}
    molmo2_points: dict[str, dict[str, str]] = {}

    @classmethod
    def manifest_path(cls) -> Path:
        here = Path(sys.modules[cls.__module__].__file__).resolve().parent
        return here / cls.MANIFEST if cls.MANIFEST else here.parent / "data_manifests" / f"{cls.name}.yaml"

    def __init__(self, index_dir: str | None = None, **options):
        """`index_dir`: where split-wide annotation files are indexed per video (the build gives
        `OUT/.work/index`; None: a temporary folder of this process)."""
        self.index_dir = index_dir
        self.options = self.option_defaults()
        self.options.update(self.check_options(options))

    @classmethod
    def option_defaults(cls) -> dict:
        return {k: default for k, (_, default, _) in cls.OPTIONS.items()}

    @classmethod
    def check_options(cls, options: dict) -> dict:
        """The options, type-checked against OPTIONS; ConfigError naming any unknown or wrong one."""
        for key, value in options.items():
            if key not in cls.OPTIONS:
                known = ", ".join(sorted(cls.OPTIONS)) or "none"
                raise ConfigError(f"source {cls.name!r}: unknown option {key!r} (options: {known})")
            types = cls.OPTIONS[key][0]
            types = types if isinstance(types, tuple) else (types,)
            ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
            if ok and isinstance(value, float) and not math.isfinite(value):
                ok = False
            if not ok:
                want = " or ".join(t.__name__ for t in types)
                raise ConfigError(f"source {cls.name!r}: option {key!r} must be {want}, got {value!r}")
        return dict(options)

    @abstractmethod
    def discover(self, root: str, split: str) -> list[VideoRef]:
        """The split's videos, sorted by id. SourceError when the layout is not there at all."""

    @abstractmethod
    def load(self, ref: VideoRef) -> VideoRecord:
        """One video's canonical record."""

    def split_index(self, path: str, root: str | None, kind: str,
                    fill: Callable[[str, IndexWriter], None]) -> SplitIndex:
        """`path`, a split-wide annotation file inside `root`, indexed per video (`split_index.py`):
        streamed once into `self.index_dir`, read back one video at a time."""
        source_path(path, root)
        return open_index(path, kind, fill, self.index_dir)

    def fingerprint(self, ref: VideoRef) -> list:
        """What identifies `ref`'s inputs for the build's cache (a change recomputes the video): by
        default each file's size and mtime (None for a file that cannot be stat'ed: `load` then
        says why). Converters that read a video's part of a split-wide file give that part's
        digest instead, so that editing one video's entry recomputes that video only."""
        return [stat_stamp(f) for f in ref.files]

    def _ref(self, root, split, video_id, location, files) -> VideoRef:
        return VideoRef(self.name, split, video_id, str(root), str(location), tuple(str(f) for f in files),
                        tuple(sorted(self.options.items())))


def require_dir(path: str, what: str) -> None:
    if not os.path.isdir(path):
        raise SourceError(path, f"{what} folder not found")


def source_path(path: str, root: str | None) -> str:
    """`path`, after checking that it resolves inside the source root (links are not followed out)."""
    return check(path, checks.inside_root, path, root)


def read_bytes(path: str, root: str | None = None) -> bytes:
    source_path(path, root)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise SourceError(path, "file is missing" + (" (dangling link)" if os.path.islink(path) else "")) from None
    except IsADirectoryError:
        raise SourceError(path, "is a folder, expected a file") from None
    except OSError as e:
        raise SourceError(path, f"cannot be read ({e.strerror or e})") from None


def read_text(path: str, encoding: str = "utf-8", root: str | None = None) -> str:
    data = read_bytes(path, root)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise SourceError(path, f"not valid {encoding} text (byte {e.start}: {e.reason})") from None


def read_json(path: str, root: str | None = None):
    text = read_text(path, root=root)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SourceError(path, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise SourceError(path, "JSON nested too deeply") from None


def stat_stamp(path: str) -> list:
    """[path, size, mtime_ns] of a file or folder; [path, None, None] when it cannot be stat'ed."""
    try:
        st = os.stat(path)
        return [path, st.st_size, st.st_mtime_ns]
    except OSError:
        return [path, None, None]


def file_stamp(path: str, root: str | None = None) -> tuple[int, int]:
    """(size, mtime) of a source file inside the root; SourceError when it cannot be read."""
    source_path(path, root)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SourceError(path, "file is missing") from None
    except OSError as e:
        raise SourceError(path, f"cannot be read ({e.strerror or e})") from None
    return st.st_size, st.st_mtime_ns


def once_per_file(maxsize: int = 2):
    """Decorator: `fn(path, root)` is computed once per process for each version of the file (keyed
    by its size and mtime, so an edited file is read again) and shared by every video that asks.
    Callers must not modify what it returns."""
    def wrap(fn):
        cached = functools.lru_cache(maxsize=maxsize)(lambda path, root, stamp: fn(path, root))

        @functools.wraps(fn)
        def call(path: str, root: str | None = None):
            return cached(path, root, file_stamp(path, root))
        return call
    return wrap


@once_per_file()
def read_shared_json(path: str, root: str | None = None):
    """A small JSON every video of a split reads (VIPSeg's category list), parsed once per process.
    A split-wide annotation file is never read whole: see `Converter.split_index`."""
    return read_json(path, root)


def category_names(items) -> dict:
    """{id: name} of a COCO-style `categories` list (entries without an id or a name are skipped)."""
    return {c["id"]: c["name"] for c in items or [] if isinstance(c, dict) and "id" in c and isinstance(c.get("name"), str)}


def image_size(path: str, root: str | None = None) -> tuple[int, int]:
    """(width, height) of an image, from its header."""
    from PIL import Image

    source_path(path, root)
    try:
        with Image.open(path) as im:
            size = im.size
    except FileNotFoundError:
        raise SourceError(path, "image file is missing") from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise SourceError(path, f"image cannot be read ({e})") from None
    return check(path, checks.frame_size, *size)


def video_file_info(path: str, root: str | None = None) -> tuple[int, int, int, float]:
    """(width, height, number of frames, frame rate) of a video file, from its container (decord,
    else OpenCV); SourceError naming the file when it cannot be opened."""
    source_path(path, root)
    try:
        try:
            import decord

            reader = decord.VideoReader(path)
            height, width = reader[0].shape[:2]
            n, fps = len(reader), float(reader.get_avg_fps())
        except ImportError:
            import cv2

            cap = cv2.VideoCapture(path)
            if not cap.isOpened():
                raise ValueError("OpenCV cannot open it")
            width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            n, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), float(cap.get(cv2.CAP_PROP_FPS))
            cap.release()
    except FileNotFoundError:
        raise SourceError(path, "video file is missing") from None
    except Exception as e:  # noqa: BLE001 - decord raises its own error types for broken files
        raise SourceError(path, f"video file cannot be read ({e})") from None
    check(path, checks.frame_size, width, height)
    check(path, checks.frame_count, n, "number of frames")
    check(path, checks.frame_rate, fps, "frame rate")
    return width, height, n, fps


IMAGE_EXTS = (".jpg", ".jpeg", ".png")


def _frame_key(name: str):
    digits = re.findall(r"\d+", name)
    return (int(digits[-1]) if digits else -1, name)


def list_frames(folder: str, root: str | None = None) -> tuple[str, ...]:
    """The frame images of a folder, sorted by the number in their names (TrackingNet's unpadded
    `0.jpg, 1.jpg, ..., 10.jpg` too); SourceError when the folder is missing, unreadable or empty."""
    require_dir(folder, "image")
    source_path(folder, root)
    try:
        names = os.listdir(folder)
    except OSError as e:
        raise SourceError(folder, f"cannot be listed ({e.strerror or e})") from None
    files = tuple(sorted((f for f in names if f.lower().endswith(IMAGE_EXTS)), key=_frame_key))
    if not files:
        raise SourceError(folder, "no frame images")
    check(folder, checks.frame_count, len(files), "number of frame images")
    return files


def annotation_rate(fps: float, annotated: tuple[int, ...]) -> float:
    """The annotation rate of sparsely annotated frames: the frame rate over their usual gap."""
    gaps = [b - a for a, b in zip(annotated, annotated[1:])]
    return fps / (statistics.median(gaps) if gaps else 1)


def parse_numbers(path: str, line: str, lineno: int, sep: str = ",") -> list[float]:
    """The numbers of one text line: `sep`- or tab-separated (spaces beside them are padding), else
    space-separated. NaN and inf parse: callers decide what a non-finite value means (usually a
    rejected row, never a crash)."""
    line = line.replace("\t", sep)
    fields = line.replace(" ", "").split(sep) if sep in line else line.split()
    try:
        return [float(x) for x in fields if x != ""]
    except ValueError:
        raise SourceError(path, f"line {lineno}: not a list of numbers: {line.strip()[:80]!r}") from None


def check(path: str, fn, *args, **kwargs):
    """Run a `pipeline.checks` function; its ValueError becomes a SourceError naming `path`."""
    try:
        return fn(*args, **kwargs)
    except ValueError as e:
        raise SourceError(path, str(e)) from None
