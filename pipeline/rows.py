"""Rows of the two datasets from a video whose objects all have masks on the sampled frames.

- AcademicVideoPoint: per clip window (at most `max_clip_seconds`) and label, one row: each object
  of the label that is visible in the window gets one Gaussian point at its first visible sampled
  frame; `count` is the number of such objects. Unlabelled sources (SA-V) give no point rows.
- AcademicVideoTrack: labelled objects give one `track` row per label over the whole video;
  unlabelled objects give one `single_point_track` row each, queried by their first track point.
A label any of whose tracks was dropped upstream gives no rows: its count and tracks would be
wrong. Such rows are reported as rejects.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from . import masks as M
from . import molmo_text as T
from . import points as P
from . import questions as Q
from .records import TrackedObject, VideoRecord
from .rejects import Reject
from .sampling import SampledFrame


def stable_rng(*parts) -> np.random.Generator:
    """A generator seeded by the content of `parts` (not Python's salted hash)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass
class ObjectTrack:
    """One object's points on the sampled frames it is annotated on."""

    obj: TrackedObject
    int_id: int
    points: dict[int, P.Point | None]  # step -> point, None when annotated but not visible

    def visible_steps(self) -> list[int]:
        return sorted(s for s, p in self.points.items() if p is not None)


@dataclass
class RowSettings:
    sampling_fps: int = 2
    seed: int = 0
    max_clip_seconds: float = 63.0


def integer_ids(objects: list[TrackedObject]) -> list[int]:
    """Numeric object ids: the source's own when they are distinct integers, else 1..N."""
    ids = [int(o.object_id) if o.object_id.lstrip("-").isdigit() else None for o in objects]
    if None in ids or len(set(ids)) != len(ids):
        return list(range(1, len(objects) + 1))
    return ids


def object_tracks(record: VideoRecord, sampled: list[SampledFrame]) -> tuple[list[ObjectTrack], list[Reject]]:
    v = record.video
    rejects: list[Reject] = []
    tracks = []
    for obj, int_id in zip(record.objects, integer_ids(record.objects)):
        steps, masks = [], []
        for step, s in enumerate(sampled):
            ann = obj.frames.get(s.frame)
            if ann is None:
                continue
            mask = M.decode(ann.rle) if (ann.visible and ann.rle is not None) else None
            if ann.visible and (mask is None or not mask.any()):
                rejects.append(
                    Reject(v.source, v.split, v.video_id, "frame", "points", "empty mask on a visible frame",
                           "point marked occluded", obj.object_id, s.frame)
                )
                mask = None
            steps.append(step)
            masks.append(mask)
        pts = P.track_points(masks)
        tracks.append(ObjectTrack(obj, int_id, dict(zip(steps, pts))))
    return tracks, rejects


def video_path(record: VideoRecord, root: str) -> str:
    """The video's file or frame folder relative to the source root (as rows store it)."""
    return os.path.relpath(record.video.path, root) if record.video.path else ""


def _xy100(p: P.Point, width: int, height: int) -> dict:
    return {"x": 100.0 * p.x / width, "y": 100.0 * p.y / height}


def point_rows(
    record: VideoRecord,
    sampled: list[SampledFrame],
    tracks: list[ObjectTrack],
    settings: RowSettings,
    root: str,
    incomplete_labels: set[str],
) -> tuple[list[dict], list[Reject]]:
    v = record.video
    rows, rejects = [], []
    by_label: dict[str, list[ObjectTrack]] = defaultdict(list)
    for t in tracks:
        if t.obj.label:
            by_label[t.obj.label].append(t)
    if not by_label or not sampled:
        return rows, rejects
    clip_len = settings.max_clip_seconds or math.inf  # 0/None: one window, the whole video
    n_windows = 1 if math.isinf(clip_len) else max(1, math.ceil((sampled[-1].time + 1e-6) / clip_len))
    for w in range(n_windows):
        start = 0.0 if math.isinf(clip_len) else w * clip_len
        end = min(start + clip_len, v.duration)
        window = [i for i, s in enumerate(sampled) if start - 1e-6 <= s.time < start + clip_len - 1e-6]
        for li, label in enumerate(sorted(by_label)):
            row_id = f"{v.source}/{v.split}/{v.video_id}/points/{w:03d}-{li:03d}"
            if label in incomplete_labels:
                rejects.append(Reject(v.source, v.split, v.video_id, "row", "rows", "label has a dropped track",
                                      f"AcademicVideoPoint row {row_id} ({label!r}) would miscount"))
                continue
            firsts = []  # (time, point)
            for t in by_label[label]:
                step = next((s for s in t.visible_steps() if s in window), None)
                if step is None:
                    continue
                ann = t.obj.frames[sampled[step].frame]
                rng = stable_rng(settings.seed, v.source, v.video_id, t.obj.object_id, step)
                firsts.append((sampled[step].time, P.gaussian_point(M.decode(ann.rle), rng)))
            if not firsts:
                continue
            times = sorted({tm for tm, _ in firsts})
            per_time = [sorted((_xy100(p, v.width, v.height) for tm, p in firsts if tm == t),
                               key=lambda d: (d["x"], d["y"])) for t in times]
            text = T.encode_points(
                [(t, [(T.to_scale(p.x, v.width), T.to_scale(p.y, v.height)) for tm, p in firsts if tm == t])
                 for t in times],
                label,
            )
            rng = stable_rng(settings.seed, row_id, "question")
            template = Q.POINT_COUNT_VAL_TEMPLATE if v.split in ("val", "valid") else None
            question = template.format(label=label) if template else Q.choose(Q.POINT_COUNT_TEMPLATES, rng, label=label)
            rows.append({
                "id": row_id,
                "subset": v.source,
                "video_name": v.video_id,
                "dataset": v.source,
                "count": len(firsts),
                "timestamps": times,
                "points": per_time,
                "category": label,
                "video_duration": v.duration,
                "clip_start_time": float(start),
                "clip_end_time": float(end),
                "video_path": video_path(record, root),
                "question": question,
                "answer": Q.point_count_answer(text, len(firsts)),
                "source": v.source,
            })
    return rows, rejects


def _trajectories(sampled: list[SampledFrame], group: list[ObjectTrack]) -> list[dict]:
    out = []
    for step, s in enumerate(sampled):
        pts = []
        for t in sorted(group, key=lambda t: t.int_id):
            if step not in t.points:
                continue
            p = t.points[step]
            pts.append({"id": t.int_id, "point": None if p is None else [p.x, p.y], "occluded": p is None})
        if pts:
            out.append({"frame": s.frame, "time": s.time, "points": pts})
    return out


def _tracks_text(sampled, group: list[ObjectTrack], label: str, width: int, height: int, after: float = -1.0) -> str:
    frames = []
    for step, s in enumerate(sampled):
        if s.time <= after + 1e-9:
            continue
        pts = {t.int_id: (T.to_scale(t.points[step].x, width), T.to_scale(t.points[step].y, height))
               for t in group if t.points.get(step) is not None}
        frames.append((s.time, pts))
    return T.encode_tracks(frames, label)


def track_rows(
    record: VideoRecord,
    sampled: list[SampledFrame],
    tracks: list[ObjectTrack],
    settings: RowSettings,
    root: str,
    incomplete_labels: set[str],
) -> tuple[list[dict], list[Reject]]:
    v = record.video
    rows, rejects = [], []
    base = {
        "video": v.video_id, "video_path": video_path(record, root), "video_source": v.source,
        "fps": int(round(v.fps)), "sampling_fps": int(settings.sampling_fps),
        "height": v.height, "width": v.width, "n_frames": v.n_frames, "source": v.source,
    }
    fps = settings.sampling_fps
    labelled: dict[str, list[ObjectTrack]] = defaultdict(list)
    for t in tracks:
        if t.visible_steps():
            labelled[t.obj.label or ""].append(t)
    for li, label in enumerate(sorted(labelled)):
        group = labelled[label]
        if label:
            row_id = f"{v.source}/{v.split}/{v.video_id}/track/{li:03d}"
            if label in incomplete_labels:
                rejects.append(Reject(v.source, v.split, v.video_id, "row", "rows", "label has a dropped track",
                                      f"AcademicVideoTrack row {row_id} ({label!r}) would miss an object"))
                continue
            rng = stable_rng(settings.seed, row_id, "question")
            rows.append({
                **base, "id": row_id, "qid": row_id, "expression": label, "task": "track",
                "frame_trajectories": _trajectories(sampled, group),
                "mask_id": [str(t.int_id) for t in group], "anno_id": [t.obj.object_id for t in group],
                "obj_id": [t.int_id for t in group],
                "question": Q.choose(Q.TRACK_TEMPLATES, rng, label=label, fps=fps),
                "answer": _tracks_text(sampled, group, label, v.width, v.height),
            })
            continue
        for t in sorted(group, key=lambda t: t.int_id):
            row_id = f"{v.source}/{v.split}/{v.video_id}/single_point_track/{t.obj.object_id}"
            q_step = t.visible_steps()[0]
            q_time, q = sampled[q_step].time, t.points[q_step]
            answer = _tracks_text(sampled, [t], "object", v.width, v.height, after=q_time)
            if not T.parse(answer)[0].frames:
                rejects.append(Reject(v.source, v.split, v.video_id, "row", "rows", "no visible frame after the query point",
                                      f"single_point_track row {row_id}", t.obj.object_id))
                continue
            query = T.encode_points([(q_time, [(T.to_scale(q.x, v.width), T.to_scale(q.y, v.height))])], "object")
            rng = stable_rng(settings.seed, row_id, "question")
            rows.append({
                **base, "id": row_id, "qid": row_id, "expression": "object", "task": "single_point_track",
                "frame_trajectories": _trajectories(sampled, [t]),
                "mask_id": [str(t.int_id)], "anno_id": [t.obj.object_id], "obj_id": [t.int_id],
                "question": Q.choose(Q.SINGLE_POINT_TRACK_TEMPLATES, rng, input_points=query, fps=fps),
                "answer": answer,
            })
    return rows, rejects
