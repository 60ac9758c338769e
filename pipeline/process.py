"""One video through the stages: convert -> sample -> (segment -> filter) -> points -> rows.

`process_video` never raises for bad input: a `SourceError` or `SamplingError` becomes a
video-level reject. Results are cached per video under `OUT/.work/` keyed by the input files'
size and mtime, the settings and the code version, so an interrupted build resumes where it
stopped and an unchanged rebuild redoes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field

from converters import get_converter
from converters.base import VideoRef

from . import __version__
from .config import BuildConfig
from .errors import SamplingError, SourceError
from .frames import read_frames
from .masks import clip_box
from .records import FrameAnnotation, VideoRecord
from .rejects import Reject
from .rows import RowSettings, object_tracks, point_rows, track_rows
from .sampling import sample_frames
from .segmenters import SegmentRequest, get_segmenter
from .track_filter import score_track


@dataclass
class VideoResult:
    source: str
    split: str
    video_id: str
    ok: bool
    point_rows: list[dict] = field(default_factory=list)
    track_rows: list[dict] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    tracks: list[dict] = field(default_factory=list)  # every track: kept?, mean IoU, re-prompts
    n_objects: int = 0
    inputs: list[str] = field(default_factory=list)  # files and frame folders this video read
    seconds: float = 0.0
    cached: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        d["rejects"] = [r.to_dict() for r in self.rejects]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "VideoResult":
        d = dict(d)
        d["rejects"] = [Reject(**r) for r in d["rejects"]]
        return cls(**d)


def _reject_video(ref: VideoRef, stage: str, reason: str, detail: str, file: str | None) -> VideoResult:
    r = Reject(ref.source, ref.split, ref.video_id, "video", stage, reason, detail, file=file)
    return VideoResult(ref.source, ref.split, ref.video_id, ok=False, rejects=[r], inputs=list(ref.files))


def process_video(ref: VideoRef, cfg: BuildConfig) -> VideoResult:
    t0 = time.perf_counter()
    try:
        record = get_converter(ref.source, **dict(ref.options)).load(ref)
    except SourceError as e:
        return _reject_video(ref, "convert", "bad source file", e.problem, e.path)
    try:
        result = _process_record(ref, record, cfg)
    except SourceError as e:
        return _reject_video(ref, "segment", "bad source file", e.problem, e.path)
    except SamplingError as e:
        return _reject_video(ref, "sample", "sampling rate not served", str(e), ref.location)
    result.inputs = list(ref.files) + ([record.video.path] if record.video.path else [])
    result.seconds = time.perf_counter() - t0
    return result


def _process_record(ref: VideoRef, record: VideoRecord, cfg: BuildConfig) -> VideoResult:
    v = record.video
    res = VideoResult(v.source, v.split, v.video_id, ok=True, n_objects=len(record.objects))
    for obj_id, reason, detail in record.dropped:
        res.rejects.append(Reject(v.source, v.split, v.video_id, "track", "convert", reason, detail, obj_id))
    sampled, dropped_times = sample_frames(
        v.n_frames, v.fps, record.annotated_frames, v.annotation_fps, cfg.sampling_fps, where=ref.location
    )
    for d in dropped_times:
        res.rejects.append(Reject(v.source, v.split, v.video_id, "frame", "sample", "no annotated frame", f"t={d.time:.1f}s: {d.reason}"))
    if not sampled:
        res.ok = False
        res.rejects.append(Reject(v.source, v.split, v.video_id, "video", "sample", "no sampled frame", "", file=ref.location))
        return res

    incomplete: set[str] = set()
    box_objects = [o for o in record.objects if o.kind == "box"]
    if box_objects:
        incomplete = _segment_and_filter(record, sampled, cfg, res)
    for o in record.objects:
        if o.kind == "mask":
            res.tracks.append({"object_id": o.object_id, "kept": True, "mean_iou": None, "n_frames": len(o.visible_frames()),
                               "reprompts": 0, "label": o.label})

    settings = RowSettings(cfg.sampling_fps, cfg.seed, cfg.max_clip_seconds)
    tracks, rej = object_tracks(record, sampled)
    res.rejects += rej
    res.point_rows, rej = point_rows(record, sampled, tracks, settings, ref.root, incomplete)
    res.rejects += rej
    res.track_rows, rej = track_rows(record, sampled, tracks, settings, ref.root, incomplete)
    res.rejects += rej
    return res


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


def _segment_and_filter(record: VideoRecord, sampled, cfg: BuildConfig, res: VideoResult) -> set[str]:
    """Masks for box objects on the sampled frames; drops tracks that fail the filter.

    Returns the labels that lost a track (their count and track rows would be wrong)."""
    v = record.video
    boxes = sampled_boxes(record, sampled)
    frames = read_frames(v, [s.frame for s in sampled])
    seg = get_segmenter(cfg.segmenter).segment(SegmentRequest(frames, boxes, v.video_id))
    incomplete: set[str] = set()
    kept = []
    for o in record.objects:
        if o.kind != "box":
            kept.append(o)
            continue
        score = score_track(o.object_id, boxes[o.object_id], seg.masks.get(o.object_id, {}), cfg.min_track_iou)
        n_re = len(seg.reprompts.get(o.object_id, []))
        res.tracks.append({"object_id": o.object_id, "kept": score.kept, "mean_iou": score.mean_iou,
                           "n_frames": score.n_frames, "reprompts": n_re, "label": o.label})
        if not score.kept:
            reason = "no visible box on a sampled frame" if score.n_frames == 0 else "mean mask/box IoU below threshold"
            res.rejects.append(Reject(v.source, v.split, v.video_id, "track", "filter", reason,
                                      f"mean IoU {score.mean_iou:.3f} < {cfg.min_track_iou} over {score.n_frames} frames",
                                      o.object_id))
            if o.label:
                incomplete.add(o.label)
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
    return incomplete


# -- resumable work -------------------------------------------------------------------------------

def _file_stamp(path: str) -> list:
    try:
        st = os.stat(path)
        return [path, st.st_size, st.st_mtime_ns]
    except FileNotFoundError:
        return [path, None, None]


def cache_key(ref: VideoRef, cfg: BuildConfig) -> str:
    settings = cfg.to_dict()
    for k in ("out", "sources", "workers", "resume", "max_shard_rows", "max_shard_bytes", "row_group_bytes", "hash_frames"):
        settings.pop(k)
    payload = {"v": __version__, "ref": asdict(ref), "files": [_file_stamp(f) for f in ref.files], "cfg": settings}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def work_path(cfg: BuildConfig, ref: VideoRef) -> str:
    safe = hashlib.sha1(ref.video_id.encode()).hexdigest()[:10]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in ref.video_id)[:80]
    return os.path.join(cfg.out, ".work", ref.source, ref.split, f"{name}-{safe}.json")


def process_video_cached(ref: VideoRef, cfg: BuildConfig) -> VideoResult:
    path = work_path(cfg, ref)
    key = cache_key(ref, cfg)
    if cfg.resume and os.path.exists(path):
        try:
            with open(path) as f:
                saved = json.load(f)
            if saved.get("key") == key:
                res = VideoResult.from_json(saved["result"])
                res.cached = True
                return res
        except (OSError, json.JSONDecodeError, KeyError, TypeError):
            pass  # unreadable cache entry: recompute
    res = process_video(ref, cfg)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"key": key, "result": res.to_json()}, f)
    os.replace(tmp, path)
    return res
