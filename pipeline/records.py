"""Canonical records: the only thing converters produce and the only thing later stages read.

Conventions (fixed for every source):
- frame indices are 0-based indices into the video's full frame sequence;
- boxes are (x0, y0, x1, y1) in pixels of the original frame, 0-based, x1/y1 exclusive;
- masks are COCO RLE dicts {"size": [height, width], "counts": str};
- an object is "annotated" on a frame when the frame is a key of `frames`, and "visible" there when
  its `FrameAnnotation.visible` is true (invisible = occluded, out of view or absent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Box = tuple[float, float, float, float]
Kind = Literal["mask", "box"]


@dataclass
class FrameAnnotation:
    """One object's annotation on one frame."""

    visible: bool
    box: Box | None = None
    rle: dict | None = None


@dataclass
class Video:
    """Where a video's pixels are and how its time axis is laid out."""

    source: str
    split: str
    video_id: str
    width: int
    height: int
    n_frames: int
    fps: float
    annotation_fps: float
    frames_dir: str | None = None
    frame_files: tuple[str, ...] = ()
    video_file: str | None = None
    input_files: tuple[str, ...] = ()
    root: str | None = None  # the source root: frames are never read from outside it

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    @property
    def path(self) -> str:
        """The video as a training loader would open it: the file, else the frame folder."""
        return self.video_file or self.frames_dir or ""


@dataclass
class TrackedObject:
    """One object (track, masklet) of a video with its per-frame annotations."""

    object_id: str
    kind: Kind
    category: str | None = None
    expressions: tuple[str, ...] = ()
    frames: dict[int, FrameAnnotation] = field(default_factory=dict)

    def visible_frames(self) -> list[int]:
        return sorted(f for f, a in self.frames.items() if a.visible)

    @property
    def label(self) -> str | None:
        """The text a question asks about: the first expression, else the category."""
        return self.expressions[0] if self.expressions else self.category


@dataclass(frozen=True)
class Dropped:
    """Something a converter left out while reading, and why: a distractor track, an ignore row, a
    NaN or zero-area box (kept as "not visible"). The build turns each into a rejects row."""

    reason: str
    detail: str = ""
    object_id: str | None = None
    level: Literal["track", "frame"] = "track"
    frame: int | None = None
    file: str | None = None
    line: int | None = None


@dataclass
class VideoRecord:
    """A converted video: the video, its objects, and which frames carry annotations."""

    video: Video
    objects: list[TrackedObject]
    annotated_frames: tuple[int, ...]
    # What the converter left out, so that nothing is lost silently.
    dropped: list[Dropped] = field(default_factory=list)

    @property
    def kind(self) -> Kind:
        kinds = {o.kind for o in self.objects}
        return "box" if "box" in kinds else "mask"
