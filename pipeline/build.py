"""A whole build: discover -> process each video -> shards -> rejects, tracks -> manifest.

`run_build` is the orchestration in plain Python. How the per-video work is run is injected
(`map_videos`): a plain loop by default, Prefect tasks in `flows/build.py`. Both give the same
output for the same input.

Output layout:
    OUT/AcademicVideoPoint/<source>/<split>-00000-of-0000N.parquet
    OUT/AcademicVideoTrack/<source>/<split>-00000-of-0000N.parquet
    OUT/rejects.parquet      every dropped video, track, frame or row with its reason
    OUT/tracks.parquet       every track: kept or not, mean mask/box IoU, re-prompts
    OUT/build_manifest.json  config, code version, inputs (size, sha256), shards (rows, sha256)
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter, defaultdict
from typing import Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from converters import get_converter, load_manifest
from converters.base import VideoRef

from .config import BuildConfig
from .errors import ConfigError, SourceError
from .manifest import HashCache, code_version, describe_input, now_iso
from .process import VideoResult, process_video_cached
from .rejects import Reject, rejects_table
from .sampling import check_rate
from .schemas import POINT_SCHEMA, TRACK_SCHEMA
from .segmenters.base import check_sam2_settings
from .shards import write_shards

log = logging.getLogger("vgdata")

MapVideos = Callable[[Callable[[VideoRef, BuildConfig], VideoResult], list[VideoRef], BuildConfig], Iterable[VideoResult]]

DATASETS = (("AcademicVideoPoint", "point_rows", POINT_SCHEMA), ("AcademicVideoTrack", "track_rows", TRACK_SCHEMA))


def check_segmenter(cfg: BuildConfig) -> None:
    """Fail before any work when box sources need SAM 2 weights that were not given."""
    if cfg.segmenter.name == "sam2" and any(load_manifest(s.name)["kind"] == "box" for s in cfg.sources):
        check_sam2_settings(cfg.segmenter)


def discover(cfg: BuildConfig) -> list[VideoRef]:
    """All videos of all configured sources. A missing root fails the build, naming the path."""
    check_segmenter(cfg)
    refs: list[VideoRef] = []
    for spec in cfg.sources:
        manifest = load_manifest(spec.name)
        if isinstance(manifest.get("annotation_fps"), (int, float)):
            check_rate(cfg.sampling_fps, manifest["annotation_fps"], where=spec.name)
        converter = get_converter(spec.name, **dict(spec.options))
        try:
            found = converter.discover(spec.root, spec.split)
        except SourceError as e:
            raise ConfigError(f"source {spec.name!r}: {e}") from None
        if spec.limit is not None:
            found = found[: spec.limit]
        if not found:
            raise ConfigError(f"source {spec.name!r}: no videos found under {spec.root} (split {spec.split!r}); "
                              f"expected layout:\n{manifest['layout']}")
        refs += found
    return refs


def sequential_map(fn, refs: list[VideoRef], cfg: BuildConfig) -> Iterable[VideoResult]:
    for ref in refs:
        yield fn(ref, cfg)


def describe_start(cfg: BuildConfig, refs: list[VideoRef]) -> str:
    return (f"vgdata: {len(refs)} videos from {', '.join(f'{s.name}/{s.split}' for s in cfg.sources)}; "
            f"segmenter {cfg.segmenter.name}; sampling {cfg.sampling_fps} fps; out {cfg.out}")


def describe_result(i: int, n: int, r: VideoResult) -> str:
    kept = sum(t["kept"] for t in r.tracks)
    status = "ok" if r.ok else "REJECTED: " + "; ".join(f"{x.reason} ({x.file}: {x.detail})" for x in r.rejects if x.level == "video")
    return (f"[{i}/{n}] {r.source}/{r.split}/{r.video_id}: {status}; tracks kept {kept}/{len(r.tracks)}, "
            f"rows {len(r.point_rows)} point + {len(r.track_rows)} track"
            f"{' (cached)' if r.cached else f' ({r.seconds:.1f}s)'}")


def run_build(cfg: BuildConfig, map_videos: MapVideos = sequential_map, echo: Callable[[str], None] = print) -> dict:
    t0 = time.perf_counter()
    os.makedirs(cfg.out, exist_ok=True)
    refs = discover(cfg)
    echo(describe_start(cfg, refs))
    results: list[VideoResult] = []
    for i, r in enumerate(map_videos(process_video_cached, refs, cfg), 1):
        results.append(r)
        echo(describe_result(i, len(refs), r))
    summary = write_outputs(cfg, results)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


def write_outputs(cfg: BuildConfig, results: list[VideoResult]) -> dict:
    results = sorted(results, key=lambda r: (r.source, r.split, r.video_id))
    shards = []
    rows_by_key: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in results:
        for dataset, attr, _ in DATASETS:
            rows_by_key[(dataset, r.source, r.split)] += getattr(r, attr)
    for dataset, _, schema in DATASETS:
        for (ds, source, split), rows in sorted(rows_by_key.items()):
            if ds != dataset or not rows:
                continue
            out_dir = os.path.join(cfg.out, dataset, source)
            for info in write_shards(rows, schema, out_dir, split, cfg.max_shard_rows, cfg.max_shard_bytes, cfg.row_group_bytes):
                shards.append({"dataset": dataset, "source": source, "split": split,
                               "path": os.path.relpath(info.path, cfg.out), "rows": info.rows,
                               "bytes": info.bytes, "sha256": info.sha256})
    rejects: list[Reject] = [x for r in results for x in r.rejects]
    pq.write_table(rejects_table(rejects), os.path.join(cfg.out, "rejects.parquet"))
    track_log = [{"source": r.source, "split": r.split, "video_id": r.video_id, **t} for r in results for t in r.tracks]
    pq.write_table(pa.Table.from_pylist(track_log, schema=TRACK_LOG_SCHEMA), os.path.join(cfg.out, "tracks.parquet"))

    hashes = HashCache(os.path.join(cfg.out, ".work", "hashes.json"))
    inputs = []
    seen = set()
    for r in results:
        for path in r.inputs:
            if path not in seen:
                seen.add(path)
                inputs.append({"source": r.source, **describe_input(path, hashes, cfg.hash_frames)})
    hashes.save()

    summary = summarise(cfg, results, rejects, shards)
    manifest = {"created": now_iso(), "code": code_version(), "config": cfg.to_dict(), "inputs": inputs,
                "shards": shards, "rejects_file": "rejects.parquet", "tracks_file": "tracks.parquet", "summary": summary}
    tmp = os.path.join(cfg.out, ".build_manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2, default=str)
    os.replace(tmp, os.path.join(cfg.out, "build_manifest.json"))
    with open(os.path.join(cfg.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary


TRACK_LOG_SCHEMA = pa.schema([
    ("source", pa.string()), ("split", pa.string()), ("video_id", pa.string()), ("object_id", pa.string()),
    ("kept", pa.bool_()), ("mean_iou", pa.float64()), ("n_frames", pa.int64()), ("reprompts", pa.int64()),
    ("label", pa.string()),
])


def summarise(cfg: BuildConfig, results: list[VideoResult], rejects: list[Reject], shards: list[dict]) -> dict:
    per_source = {}
    for spec in cfg.sources:
        rs = [r for r in results if r.source == spec.name and r.split == spec.split]
        tracks = [t for r in rs for t in r.tracks]
        per_source[f"{spec.name}/{spec.split}"] = {
            "videos": len(rs), "videos_ok": sum(r.ok for r in rs), "objects": sum(r.n_objects for r in rs),
            "tracks_kept": sum(t["kept"] for t in tracks), "tracks_dropped": sum(not t["kept"] for t in tracks),
            "point_rows": sum(len(r.point_rows) for r in rs), "track_rows": sum(len(r.track_rows) for r in rs),
            "cached_videos": sum(r.cached for r in rs),
        }
    by_reason = Counter(f"{x.level}: {x.reason}" for x in rejects)
    return {
        "out": os.path.abspath(cfg.out), "segmenter": cfg.segmenter.name, "sampling_fps": cfg.sampling_fps,
        "sources": per_source, "rejects_by_reason": dict(sorted(by_reason.items())),
        "shards": len(shards), "shard_files": [s["path"] for s in shards], "rows": {d: sum(s["rows"] for s in shards if s["dataset"] == d) for d, _, _ in DATASETS},
    }


def format_summary(summary: dict) -> str:
    lines = [f"Built into {summary['out']} (segmenter: {summary['segmenter']}, {summary['sampling_fps']} fps"
             + (f", {summary['seconds']}s" if "seconds" in summary else "") + ")"]
    for key, s in summary["sources"].items():
        lines.append(f"  {key}: {s['videos_ok']}/{s['videos']} videos ok, {s['objects']} objects, tracks kept "
                     f"{s['tracks_kept']} dropped {s['tracks_dropped']}, rows {s['point_rows']} point + "
                     f"{s['track_rows']} track" + (f" ({s['cached_videos']} videos reused)" if s["cached_videos"] else ""))
    lines.append(f"  shards: {summary['shards']}; rows: " + ", ".join(f"{k} {v}" for k, v in summary["rows"].items()))
    lines += [f"    {os.path.join(summary['out'], path)}" for path in summary.get("shard_files", [])]
    if summary["rejects_by_reason"]:
        lines.append("  dropped (see rejects.parquet):")
        lines += [f"    {n:5d}  {reason}" for reason, n in summary["rejects_by_reason"].items()]
    lines.append(f"  manifest: {os.path.join(summary['out'], 'build_manifest.json')}")
    return "\n".join(lines)
