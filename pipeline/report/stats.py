"""The numbers of a build, read back from its outputs (shards, tracks.parquet, rejects.parquet,
masks.parquet), one column batch at a time: the report's tables and the data of its plots."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from pipeline.stages.rows import GROUND_DATASET as GROUND
from pipeline.stages.rows import POINT_DATASET as POINT
from pipeline.stages.sampling import video_rate_of


@dataclass
class SourceStats:
    videos: int = 0
    videos_ok: int = 0
    queries: int = 0
    point_rows: int = 0
    track_rows: int = 0
    ground_rows: int = 0
    tracks_kept: int = 0
    tracks_dropped: int = 0
    tracks_unseen: int = 0
    rejects: Counter = field(default_factory=Counter)  # "level: reason" -> n


@dataclass
class BuildStats:
    sampling_fps: float
    sources: dict[str, SourceStats] = field(default_factory=dict)  # "source/split"
    counts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # per source: point row counts
    objects_per_query: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    track_frames: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # per object of a track row
    first_seen: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # seconds into the clip
    iou_kept: list[float] = field(default_factory=list)
    iou_dropped: list[float] = field(default_factory=list)
    reprompts: list[int] = field(default_factory=list)


def _batches(path: str, columns: list[str], size: int = 4096):
    f = pq.ParquetFile(path)
    names = set(f.schema_arrow.names)
    for batch in f.iter_batches(batch_size=size, columns=[c for c in columns if c in names]):
        yield from batch.to_pylist()


def gather(out: str, manifest: dict) -> BuildStats:
    summary = manifest.get("summary") or {}
    stats = BuildStats(float(video_rate_of((manifest.get("config") or {}).get("sampling_fps") or 2)))
    for key, s in (summary.get("sources") or {}).items():
        stats.sources[key] = SourceStats(videos=s.get("videos", 0), videos_ok=s.get("videos_ok", 0))
    queries: dict[str, set] = defaultdict(set)
    for shard in manifest.get("shards", []):
        key = f"{shard['source']}/{shard['split']}"
        st = stats.sources.setdefault(key, SourceStats())
        path = os.path.join(out, shard["path"])
        if shard["dataset"] == POINT:
            for r in _batches(path, ["count", "timestamps", "category", "video_name"]):
                st.point_rows += 1
                stats.counts[shard["source"]].append(r["count"])
                stats.first_seen[shard["source"]] += r["timestamps"]
                queries[key].add((r["video_name"], r["category"]))
        elif shard["dataset"] == GROUND:
            st.ground_rows += shard["rows"]
        else:
            for r in _batches(path, ["obj_id", "frame_trajectories", "task", "expression", "source_video", "sampling_fps"]):
                st.track_rows += 1
                if r["sampling_fps"] != stats.sampling_fps:  # a lower rate's rows: the same tracks, fewer frames
                    continue
                if r["task"] == "track":
                    stats.objects_per_query[shard["source"]].append(len(r["obj_id"]))
                    queries[key].add((r["source_video"], r["expression"]))
                seen = Counter(p["id"] for f in r["frame_trajectories"] for p in f["points"] if not p["occluded"])
                stats.track_frames[shard["source"]] += list(seen.values())
    for key, q in queries.items():
        stats.sources[key].queries = len(q)
    tracks = os.path.join(out, manifest.get("tracks_file") or "tracks.parquet")
    if os.path.exists(tracks):
        for t in _batches(tracks, ["source", "split", "status", "kept", "mean_iou", "reprompts"]):
            st = stats.sources.setdefault(f"{t['source']}/{t['split']}", SourceStats())
            status = t.get("status") or ("kept" if t["kept"] else "dropped")
            setattr(st, f"tracks_{status}", getattr(st, f"tracks_{status}") + 1)
            if t["mean_iou"] is not None:
                (stats.iou_kept if status == "kept" else stats.iou_dropped).append(t["mean_iou"])
                stats.reprompts.append(t["reprompts"])
    rejects = os.path.join(out, manifest.get("rejects_file") or "rejects.parquet")
    if os.path.exists(rejects):
        for r in _batches(rejects, ["source", "split", "level", "reason"]):
            stats.sources.setdefault(f"{r['source']}/{r['split']}", SourceStats()).rejects[
                f"{r['level']}: {r['reason']}"] += 1
    return stats
