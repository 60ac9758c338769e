"""One video's job: convert -> sample -> (segment -> filter) -> points -> rows -> videos, cached.

The job is given its converter (and the tasks its source's rows serve) by the build: no stage looks
a source up by name.

`process_video` never raises for a problem with one video: bad input (`SourceError`), a rate the
annotation cannot serve (`SamplingError`), and any other failure (a library error on a garbage
file, running out of memory) become a video-level reject that names the stage, the file and the
problem, and the build goes on. Only `TransientError` propagates, so that the runner can retry it.

Results are cached per video under `OUT/.work/` keyed by the converter's fingerprint of the
video's inputs (the files' size and mtime, or the digest of its own entries in a split-wide file),
the settings, the tasks and the code version, so an interrupted build resumes where it stopped and an unchanged
rebuild redoes nothing. An entry that cannot be read, is incomplete, holds rows that do not fit the
schema, or names a video file that is gone, is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace

import pyarrow as pa

from pipeline.sources.base import Converter, VideoRef
from pipeline import __version__, checks
from pipeline.config import BuildConfig
from pipeline.errors import SamplingError, SourceError, TransientError
from pipeline.outputs.rejects import REJECT_SCHEMA
from pipeline.outputs.schemas import MASK_SCHEMA, POINT_SCHEMA, TRACK_LOG_SCHEMA, TRACK_SCHEMA
from pipeline.outputs.videos import VideoOutput, check_frames_available, grid_source_frames, write_videos
from pipeline.stages import masks
from pipeline.stages.frames import SampledFrames
from pipeline.stages.masks import clip_box
from pipeline.stages.png_masks import read_png_masks
from pipeline.stages.records import FrameAnnotation, Reject, VideoRecord
from pipeline.stages.rows import Layout, RowSettings, ground_rows, make_layout, object_tracks, point_rows, track_rows
from pipeline.stages.sampling import sample_frames
from pipeline.stages.segmenters import SegmentRequest, get_segmenter
from pipeline.stages.track_filter import score_track


@dataclass
class VideoResult:
    source: str
    split: str
    video_id: str
    ok: bool
    point_rows: list[dict] = field(default_factory=list)
    track_rows: list[dict] = field(default_factory=list)
    ground_rows: list[dict] = field(default_factory=list)  # Molmo2's `ground` task, from the track rows
    rejects: list[Reject] = field(default_factory=list)
    tracks: list[dict] = field(default_factory=list)  # every track: kept?, mean IoU, re-prompts
    videos: list[dict] = field(default_factory=list)  # written videos: path (in OUT), frames, bytes, sha256
    masks: list[dict] = field(default_factory=list)  # box objects' masks on the sampled frames (MASK_SCHEMA)
    n_objects: int = 0
    inputs: list[str] = field(default_factory=list)  # files and frame folders this video read
    seconds: float = 0.0
    cached: bool = False
    # Once written to OUT/.work (`process_video_cached`), the rows, masks, rejects and track scores
    # live in one Arrow part each ({"point_rows": {"path", "rows", "nbytes"}, ...}); the result
    # keeps only `counts` ({"rejects": {"level: reason": n}, "tracks": {status: n}}) and its
    # video-level rejects (what is printed), so a build's memory does not grow with what it rejects.
    parts: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)
    late_rejects: list[Reject] = field(default_factory=list)  # added while writing outputs (name clashes)

    def row_count(self, attr: str) -> int:
        """Rows of `attr` ("point_rows", "track_rows", "ground_rows", "masks", "rejects", "tracks"), held or in a part."""
        return self.parts[attr]["rows"] if attr in self.parts else len(getattr(self, attr))

    def reject_counts(self) -> Counter:
        """Rejects by "level: reason", held or written to a part."""
        held = Counter(f"{x.level}: {x.reason}" for x in self.rejects) if not self.counts else Counter()
        return Counter(self.counts.get("rejects", {})) + held + Counter(f"{x.level}: {x.reason}" for x in self.late_rejects)

    def track_counts(self) -> Counter:
        """Objects by status (kept, dropped, unseen), held or written to a part."""
        if self.counts:
            return Counter(self.counts.get("tracks", {}))
        return Counter(track_status(t) for t in self.tracks)

    def video_rejects(self) -> list[Reject]:
        return [x for x in self.rejects + self.late_rejects if x.level == "video"]

    def to_json(self) -> dict:
        # Shallow: rows and tracks are plain dicts already (dataclasses.asdict would deep-copy them all).
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["rejects"] = [r.to_dict() for r in self.rejects]
        d.pop("parts")
        d.pop("late_rejects")
        return d

    @classmethod
    def from_json(cls, d: dict) -> "VideoResult":
        """Strict: every field present with the right type, rows that fit the schemas; else ValueError."""
        if not isinstance(d, dict) or set(d) != {f.name for f in fields(cls)} - {"parts", "late_rejects"}:
            raise ValueError("cached result has missing or unknown fields")
        if not isinstance(d["counts"], dict):
            raise ValueError("cached result field counts is not a mapping")
        for key in ("point_rows", "track_rows", "ground_rows", "masks", "rejects", "tracks", "videos", "inputs"):
            if not isinstance(d[key], list) or not all(isinstance(x, (dict, str)) for x in d[key]):
                raise ValueError(f"cached result field {key} is not a list")
        d = dict(d)
        d["rejects"] = [Reject(**r) for r in d["rejects"]]
        res = cls(**d)
        res.check_rows()
        return res

    def check_rows(self) -> None:
        """Raise unless every row fits its dataset's schema (shard writing would fail later). No
        rows fit any schema: an empty list is not converted (0.2 ms each, for nothing)."""
        for rows, schema in ((self.point_rows, POINT_SCHEMA), (self.track_rows, TRACK_SCHEMA),
                             (self.ground_rows, TRACK_SCHEMA), (self.masks, MASK_SCHEMA)):
            if rows:
                pa.Table.from_pylist(rows, schema=schema)


def rejected_video(ref: VideoRef, stage: str, reason: str, detail: str, file: str | None,
                   partial: VideoResult | None = None) -> VideoResult:
    """`ref` rejected whole at `stage` (with what `partial` had learnt: converter drops, track scores)."""
    r = Reject(ref.source, ref.split, ref.video_id, "video", stage, reason, detail, file=file)
    res = VideoResult(ref.source, ref.split, ref.video_id, ok=False, rejects=[r], inputs=list(ref.files))
    if partial is not None:  # keep what was learnt before the failure (converter drops, track scores)
        res.rejects = partial.rejects + [r]
        res.tracks, res.n_objects = partial.tracks, partial.n_objects
    return res


class _Progress:
    """Which stage a video is in, so that a failure can say where it happened."""

    def __init__(self):
        self.stage = "convert"
        self.result: VideoResult | None = None


def process_video(ref: VideoRef, cfg: BuildConfig, converter: Converter, tasks: tuple[str, ...]) -> VideoResult:
    """`ref` read by `converter`, through every stage, into the rows of `tasks` (a source's
    manifest `tasks`)."""
    t0 = time.perf_counter()
    progress = _Progress()
    try:
        result = _process(ref, cfg, converter, tasks, progress)
    except TransientError:
        raise
    except SourceError as e:
        result = rejected_video(ref, progress.stage, "bad source file", e.problem, e.path, progress.result)
    except SamplingError as e:
        result = rejected_video(ref, progress.stage, "sampling rate not served", str(e), ref.location, progress.result)
    except MemoryError:
        result = rejected_video(ref, progress.stage, "out of memory", "the video needed more memory than is free",
                               ref.location, progress.result)
    except Exception as e:  # noqa: BLE001 - one video's failure must never stop the build
        detail = f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0][:300]}"
        result = rejected_video(ref, progress.stage, "unexpected error", detail, ref.location, progress.result)
    result.seconds = time.perf_counter() - t0
    return result


def check_record(record: VideoRecord, ref: VideoRef) -> None:
    """The converter's record, checked before anything loops over or allocates from it."""
    v = record.video
    try:
        checks.relative_path(v.video_id, "video id")
        checks.frame_size(v.width, v.height, "video")
        checks.frame_count(v.n_frames, "video frame count")
        checks.frame_rate(v.fps, "video frame rate")
        checks.frame_rate(v.annotation_fps, "annotation rate")
    except ValueError as e:
        raise SourceError(ref.location, str(e)) from None
    for f in record.annotated_frames:
        if not 0 <= f < v.n_frames:
            raise SourceError(ref.location, f"annotated frame {f} outside 0..{v.n_frames - 1}")


