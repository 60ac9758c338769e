"""What a build's rows should agree with, read again from the sources: each video's objects, their
masks and boxes per source frame, and its queries. Mask sources are re-read by their converter
(PNG masks decoded here); box sources carry the masks the segmenter made, from `OUT/masks.parquet`,
next to their ground-truth boxes. The audit, the metrics and the report read rows against this,
not against the code that wrote the rows.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field

import numpy as np
import pyarrow.parquet as pq

import pyarrow.compute as pc

from pipeline.sources import get_converter
from pipeline.sources.base import VideoRef
from pipeline.errors import VgdataError
from pipeline.stages import masks as M
from pipeline.stages.png_masks import read_png_masks
from pipeline.stages.records import Query, TrackedObject


class TruthError(VgdataError):
    """A source the build names cannot be read again (moved, deleted)."""


@dataclass
class VideoTruth:
    source: str
    split: str
    video_id: str
    width: int
    height: int
    fps: float
    annotated: list[int]
    objects: dict[str, TrackedObject]
    queries: list[Query]
    # box sources: (object_id, frame) -> (rle, box, kept), from masks.parquet
    stored: dict[tuple[str, int], tuple[dict, list, bool]] = field(default_factory=dict)
    video: object = None  # records.Video: where the pixels are (the report draws on them)
    _decoded: dict = field(default_factory=dict, repr=False)

    def frame_at(self, seconds: float, sampling_fps: float) -> int | None:
        """The annotated source frame nearest `seconds` (None if none lies within half a grid step)."""
        if not self.annotated:
            return None
        target = seconds * self.fps
        i = bisect.bisect_left(self.annotated, target)
        best = min((j for j in (i - 1, i) if 0 <= j < len(self.annotated)),
                   key=lambda j: (abs(self.annotated[j] - target), j))
        if abs(self.annotated[best] / self.fps - seconds) > 0.5 / sampling_fps + 1e-6:
            return None
        return self.annotated[best]

    def is_box(self, object_id: str) -> bool:
        o = self.objects.get(object_id)
        return o is not None and o.kind == "box"

    def mask(self, object_id: str, frame: int) -> np.ndarray | None:
        """The object's mask on `frame` (a bool HxW array), None where it has none (not visible)."""
        key = (object_id, frame)
        if key not in self._decoded:
            rle = None
            if self.is_box(object_id):
                stored = self.stored.get(key)
                rle = stored[0] if stored else None
            else:
                o = self.objects.get(object_id)
                ann = o.frames.get(frame) if o else None
                rle = ann.rle if ann is not None and ann.visible else None
            m = M.decode(rle) if rle is not None else None
            self._decoded[key] = m if m is not None and m.any() else None
        return self._decoded[key]

    def box(self, object_id: str, frame: int) -> tuple | None:
        """The ground-truth box (x0, y0, x1, y1) of a box object on `frame`, clipped to the frame."""
        stored = self.stored.get((object_id, frame))
        if stored:
            return tuple(stored[1])
        o = self.objects.get(object_id)
        ann = o.frames.get(frame) if o else None
        return M.clip_box(ann.box, self.width, self.height) if ann is not None and ann.visible and ann.box else None

    def visible(self, object_id: str, frame: int) -> bool:
        if self.is_box(object_id):
            return (object_id, frame) in self.stored
        return self.mask(object_id, frame) is not None

    def inside(self, object_id: str, frame: int, x: float, y: float) -> bool:
        """Pixel (x, y) (floats, pixels) inside the object's mask on `frame`, and for a box object
        inside its ground-truth box too."""
        m = self.mask(object_id, frame)
        if m is None:
            return False
        col = min(max(int(np.floor(x)), 0), self.width - 1)
        row = min(max(int(np.floor(y)), 0), self.height - 1)
        if not m[row, col]:
            return False
        if self.is_box(object_id):
            b = self.box(object_id, frame)
            return b is not None and b[0] <= x <= b[2] and b[1] <= y <= b[3]
        return True


def sources_of(manifest: dict, overrides: dict[str, str] | None = None) -> dict[tuple[str, str], dict]:
    """(source, split) -> the source spec the build read (root, options), roots overridden by name.
    A relative root is taken from the folder the build ran in (`cwd` in the manifest)."""
    out = {}
    for spec in (manifest.get("config") or {}).get("sources") or []:
        spec = dict(spec)
        if overrides and spec["name"] in overrides:
            spec["root"] = os.path.abspath(overrides[spec["name"]])
        elif not os.path.isabs(spec["root"]) and manifest.get("cwd"):
            spec["root"] = os.path.join(manifest["cwd"], spec["root"])
        out[(spec["name"], spec.get("split", "train"))] = spec
    return out


