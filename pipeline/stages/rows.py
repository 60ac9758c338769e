"""Rows of the two datasets from a video whose objects all have masks on the sampled frames.

Every row names a video that vgdata writes (`pipeline/outputs/videos.py`), at `sampling_fps` frames a
second: grid frame k shows the source frame sampled at time k / sampling_fps. That is what makes
Molmo2's loaders read each row exactly (docs/MOLMO2.md):
- AcademicVideoPoint: per clip window (at most `max_clip_seconds`, 63 s) and query (an expression
  or a category over a set of objects, `records.Query`), one row: each object of the query that is
  visible in the window gets one Gaussian point at its first visible sampled frame; `count` is the
  number of such objects. A query over no object (ReVOS "no target") is a count-0 row answered
  `There are none.`. `timestamps` are seconds in the video, the
  answer's times are relative to `clip_start_time`, and the label is lower-cased in the question
  and answer, as Molmo2's loader does. The row's video is the whole video
  (`AcademicVideoPoint/<source>/<split>/videos-<fps>fps/<video>.mp4`).
- AcademicVideoTrack: the video is cut into clips of at most `max_track_seconds` (64 s: the 128
  frames Molmo2's sampler shows at 2 fps), each with its own video
  (`AcademicVideoTrack/<source>/<split>/videos/<clip>.mp4`). Per clip, task `track`: one row per
  query over all its objects (none for a no-target query); task `single_point_track`: one row per object, queried by
  its first visible point in the clip. `frame` and `time` count from the clip's start, with
  `frame == time * fps` (Molmo2's parser maps times to frames that way).
- Grounding (`ground_rows`, Molmo2's task `ground`, style `video_point_ground_start_end`): from
  every `track` row, one row that keeps, per object, only its first and last visible frame in the
  clip (no occluded entry: Molmo2's start/end filter counts those as appearances). It shares the
  track row's video and is written as a dataset of its own (`GROUND_DATASET`, card config
  `<source>_ground`).
A query one of whose tracks was dropped upstream (`record.filtered`) keeps only what stays true:
point rows over the stretches of each window in which that object is not visible on a sampled
frame (at least `min_partial_seconds`, with their own clip_start/end_time), and track rows for the
clips in which it is never visible. What is left out is reported as a rejects row. Every row carries `query_type` (category, referring,
reasoning, no_target; point for single_point_track).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from pipeline.errors import SourceError
from pipeline.stages import masks as M
from pipeline.stages import molmo_text as T
from pipeline.stages import points as P
from pipeline.stages import questions as Q
from pipeline.stages.records import Reject, TrackedObject, VideoRecord
from pipeline.stages.sampling import SampledFrame

POINT_DATASET, TRACK_DATASET = "AcademicVideoPoint", "AcademicVideoTrack"
GROUND_DATASET = "AcademicVideoGround"  # Molmo2's tracking task `ground`: rows over the track videos


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
    sampling_fps: int = 2  # the grid the sampled frames lie on, and the videos' rate
    # Every rate track rows (track, ground, single_point_track) are written at; each divides
    # `sampling_fps`, so its grid lies inside the sampled one. Empty: `sampling_fps` alone.
    rates: tuple[int, ...] = ()
    seed: int = 0
    max_clip_seconds: float = 63.0
    max_track_seconds: float = 64.0
    tasks: tuple[str, ...] = ("track", "point_count", "single_point_track")
    # Shortest point-row clip kept between the visible times of an object whose track was dropped.
    min_partial_seconds: float = 2.0

    @property
    def track_rates(self) -> tuple[int, ...]:
        return tuple(self.rates) or (self.sampling_fps,)

    def rate_suffix(self, rate: int) -> str:
        """What a row id adds for a rate below the videos' (none at the videos' rate, so a build at
        one rate names its rows as before)."""
        return "" if rate == self.sampling_fps else f"@{rate}fps"


@dataclass(frozen=True)
class Clip:
    """A track clip: grid frames [start, stop) of the video, written as its own video file."""

    index: int
    start: int
    stop: int
    name: str  # the row's `video`: the file name of its video, without .mp4


@dataclass
class Layout:
    """Where each sampled frame sits in the videos vgdata writes for one source video.

    The grid is k / sampling_fps for k = 0..n_grid-1, covering the whole video; `step_k[j]` is the
    grid index of sampled step j. Widths and heights are rounded up to even numbers (H.264 4:2:0
    needs them; the extra row/column is padding at the bottom/right, so pixel coordinates are
    unchanged)."""

    source: str
    split: str
    video_id: str
    sampling_fps: int
    n_grid: int
    width: int
    height: int
    step_k: list[int]
    clips: list[Clip] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.n_grid / self.sampling_fps

    @property
    def point_video(self) -> str:
        return f"{POINT_DATASET}/{self.source}/{self.split}/videos-{self.sampling_fps}fps/{self.video_id}.mp4"

    def track_video(self, clip: Clip) -> str:
        return f"{TRACK_DATASET}/{self.source}/{self.split}/videos/{clip.name}.mp4"


def even(n: int) -> int:
    return n + (n % 2)


def grid_length(n_frames: int, fps: float, sampling_fps: int) -> int:
    """Grid times k / sampling_fps that fall within the video (up to its last frame's time)."""
    return int(math.floor((n_frames - 1) / fps * sampling_fps + 1e-6)) + 1


def make_layout(record: VideoRecord, sampled: list[SampledFrame], settings: RowSettings) -> Layout:
    v, s = record.video, settings.sampling_fps
    n_grid = grid_length(v.n_frames, v.fps, s)
    step_k = [int(round(x.time * s)) for x in sampled]
    per_clip = max(1, int(math.floor(settings.max_track_seconds * s + 1e-6)))
    n_clips = max(1, math.ceil(n_grid / per_clip))
    clips = [Clip(c, c * per_clip, min(n_grid, (c + 1) * per_clip),
                  v.video_id if n_clips == 1 else f"{v.video_id}_clip{c:03d}") for c in range(n_clips)]
    return Layout(v.source, v.split, v.video_id, s, n_grid, even(v.width), even(v.height), step_k, clips)


def integer_ids(objects: list[TrackedObject]) -> list[int]:
    """Numeric object ids: the source's own (`number`, else a numeric `object_id`) when they are
    distinct integers that fit an int32,
    else 1..N (a MOT id such as 1e20 must not overflow the int64 `obj_id` column)."""
    ids = [o.number if o.number is not None else int(o.object_id) if o.object_id.lstrip("-").isdigit() else None
           for o in objects]
    if None in ids or len(set(ids)) != len(ids) or any(not -2**31 <= i < 2**31 for i in ids):
        return list(range(1, len(objects) + 1))
    return ids


def decode(record: VideoRecord, obj: TrackedObject, frame: int, rle: dict, full: bool = True,
           runs: np.ndarray | ValueError | None = None) -> M.Crop | None:
    """A sampled frame's mask cut to its box, None when empty (with `full`; else only check it); a
    malformed RLE is a SourceError naming the annotation file. `runs`: its string's run lengths (or
    the error reading them) from `masks.rle_counts_many`."""
    try:
        if isinstance(runs, ValueError):
            raise runs
        if not full:
            M.check_runs(rle, runs)
            return None
        return M.decode_crop(rle, runs)
    except ValueError as e:
        where = record.video.input_files[0] if record.video.input_files else record.video.path
        raise SourceError(where, f"object {obj.object_id}, frame {frame}: {e}") from None


def object_tracks(record: VideoRecord, sampled: list[SampledFrame]) -> tuple[list[ObjectTrack], list[Reject]]:
    v = record.video
    rejects: list[Reject] = []
    tracks = []
    for obj, int_id in zip(record.objects, integer_ids(record.objects)):
        annotated = [(step, s.frame, obj.frames[s.frame]) for step, s in enumerate(sampled) if s.frame in obj.frames]
        # the object's RLE strings read in one pass (a video's masks one object at a time: bounded)
        compressed = [k for k, (_, _, a) in enumerate(annotated)
                      if a.rle is not None and isinstance(a.rle["counts"], (str, bytes))]
        runs = dict(zip(compressed, M.rle_counts_many([annotated[k][2].rle["counts"] for k in compressed])))
        steps, masks = [], []
        for k, (step, frame, ann) in enumerate(annotated):
            mask = None
            if ann.rle is not None:  # a sampled frame's RLE is checked even where it reads as empty
                mask = decode(record, obj, frame, ann.rle, full=ann.visible, runs=runs.get(k))
            if ann.visible and mask is None:
                rejects.append(
                    Reject(v.source, v.split, v.video_id, "frame", "points", "empty mask on a visible frame",
                           "point marked occluded", obj.object_id, frame)
                )
                mask = None
            steps.append(step)
            masks.append(mask)
        pts = P.track_points(masks)
        tracks.append(ObjectTrack(obj, int_id, dict(zip(steps, pts))))
    return tracks, rejects


def _xy100(p: P.Point, width: int, height: int) -> dict:
    return {"x": 100.0 * p.x / width, "y": 100.0 * p.y / height}


def _query_tracks(record: VideoRecord, tracks: list[ObjectTrack], sampled: list[SampledFrame]):
    """(query index, query, its kept tracks, blocked steps) for each query.

    `blocked` holds the sampled steps on which an object of the query that lost its track (dropped
    by the IoU filter, `record.filtered`) is visible: at those times the query's count and tracks
    would miss it, so rows are made only over times without such a step."""
    by_id = {t.obj.object_id: t for t in tracks}
    out = []
    for qi, q in enumerate(record.all_queries()):
        blocked: set[int] = set()
        for oid in q.object_ids:
            if oid not in by_id:
                seen = record.filtered.get(oid, frozenset())
                blocked |= {step for step, s in enumerate(sampled) if s.frame in seen}
        out.append((qi, q, [by_id[oid] for oid in q.object_ids if oid in by_id], blocked))
    return out


def _runs(steps: list[int], blocked: set[int]) -> list[list[int]]:
    """`steps` cut at every blocked step into the maximal runs of unblocked ones."""
    runs, cur = [], []
    for step in steps:
        if step in blocked:
            if cur:
                runs.append(cur)
            cur = []
        else:
            cur.append(step)
    return runs + ([cur] if cur else [])


def point_rows(
    record: VideoRecord,
    sampled: list[SampledFrame],
    tracks: list[ObjectTrack],
    settings: RowSettings,
    layout: Layout,
) -> tuple[list[dict], list[Reject]]:
    v = record.video
    rows, rejects = [], []
    if not record.answered:
        return rows, [Reject(v.source, v.split, v.video_id, "row", "rows", "split has no public answers",
                             f"{len(record.all_queries())} queries asked by track rows with no answer; no "
                             f"{POINT_DATASET}, ground or single_point_track rows")]
    if "point_count" not in settings.tasks or not sampled:
        return rows, rejects
    queries = []
    for qi, q, group, blocked in _query_tracks(record, tracks, sampled):
        if q.countable:
            queries.append((qi, q, group, blocked))
        else:
            rejects.append(Reject(v.source, v.split, v.video_id, "row", "rows", "query not exhaustively annotated",
                                  f"no AcademicVideoPoint row for {q.text!r}: the source does not label every one, "
                                  "so a count would be wrong"))
    clip_len = settings.max_clip_seconds
    n_windows = max(1, math.ceil((sampled[-1].time + 1e-6) / clip_len))
    for w in range(n_windows):
        start = w * clip_len
        end = min(start + clip_len, layout.duration)
        window = [i for i, s in enumerate(sampled) if start - 1e-6 <= s.time < start + clip_len - 1e-6]
        for qi, q, group, blocked in queries:
            row_id = f"{v.source}/{v.split}/{v.video_id}/points/{w:03d}-{qi:03d}"
            if not blocked.intersection(window):
                spans = [(window, start, end, row_id)]
            else:  # the times between visible frames of a dropped object, each long enough
                spans = []
                for j, run in enumerate(_runs(window, blocked)):
                    after = next((b for b in sorted(blocked) if b > run[-1]), None)
                    a = start if run[0] == window[0] else sampled[run[0]].time
                    b = min(sampled[after].time, end) if after is not None else end
                    if b - a >= settings.min_partial_seconds - 1e-6:
                        spans.append((run, a, b, f"{row_id}-{j:02d}"))
                rejects.append(Reject(v.source, v.split, v.video_id, "row", "rows", "query has a dropped track",
                                      f"{POINT_DATASET} {q.text!r}, window {w}: "
                                      f"{len(blocked.intersection(window))} times with a dropped object left out; "
                                      f"{len(spans)} rows over the rest"))
            for steps, a, b, rid in spans:
                row = _point_row(record, sampled, layout, settings, q, group, steps, a, b, rid)
                if row is not None:
                    rows.append(row)
    return rows, rejects


def _point_row(record: VideoRecord, sampled, layout: Layout, settings: RowSettings, q, group: list[ObjectTrack],
               steps: list[int], start: float, end: float, row_id: str) -> dict | None:
    """The row over the sampled `steps` of clip [start, end): one point per object of the query at
    its first visible step; None when none is seen (a no-target query asks anyway)."""
    v = record.video
    firsts = []  # (time, point)
    for t in group:
        step = next((s for s in t.visible_steps() if s in steps), None)
        if step is None:
            continue
        ann = t.obj.frames[sampled[step].frame]
        rng = stable_rng(settings.seed, v.source, v.video_id, t.obj.object_id, step)
        firsts.append((sampled[step].time, P.gaussian_point(decode(record, t.obj, sampled[step].frame, ann.rle), rng)))
    if not firsts and q.object_ids:
        return None
    times = sorted({tm for tm, _ in firsts})
    per_time = [sorted((_xy100(p, layout.width, layout.height) for tm, p in firsts if tm == t),
                       key=lambda d: (d["x"], d["y"])) for t in times]
    row = {
        "id": row_id, "subset": v.source, "video_name": v.video_id, "dataset": v.source,
        "count": len(firsts), "timestamps": times, "points": per_time, "category": q.text,
        "video_duration": layout.duration, "clip_start_time": float(start), "clip_end_time": float(end),
        "video_path": layout.point_video, "source": v.source, "query_type": q.type,
    }
    row["question"] = Q.point_question(q.text, v.split, stable_rng(settings.seed, row_id, "question"))
    row["answer"] = T.point_answer(row)
    return row


def _trajectories(sampled, layout: Layout, clip: Clip, group: list[ObjectTrack],
                  stride: int = 1) -> tuple[list[dict], list[int]]:
    """The clip's frame_trajectories over `group`, and the source frame of each entry; `stride`
    keeps every stride-th grid frame from the clip's start (a rate of `sampling_fps / stride`)."""
    out, source_frames = [], []
    for step, s in enumerate(sampled):
        k = layout.step_k[step]
        if not clip.start <= k < clip.stop or (k - clip.start) % stride:
            continue
        pts = []
        for t in sorted(group, key=lambda t: t.int_id):
            if step not in t.points:
                continue
            p = t.points[step]
            pts.append({"id": t.int_id, "point": None if p is None else [p.x, p.y], "occluded": p is None})
        if pts:
            out.append({"frame": k - clip.start, "time": (k - clip.start) / layout.sampling_fps, "points": pts})
            source_frames.append(s.frame)
    return out, source_frames


def _visible_in(trajectories: list[dict]) -> bool:
    return any(not p["occluded"] for fr in trajectories for p in fr["points"])


def track_rows(
    record: VideoRecord,
    sampled: list[SampledFrame],
    tracks: list[ObjectTrack],
    settings: RowSettings,
    layout: Layout,
) -> tuple[list[dict], list[Reject]]:
    """Per clip and rate: `track` rows (one per query) and `single_point_track` rows (one per
    object). A rate below the videos' keeps every (videos' rate / rate)-th frame of the clip and
    names the same video (`fps` is the video's, `sampling_fps` the row's rate)."""
    v = record.video
    rows, rejects = [], []
    fps = settings.sampling_fps
    if not record.answered:
        return unanswered_rows(record, settings, layout), rejects
    queries = _query_tracks(record, tracks, sampled) if "track" in settings.tasks else []
    for clip in layout.clips:
        base = {
            "video": clip.name, "video_path": layout.track_video(clip), "video_source": v.source,
            "fps": fps, "height": layout.height, "width": layout.width,
            "n_frames": clip.stop - clip.start, "source": v.source, "clip": clip.name,
            "start_frame": clip.start, "end_frame": clip.stop - 1, "clip_start_time": clip.start / fps,
            "clip_end_time": clip.stop / fps, "source_video": v.video_id, "source_fps": float(v.fps),
        }
        for qi, q, group, blocked in queries:
            if any(clip.start <= layout.step_k[b] < clip.stop for b in blocked):
                rejects.append(Reject(v.source, v.split, v.video_id, "row", "rows", "query has a dropped track",
                                      f"{TRACK_DATASET} {q.text!r}, clip {clip.name}: a dropped object is visible in it"))
                continue
            for rate in settings.track_rates:
                traj, source_frames = _trajectories(sampled, layout, clip, group, fps // rate)
                if not _visible_in(traj):
                    continue
                present = {p["id"] for fr in traj for p in fr["points"]}
                objs = [t for t in group if t.int_id in present]
                row_id = f"{v.source}/{v.split}/{v.video_id}/track/{clip.index:03d}-{qi:03d}{settings.rate_suffix(rate)}"
                row = {**base, "sampling_fps": rate, "id": row_id, "qid": q.query_id, "expression": q.text,
                       "task": "track", "frame_trajectories": traj, "source_frames": source_frames,
                       "query_type": q.type, "mask_id": [str(t.int_id) for t in objs],
                       "anno_id": [t.obj.object_id for t in objs], "obj_id": [t.int_id for t in objs]}
                row["question"] = Q.choose(Q.TRACK_TEMPLATES, stable_rng(settings.seed, row_id, "question"),
                                           label=q.text, fps=rate)
                row["answer"] = T.track_answer(row)
                rows.append(row)
        if "single_point_track" in settings.tasks:
            for t in sorted(tracks, key=lambda t: t.int_id):
                for rate in settings.track_rates:
                    row, reject = _single_point_row(record, sampled, layout, clip, base, t, rate, settings)
                    rows += [row] if row else []
                    rejects += [reject] if reject else []
    return rows, rejects


def _single_point_row(record: VideoRecord, sampled, layout: Layout, clip: Clip, base: dict, t: ObjectTrack, rate: int,
                      settings: RowSettings) -> tuple[dict | None, Reject | None]:
    """One object's `single_point_track` row over the clip at `rate` (None when it is not visible
    in it, or is visible only at its query point: a rejects row says so)."""
    v = record.video
    traj, source_frames = _trajectories(sampled, layout, clip, [t], settings.sampling_fps // rate)
    if not _visible_in(traj):
        return None, None
    row_id = (f"{v.source}/{v.split}/{v.video_id}/single_point_track/{clip.index:03d}-{t.obj.object_id}"
              f"{settings.rate_suffix(rate)}")
    row = {**base, "sampling_fps": rate, "id": row_id, "qid": f"object-{t.obj.object_id}", "expression": "object",
           "task": "single_point_track", "frame_trajectories": traj, "source_frames": source_frames,
           "query_type": "point", "mask_id": [str(t.int_id)], "anno_id": [t.obj.object_id], "obj_id": [t.int_id]}
    row["answer"] = T.track_answer(row)
    parsed = T.parse(row["answer"])
    if not parsed or not parsed[0].frames:
        return None, Reject(v.source, v.split, v.video_id, "row", "rows", "no visible frame after the query point",
                            f"single_point_track row {row_id}", t.obj.object_id)
    row["question"] = Q.choose(Q.SINGLE_POINT_TRACK_TEMPLATES, stable_rng(settings.seed, row_id, "question"),
                               input_points=T.query_points_text(row), fps=rate)
    return row, None


def unanswered_rows(record: VideoRecord, settings: RowSettings, layout: Layout) -> list[dict]:
    """A split whose answers are not public (MeViS valid, Ref-YouTube-VOS valid): per clip, query
    and rate, a `track` row that asks the query over the clip's video and holds no answer (no
    trajectory, no objects, `answer` empty), for a benchmark server to score the predictions."""
    v = record.video
    fps = settings.sampling_fps
    rows = []
    for clip in layout.clips:
        for qi, q in enumerate(record.all_queries()):
            for rate in settings.track_rates:
                row_id = f"{v.source}/{v.split}/{v.video_id}/track/{clip.index:03d}-{qi:03d}{settings.rate_suffix(rate)}"
                rows.append({
                    "id": row_id, "video": clip.name, "expression": q.text, "task": "track", "qid": q.query_id,
                    "video_path": layout.track_video(clip), "video_source": v.source, "fps": fps,
                    "sampling_fps": rate, "height": layout.height, "width": layout.width,
                    "n_frames": clip.stop - clip.start, "frame_trajectories": [], "mask_id": [], "anno_id": [],
                    "obj_id": [], "question": Q.choose(Q.TRACK_TEMPLATES, stable_rng(settings.seed, row_id, "question"),
                                                       label=q.text, fps=rate),
                    "answer": "", "source": v.source, "clip": clip.name, "start_frame": clip.start,
                    "end_frame": clip.stop - 1, "clip_start_time": clip.start / fps, "clip_end_time": clip.stop / fps,
                    "source_video": v.video_id, "source_fps": float(v.fps), "source_frames": [],
                    "query_type": q.type})
    return rows


def start_end(trajectories: list[dict], source_frames: list[int]) -> tuple[list[dict], list[int]]:
    """Per object, its first and last visible point of `trajectories` (frames without one dropped)."""
    seen: dict[int, list[int]] = {}
    for i, fr in enumerate(trajectories):
        for p in fr["points"]:
            if not p["occluded"]:
                seen.setdefault(p["id"], []).append(i)
    keep = {(i, oid) for oid, idx in seen.items() for i in (idx[0], idx[-1])}
    out, frames = [], []
    for i, (fr, src) in enumerate(zip(trajectories, source_frames)):
        pts = [p for p in fr["points"] if (i, p["id"]) in keep]
        if pts:
            out.append({**fr, "points": pts})
            frames.append(src)
    return out, frames


def ground_rows(track: list[dict], settings: RowSettings) -> list[dict]:
    """A `ground` row for every `track` row: the same query, clip and video, each object's first and
    last visible point."""
    rows = []
    for t in track:
        if t["task"] != "track" or not t["mask_id"]:  # a query with no public answer has no ends
            continue
        traj, frames = start_end(t["frame_trajectories"], t["source_frames"])
        row_id = t["id"].replace("/track/", "/ground/", 1)
        row = {**t, "id": row_id, "task": "ground", "frame_trajectories": traj, "source_frames": frames}
        row["question"] = Q.choose(Q.GROUND_TEMPLATES, stable_rng(settings.seed, row_id, "question"), label=t["expression"])
        row["answer"] = T.track_answer(row)
        rows.append(row)
    return rows