def _process(ref: VideoRef, cfg: BuildConfig, converter: Converter, tasks: tuple[str, ...],
             progress: _Progress) -> VideoResult:
    record = converter.load(ref)
    check_record(record, ref)
    v = record.video
    res = progress.result = VideoResult(v.source, v.split, v.video_id, ok=False, n_objects=len(record.objects))
    res.inputs = list(ref.files) + ([v.path] if v.path and os.path.exists(v.path) else [])
    for d in record.dropped:
        res.rejects.append(Reject(v.source, v.split, v.video_id, d.level, "convert", d.reason, d.detail, d.object_id,
                                  d.frame, d.file, d.line))
    if not record.objects and record.png_masks is None and record.answered:  # PNG sources find their objects in the frames
        return _no_objects(res, ref)
    if cfg.videos == "encode":
        check_frames_available(v)

    progress.stage = "sample"
    sampled, dropped_times = sample_frames(
        v.n_frames, v.fps, record.annotated_frames, v.annotation_fps, cfg.video_fps, where=ref.location
    )
    for d in dropped_times:
        res.rejects.append(Reject(v.source, v.split, v.video_id, "frame", "sample", "no annotated frame", f"t={d.time:.1f}s: {d.reason}"))
    if not sampled:
        res.rejects.append(Reject(v.source, v.split, v.video_id, "video", "sample", "no sampled frame", "", file=ref.location))
        return res

    frames_cache: dict[int, object] = {}
    if record.png_masks is not None:
        progress.stage = "masks"
        read_png_masks(record, [s.frame for s in sampled], ref.root)
        res.n_objects = len(record.objects)
        if not record.objects:
            return _no_objects(res, ref)
    record.queries = record.all_queries()  # fixed now: a track the filter drops still belongs to its queries
    if any(o.kind == "box" for o in record.objects):
        progress.stage = "segment"
        _segment_and_filter(record, sampled, cfg, res, frames_cache)
    for o in record.objects:
        if o.kind == "mask":
            res.tracks.append({"object_id": o.object_id, "kept": True, "mean_iou": None, "n_frames": len(o.visible_frames()),
                               "reprompts": 0, "label": o.category, "status": "kept"})

    progress.stage = "rows"
    settings = RowSettings(sampling_fps=cfg.video_fps, rates=cfg.rates, seed=cfg.seed,
                           max_clip_seconds=cfg.max_clip_seconds, max_track_seconds=cfg.track_clip_seconds, tasks=tasks)
    layout = make_layout(record, sampled, settings)
    tracks, rej = object_tracks(record, sampled)
    res.rejects += rej
    res.point_rows, rej = point_rows(record, sampled, tracks, settings, layout)
    res.rejects += rej
    res.track_rows, rej = track_rows(record, sampled, tracks, settings, layout)
    res.rejects += rej
    res.ground_rows = ground_rows(res.track_rows, settings)
    # A row that does not fit its schema would fail shard writing for the whole build: it fails
    # this video here instead (as an unexpected error naming the column).
    res.check_rows()

    if cfg.videos == "encode" and (res.point_rows or res.track_rows):
        progress.stage = "videos"
        res.videos = _write_videos(record, sampled, layout, res, cfg, frames_cache)
    res.ok = bool(res.point_rows or res.track_rows)
    if not res.ok and not any(r.level == "video" for r in res.rejects):
        reasons = sorted({r.reason for r in res.rejects if r.level != "frame"})
        res.rejects.append(Reject(v.source, v.split, v.video_id, "video", "rows", "no rows",
                                  "; ".join(reasons) or "no object is visible on a sampled frame", file=ref.location))
    return res