KEYS = ["source", "split", "video_id"]
MASK_COLUMNS = KEYS + ["object_id", "frame", "height", "width", "counts", "box", "kept"]


class StoredMasks:
    """`OUT/masks.parquet` (box sources' masks) read one video at a time: which row groups hold each
    video is learnt from the three key columns only; a video's rows come from its row groups (the
    last one read is kept, as callers go through the videos in order)."""

    def __init__(self, path: str):
        self.file = pq.ParquetFile(path) if os.path.exists(path) else None
        self._groups: dict[tuple[str, str, str], list[int]] | None = None
        self._held: tuple[int, object] | None = None

    def _where(self) -> dict[tuple[str, str, str], list[int]]:
        if self._groups is None:
            self._groups = {}
            for i in range(self.file.num_row_groups if self.file else 0):
                keys = self.file.read_row_group(i, columns=KEYS).group_by(KEYS).aggregate([])
                for key in zip(*(keys.column(k).to_pylist() for k in KEYS)):
                    self._groups.setdefault(key, []).append(i)
        return self._groups

    def _group(self, i: int):
        if self._held is None or self._held[0] != i:
            self._held = (i, self.file.read_row_group(i, columns=MASK_COLUMNS))
        return self._held[1]

    def video(self, source: str, split: str, video_id: str) -> dict[tuple[str, int], tuple[dict, list, bool]]:
        """(object_id, frame) -> (rle, box, kept) of one video."""
        out = {}
        for i in self._where().get((source, split, video_id), []):
            t = self._group(i)
            mask = pc.and_(pc.and_(pc.equal(t["source"], source), pc.equal(t["split"], split)),
                           pc.equal(t["video_id"], video_id))
            for r in t.filter(mask).to_pylist():
                out[(r["object_id"], r["frame"])] = ({"size": [r["height"], r["width"]], "counts": r["counts"]},
                                                     r["box"], r["kept"])
        return out


class GroundTruth:
    """Lazily re-reads the videos of a build's sources (one video held at a time). Split-wide
    annotation files are read through the build's per-video index (`OUT/.work/index`, built again
    if it is gone), box sources' masks from `masks.parquet` one video at a time."""

    def __init__(self, out: str, manifest: dict, overrides: dict[str, str] | None = None):
        self.out = out
        self.specs = sources_of(manifest, overrides)
        self._refs: dict[tuple[str, str], dict[str, VideoRef]] = {}
        self._current: VideoTruth | None = None
        self.stored = StoredMasks(os.path.join(out, manifest.get("masks_file") or "masks.parquet"))
        self.index_dir = os.path.join(out, ".work", "index")
        self._converters: dict = {}

    def converter(self, source: str, split: str):
        if (source, split) not in self._converters:
            spec = self.specs[(source, split)]
            self._converters[(source, split)] = get_converter(source, index_dir=self.index_dir,
                                                              **dict(spec.get("options") or {}))
        return self._converters[(source, split)]

    def _refs_of(self, source: str, split: str) -> dict[str, VideoRef]:
        if (source, split) not in self._refs:
            spec = self.specs.get((source, split))
            if spec is None:
                raise TruthError(f"{source}/{split}: not among the build's sources")
            if not os.path.exists(spec["root"]):
                raise TruthError(f"{source}: root {spec['root']} not found (give --source {source} --root DIR)")
            self._refs[(source, split)] = {r.video_id: r for r in self.converter(source, split).discover(spec["root"], split)}
        return self._refs[(source, split)]

    def video(self, source: str, split: str, video_id: str) -> VideoTruth:
        cur = self._current
        if cur is not None and (cur.source, cur.split, cur.video_id) == (source, split, video_id):
            return cur
        ref = self._refs_of(source, split).get(video_id)
        if ref is None:
            raise TruthError(f"{source}/{split}/{video_id}: no longer in {self.specs[(source, split)]['root']}")
        record = self.converter(source, split).load(ref)
        if record.png_masks is not None:
            read_png_masks(record, list(record.annotated_frames), ref.root)
        v = record.video
        self._current = VideoTruth(source, split, video_id, v.width, v.height, v.fps,
                                   sorted(set(record.annotated_frames)),
                                   {o.object_id: o for o in record.objects}, record.all_queries(),
                                   self.stored.video(source, split, video_id), v)
        return self._current
