"""Canonical records: the only thing converters produce and the only thing later stages read.

Conventions (fixed for every source):
- frame indices are 0-based indices into the video's full frame sequence;
- boxes are (x0, y0, x1, y1) in pixels of the original frame, 0-based, x1/y1 exclusive;
- masks are COCO RLE dicts {"size": [height, width], "counts": str};
- an object is "annotated" on a frame when the frame is a key of `frames`, and "visible" there when
  its `FrameAnnotation.visible` is true (invisible = occluded, out of view or absent);
- questions are `Query`s over SETS of objects: a referring expression names one or more objects
  (or none: ReVOS "no target"), a category names all the video's objects of that category. Every
  query is its own row (point: count = its objects seen; track: all its objects). A record whose
  `queries` is None asks one category query per category of its objects.

Masks from palette or panoptic PNG folders are not decoded at conversion: the record lists the PNG
of each annotated frame (`PngMasks`) and `pipeline.stages.png_masks` reads only the sampled frames, one at
a time, turning each object's pixels into an RLE (a video's masks are never all in memory).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Box = tuple[float, float, float, float]
Kind = Literal["mask", "box"]
QueryType = Literal["category", "referring", "reasoning", "no_target"]


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

    object_id: str  # the source's key for the object's annotation (MeViS anno_id, COCO annotation id)
    kind: Kind
    category: str | None = None
    frames: dict[int, FrameAnnotation] = field(default_factory=dict)
    number: int | None = None  # the source's own numeric object id where it has one (MeViS obj_id, palette value)

    def visible_frames(self) -> list[int]:
        return sorted(f for f, a in self.frames.items() if a.visible)


@dataclass(frozen=True)
class Query:
    """A question over a set of the video's objects.

    `text` is exactly what the question names (an expression, or a category name); `object_ids`
    are `TrackedObject.object_id`s, possibly none (a "no target" expression: a count-0 point row
    and no track row). `query_id` is the source's own id (MeViS expression id), stable across builds."""

    query_id: str
    text: str
    object_ids: tuple[str, ...]
    type: QueryType = "category"
    # False where the source does not label every object of the query (LV-VIS training videos,
    # BURST's not-exhaustive categories): its objects are true tracks, but a count would be wrong.
    countable: bool = True


def category_queries(objects: list[TrackedObject]) -> list[Query]:
    """One query per category, over all objects of it (sorted by category)."""
    by_cat: dict[str, list[str]] = {}
    for o in objects:
        if o.category:
            by_cat.setdefault(o.category, []).append(o.object_id)
    return [Query(cat, cat, tuple(ids), "category") for cat, ids in sorted(by_cat.items())]


@dataclass(frozen=True)
class PngMasks:
    """Masks kept as the source's PNG files, read only on the sampled frames.

    `files[frame]` is the PNG of an annotated frame. `encoding`: "binary" (a PNG per object and
    frame, `object_files`: ReasonVOS), "palette" (pixel value = object
    id, DAVIS / YouTube-VOS / MOSE / LVOS) or "panoptic" (VIPSeg: a value below 125 is a stuff
    category id, else category id * 100 + instance; `categories` names the thing categories). Values in `ignore` are
    background or void. `objects` are ids the source's metadata declares (they exist even on frames
    where they are not visible); other values found on a sampled frame become objects too unless
    `declared_only`."""

    files: dict[int, str]
    encoding: Literal["palette", "panoptic", "binary"] = "palette"
    ignore: tuple[int, ...] = (0, 255)
    objects: tuple[str, ...] = ()
    declared_only: bool = False
    categories: tuple[tuple[int, str], ...] = ()  # panoptic: thing category id -> name
    # binary (ReasonVOS): one PNG per object and frame, any non-zero pixel the object's:
    # object id -> frame -> png (`files` then lists the annotated frames)
    object_files: dict[str, dict[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Dropped:
    """Something a converter left out while reading, and why: a distractor track, an ignore row, a
    NaN or zero-area box (kept as "not visible"). The build turns each into a rejects row."""

    reason: str
    detail: str = ""
    object_id: str | None = None
    level: Literal["track", "frame", "row"] = "track"
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
    queries: list[Query] | None = None  # None: one category query per category of the objects
    png_masks: PngMasks | None = None
    # Objects the track filter dropped -> the source frames on which they are visible. A query over
    # one of them keeps its rows only over times where none of them is visible (see `rows`).
    filtered: dict[str, frozenset[int]] = field(default_factory=dict)
    # False where the split's answers are not public (MeViS valid, Ref-YouTube-VOS valid without
    # masks): the record has queries but no objects, and gives `track` rows that ask each query
    # with no answer (`rows.unanswered_rows`), for the benchmark's server to score.
    answered: bool = True

    def all_queries(self) -> list[Query]:
        """The record's queries (its own, else one per category of its objects)."""
        return self.queries if self.queries is not None else category_queries(self.objects)

    @property
    def kind(self) -> Kind:
        kinds = {o.kind for o in self.objects}
        return "box" if "box" in kinds else "mask"


Level = Literal["video", "track", "frame", "row"]


@dataclass(frozen=True)
class Reject:
    """What a stage dropped and why, as the rejects table (`OUT/rejects.parquet`) lists it. `level`
    says how much was lost: a whole video, a track, one frame of a track (or one source row), or an
    output row."""

    source: str
    split: str
    video_id: str
    level: Level
    stage: str
    reason: str
    detail: str = ""
    object_id: str | None = None
    frame: int | None = None
    file: str | None = None
    line: int | None = None  # line in `file`, for text sources

    def to_dict(self) -> dict:
        return asdict(self)