def _no_objects(res: VideoResult, ref: VideoRef) -> VideoResult:
    res.rejects.append(Reject(res.source, res.split, res.video_id, "video", "convert", "no objects",
                              "no annotated object is left to build rows from", file=ref.location))
    return res


def _write_videos(record: VideoRecord, sampled, layout: Layout, res: VideoResult, cfg: BuildConfig,
                  frames_cache: dict) -> list[dict]:
    outputs = []
    if res.point_rows:
        outputs.append(VideoOutput(layout.point_video, 0, layout.n_grid))
    used = {r["video"] for r in res.track_rows}
    outputs += [VideoOutput(layout.track_video(c), c.start, c.stop) for c in layout.clips if c.name in used]
    grid = grid_source_frames(record.video, layout.n_grid, layout.sampling_fps,
                              {k: s.frame for k, s in zip(layout.step_k, sampled)})
    return write_videos(record.video, grid, outputs, cfg.out, layout.sampling_fps, layout.width, layout.height,
                        frames_cache)


def sampled_boxes(record: VideoRecord, sampled) -> dict[str, dict[int, tuple]]:
    """Per box object, its clipped ground-truth box on each sampled step where it is visible."""
    v = record.video
    boxes: dict[str, dict[int, tuple]] = {}
    for o in record.objects:
        if o.kind != "box":
            continue
        boxes[o.object_id] = {}
        for step, s in enumerate(sampled):
            ann = o.frames.get(s.frame)
            box = clip_box(ann.box, v.width, v.height) if ann and ann.visible and ann.box else None
            if box is not None:
                boxes[o.object_id][step] = box
    return boxes


def _segment_and_filter(record: VideoRecord, sampled, cfg: BuildConfig, res: VideoResult, frames_cache: dict) -> None:
    """Masks for box objects on the sampled frames; drops tracks that fail the filter (queries over
    a dropped object then give no rows, see `rows`)."""
    v = record.video
    boxes = sampled_boxes(record, sampled)
    _leave_out_unseen(record, boxes, res)
    frames = SampledFrames(v, [s.frame for s in sampled])  # decoded as the segmenter asks, a bounded number held
    seg = get_segmenter(cfg.segmenter).segment(SegmentRequest(frames, boxes, v.video_id))
    frames_cache.update(frames.held())
    kept = []
    for o in record.objects:
        if o.kind != "box":
            kept.append(o)
            continue
        score = score_track(o.object_id, boxes[o.object_id], seg.masks.get(o.object_id, {}), cfg.min_track_iou)
        n_re = len(seg.reprompts.get(o.object_id, []))
        for step, rle in sorted(seg.masks.get(o.object_id, {}).items()):
            if step in boxes[o.object_id]:
                res.masks.append({
                    "id": f"{v.source}/{v.split}/{v.video_id}/{o.object_id}/{sampled[step].frame:09d}",
                    "source": v.source, "split": v.split, "video_id": v.video_id, "object_id": o.object_id,
                    "frame": sampled[step].frame, "height": int(rle["size"][0]), "width": int(rle["size"][1]),
                    "counts": rle["counts"] if isinstance(rle["counts"], str) else masks.encode(masks.decode(rle))["counts"],
                    "box": [float(c) for c in boxes[o.object_id][step]], "kept": score.kept})
        res.tracks.append({"object_id": o.object_id, "kept": score.kept, "mean_iou": score.mean_iou,
                           "n_frames": score.n_frames, "reprompts": n_re, "label": o.category,
                           "status": "kept" if score.kept else "dropped"})
        if not score.kept:
            res.rejects.append(Reject(v.source, v.split, v.video_id, "track", "filter", "mean mask/box IoU below threshold",
                                      f"mean IoU {score.mean_iou:.3f} < {cfg.min_track_iou} over {score.n_frames} frames",
                                      o.object_id))
            record.filtered[o.object_id] = frozenset(o.visible_frames())
            continue
        # Keep only the sampled frames, now carrying masks: rows read nothing else.
        frames_out = {}
        for step, s in enumerate(sampled):
            ann = o.frames.get(s.frame)
            if ann is None:
                continue
            rle = seg.masks[o.object_id].get(step) if step in boxes[o.object_id] else None
            frames_out[s.frame] = FrameAnnotation(visible=rle is not None, box=ann.box, rle=rle)
        o.frames = frames_out
        kept.append(o)
    record.objects = kept


UNSEEN = "not visible on a sampled frame"


def _leave_out_unseen(record: VideoRecord, boxes: dict[str, dict[int, tuple]], res: VideoResult) -> None:
    """Box objects never visible on a sampled frame are in no answer (counts and tracks are taken
    on the sampled frames): they leave the record and its queries instead of being scored, so that
    they cannot count as dropped tracks. Each is reported (a rejects row, and `status: unseen` in
    tracks.parquet); a query left with no object goes too."""
    v = record.video
    unseen = {o.object_id for o in record.objects if o.kind == "box" and not boxes[o.object_id]}
    if not unseen:
        return
    for o in record.objects:
        if o.object_id in unseen:
            res.rejects.append(Reject(v.source, v.split, v.video_id, "track", "sample", UNSEEN,
                                      "in no answer; not scored", o.object_id))
            res.tracks.append({"object_id": o.object_id, "kept": False, "mean_iou": None, "n_frames": 0,
                               "reprompts": 0, "label": o.category, "status": "unseen"})
    record.objects = [o for o in record.objects if o.object_id not in unseen]
    queries = []
    for q in record.all_queries():
        ids = tuple(i for i in q.object_ids if i not in unseen)
        if q.object_ids and not ids:
            continue
        queries.append(replace(q, object_ids=ids))
    record.queries = queries


# -- resumable work -------------------------------------------------------------------------------

CACHE_IGNORES = ("out", "sources", "workers", "videos_per_task", "resume", "max_shard_rows", "max_shard_bytes", "row_group_bytes",
                 "hash_frames")


def cache_key(ref: VideoRef, cfg: BuildConfig, fingerprint: list, tasks: tuple[str, ...]) -> str:
    """What a video's result depends on: the code version, the ref, its inputs' `fingerprint`
    (the converter's: the files' size and mtime, or the digest of the video's own entries of a
    split-wide file), the settings and the tasks."""
    settings = cfg.to_dict()
    for k in CACHE_IGNORES:
        settings.pop(k)
    payload = {"v": __version__, "ref": asdict(ref), "files": fingerprint, "cfg": settings, "tasks": list(tasks)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def work_path(cfg: BuildConfig, ref: VideoRef) -> str:
    safe = hashlib.sha1(ref.video_id.encode()).hexdigest()[:10]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in ref.video_id)[:80].lstrip(".")
    return os.path.join(cfg.out, ".work", ref.source, ref.split, f"{name}-{safe}.json")


PART_SCHEMAS = {"point_rows": POINT_SCHEMA, "track_rows": TRACK_SCHEMA, "ground_rows": TRACK_SCHEMA, "masks": MASK_SCHEMA,
                "rejects": REJECT_SCHEMA, "tracks": TRACK_LOG_SCHEMA}


def track_status(track: dict) -> str:
    """kept, dropped (by the filter) or unseen (never visible on a sampled frame: not scored);
    entries cached before `status` existed have only `kept`."""
    return track.get("status") or ("kept" if track["kept"] else "dropped")


def part_rows(res: VideoResult, attr: str) -> list[dict]:
    """The rows a part of `attr` holds, in their order: rows and masks sorted by id, rejects as
    found, track scores with the video they belong to."""
    if attr == "rejects":
        return [x.to_dict() for x in res.rejects]
    if attr == "tracks":
        return [{"source": res.source, "split": res.split, "video_id": res.video_id, **t} for t in res.tracks]
    return sorted(getattr(res, attr), key=lambda r: r["id"])


def part_path(entry: str, attr: str) -> str:
    """Where a `.work` entry's rows of one dataset are: beside it, `<entry>.<attr>.arrow`."""
    return f"{entry[:-len('.json')]}.{attr}.arrow"


def write_part(table: pa.Table, path: str) -> None:
    """A part as an Arrow IPC file (temporary name, then rename). Parts are read back once, by this
    build, so they skip Parquet's encoding: an IPC write or read of a video's part is ~0.1 ms
    against ~1.5 ms for a small Parquet file, which was a tenth of a mask video's time."""
    tmp = path + ".tmp"
    with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, path)


def read_part(path: str, schema: pa.Schema | None = None) -> pa.Table:
    """A part written by `write_part` (memory-mapped); ValueError when its schema is not `schema`."""
    table = pa.ipc.open_file(pa.memory_map(path)).read_all()
    if schema is not None and not table.schema.equals(schema):
        raise ValueError(f"{path}: schema differs from the part's")
    return table


def _write_parts(path: str, res: VideoResult) -> dict:
    """Each dataset's rows of `res` as `<entry>.<attr>.arrow`, sorted by id (tmp, then rename)."""
    parts = {}
    for attr, schema in PART_SCHEMAS.items():
        rows = part_rows(res, attr)
        if not rows:
            if os.path.exists(part_path(path, attr)):  # an earlier run's part of a video that has none now
                os.remove(part_path(path, attr))
            continue
        table = pa.Table.from_pylist(rows, schema=schema)
        part = part_path(path, attr)
        write_part(table, part)
        parts[attr] = {"path": part, "rows": table.num_rows, "nbytes": table.nbytes}
    return parts


def _stripped(res: VideoResult, parts: dict) -> VideoResult:
    """The result without what its parts hold: counts and video-level rejects stay in memory."""
    res.parts = parts
    if not res.counts:
        res.counts = {"rejects": dict(res.reject_counts()), "tracks": dict(res.track_counts())}
    res.point_rows, res.track_rows, res.ground_rows, res.masks, res.tracks = [], [], [], [], []
    res.rejects = [x for x in res.rejects if x.level == "video"]
    return res


def _load_cached(path: str, key: str, cfg: BuildConfig) -> VideoResult | None:
    """The cached result if it is complete and still true of OUT; None means recompute. The JSON
    entry is written after its parts, so it is the completion record; a part that is gone, whose
    footer does not parse, or whose schema or row count is not the entry's, means recompute."""
    try:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        if not isinstance(saved, dict) or saved.get("key") != key:
            return None
        res = VideoResult.from_json(saved["result"])
        parts = saved["parts"]
        if not isinstance(parts, dict) or set(parts) - set(PART_SCHEMAS):
            return None
        for attr, part in parts.items():
            part["path"] = part_path(path, attr)
            if read_part(part["path"], PART_SCHEMAS[attr]).num_rows != part["rows"]:
                return None
        for v in res.videos:
            full = checks.join_inside(cfg.out, v["path"], "cached video path")
            if os.path.getsize(full) != v["bytes"]:
                return None
        if cfg.videos == "encode" and ({"point_rows", "track_rows"} & set(parts)) and not res.videos:
            return None
    except Exception:  # noqa: BLE001 - any unreadable, partial or stale entry is recomputed
        return None
    res.cached = True
    return _stripped(res, parts)


def process_video_cached(ref: VideoRef, cfg: BuildConfig, converter: Converter, tasks: tuple[str, ...]) -> VideoResult:
    """`process_video`, resumable: its rows go to Arrow parts under OUT/.work and the returned
    result holds only their counts, so a build keeps no rows in memory."""
    path = work_path(cfg, ref)
    try:
        key = cache_key(ref, cfg, converter.fingerprint(ref), tasks)
    except SourceError as e:  # the inputs cannot even be identified: the video is rejected, not cached
        return rejected_video(ref, "convert", "bad source file", e.problem, e.path)
    if cfg.resume and os.path.exists(path):
        res = _load_cached(path, key, cfg)
        if res is not None:
            return res
    res = process_video(ref, cfg, converter, tasks)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    res = _stripped(res, _write_parts(path, res))
    saved_parts = {attr: {k: v for k, v in part.items() if k != "path"} for attr, part in res.parts.items()}
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:  # after the parts: this entry marks them complete
        f.write(json.dumps({"key": key, "result": res.to_json(), "parts": saved_parts}))  # dumps: the C encoder
    os.replace(tmp, path)
    return res
