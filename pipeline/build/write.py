"""A build's last step: the videos' parts under OUT/.work become the outputs.

    OUT/AcademicVideoPoint/<source>/<split>-00000-of-0000N.parquet
    OUT/AcademicVideoPoint/<source>/<split>/videos-<fps>fps/<video>.mp4
    OUT/AcademicVideoTrack/<source>/<split>-00000-of-0000N.parquet
    OUT/AcademicVideoTrack/<source>/<split>/videos/<clip>.mp4
    OUT/AcademicVideoGround/<source>/<split>-00000-of-0000N.parquet   (over the track videos)
    OUT/rejects.parquet      every dropped video, track, frame or row with its reason
    OUT/tracks.parquet       every track: kept or not, mean mask/box IoU, re-prompts
    OUT/masks.parquet        box sources' masks on the sampled frames (what the audit checks against)
    OUT/build_manifest.json  config, code version, inputs, shards and videos (size, sha256)
    OUT/summary.json         the printed summary, with each phase's seconds (written by `run_build`)
    OUT/README.md            the dataset card

OUT holds one build per (source, split): building a pair replaces everything it had in OUT
(shards it no longer produces are deleted in the step that writes the manifest, so no glob over OUT
serves stale rows); pairs this build does not touch are carried over into the new manifest, rejects
and track log when their files are still there. Nothing is written or deleted outside OUT, and
every file is written under a temporary name and renamed. Shards and logs are streamed from the
parts one row group at a time: memory does not grow with the build.
"""

from __future__ import annotations

import glob
import json
import os
import time
from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import checks
from pipeline.build.video import VideoResult, part_rows, read_part
from pipeline.config import BuildConfig
from pipeline.ops.card import write_card
from pipeline.outputs.manifest import HashCache, code_version, describe_input, now_iso
from pipeline.outputs.rejects import REJECT_SCHEMA
from pipeline.outputs.schemas import MASK_SCHEMA, POINT_SCHEMA, TRACK_LOG_SCHEMA, TRACK_SCHEMA
from pipeline.outputs.shards import write_shard_stream
from pipeline.progress import Progress, progress
from pipeline.stages.records import Reject
from pipeline.stages.rows import GROUND_DATASET, POINT_DATASET, TRACK_DATASET
from pipeline.stages.sampling import rates_text

DATASETS = ((POINT_DATASET, "point_rows", POINT_SCHEMA), (TRACK_DATASET, "track_rows", TRACK_SCHEMA),
            (GROUND_DATASET, "ground_rows", TRACK_SCHEMA))
LOG_GROUP_BYTES = 4 * 2**20  # rejects/tracks/masks.parquet row groups


def atomic_json(data, path: str) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=str)
    os.replace(tmp, path)


def _dedupe_video_paths(results: list[VideoResult]) -> None:
    """Two source videos must never write the same video file (e.g. an id `a_clip001` next to a
    long video `a`): the later one is rejected, naming the clash."""
    owner: dict[str, str] = {}
    for r in results:
        clash = next((v["path"] for v in r.videos if owner.get(v["path"], r.video_id) != r.video_id), None)
        if clash is None:
            owner.update({v["path"]: r.video_id for v in r.videos})
            continue
        r.ok, r.point_rows, r.track_rows, r.ground_rows, r.videos = False, [], [], [], []
        r.parts = {k: v for k, v in r.parts.items() if k not in ("point_rows", "track_rows", "ground_rows")}
        r.late_rejects.append(Reject(r.source, r.split, r.video_id, "video", "videos", "video file name clash",
                                f"{clash} is also written for video {owner[clash]!r}"))


def _remove_stale(cfg: BuildConfig, written: set[str]) -> list[str]:
    """Delete, for the configured (source, split) pairs only, shard and video files under OUT that
    this build did not write (and leftover temporary files). Returns what was removed (relative)."""
    removed = []
    for spec in cfg.sources:
        for dataset, _, _ in DATASETS:
            folder = checks.join_inside(cfg.out, f"{dataset}/{spec.name}", "output folder")
            patterns = [os.path.join(folder, f"{spec.split}-*-of-*.parquet"), os.path.join(folder, ".*.tmp"),
                        os.path.join(folder, spec.split, "**", "*.mp4"), os.path.join(folder, spec.split, "**", ".*.tmp")]
            for pattern in patterns:
                for path in glob.glob(pattern, recursive=True):
                    rel = os.path.relpath(path, cfg.out)
                    if rel not in written and checks.is_inside(path, cfg.out) and os.path.isfile(path):
                        os.remove(path)
                        removed.append(rel)
    return sorted(removed)


def _previous_manifest(out: str) -> dict:
    try:
        with open(os.path.join(out, "build_manifest.json"), encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _carried(previous: dict, key: str, pairs: set[tuple[str, str]], out: str) -> list[dict]:
    """Entries of the previous manifest for (source, split) pairs this build does not touch, whose
    files are still in OUT with their recorded size."""
    kept = []
    for e in previous.get(key) or []:
        try:
            if (e["source"], e["split"]) in pairs:
                continue
            path = checks.join_inside(out, e["path"], "manifest path")
            if os.path.getsize(path) == e["bytes"]:
                kept.append({**e, "carried_from": e.get("carried_from") or previous.get("created")})
        except (KeyError, TypeError, ValueError, OSError):
            continue
    return kept


def _carried_table(out: str, name: str, schema: pa.Schema, pairs: set[tuple[str, str]]) -> list[dict]:
    path = os.path.join(out, name)
    if not os.path.exists(path):  # a first build: nothing to carry (and no pyarrow.dataset import, 0.5 s)
        return []
    try:
        rows = pq.read_table(path).to_pylist()
        pa.Table.from_pylist(rows, schema=schema)
    except Exception:  # noqa: BLE001 - a missing or unreadable old table carries nothing over
        return []
    return [r for r in rows if (r.get("source"), r.get("split")) not in pairs]


def _rows_table(r: VideoResult, attr: str, schema: pa.Schema) -> pa.Table:
    """One video's rows of `attr` (a dataset, masks, rejects, tracks): from its part on disk, or
    held in memory (a video that never reached the cache: a duplicate id, retries spent)."""
    if attr in r.parts:
        return read_part(r.parts[attr]["path"], schema)
    return pa.Table.from_pylist(part_rows(r, attr), schema=schema)


def _row_bytes(r: VideoResult, attr: str, schema: pa.Schema) -> int:
    if attr in r.parts:
        return r.parts[attr]["nbytes"]
    return _rows_table(r, attr, schema).nbytes


def _counted(bar: Progress, table: pa.Table) -> pa.Table:
    bar.advance(n=table.num_rows)
    return table


def _write_shards(cfg: BuildConfig, results: list[VideoResult]) -> list[dict]:
    """Every dataset's shards of every (source, split), streamed from the videos' parts."""
    shards = []
    total_rows = sum(r.row_count(attr) for r in results for _, attr, _ in DATASETS)
    by_key: dict[tuple[str, str, str], list[VideoResult]] = defaultdict(list)
    for r in results:
        for dataset, attr, _ in DATASETS:
            if r.row_count(attr):
                by_key[(dataset, r.source, r.split)].append(r)
    with progress(total_rows, "shards", unit="rows") as bar:
        for dataset, attr, schema in DATASETS:
            for (ds, source, split), rs in sorted(by_key.items()):
                if ds != dataset:
                    continue
                out_dir = checks.join_inside(cfg.out, f"{dataset}/{source}", "output folder")
                # Row ids start with source/split/video_id/, so videos in that order give rows in id order.
                rs = sorted(rs, key=lambda r: r.video_id + "/")
                n_rows = sum(r.row_count(attr) for r in rs)
                nbytes = sum(_row_bytes(r, attr, schema) for r in rs)
                tables = (_counted(bar, _rows_table(r, attr, schema)) for r in rs)
                for info in write_shard_stream(tables, n_rows, nbytes, schema, out_dir, split, cfg.max_shard_rows,
                                               cfg.max_shard_bytes, cfg.row_group_bytes):
                    shards.append({"dataset": dataset, "source": source, "split": split,
                                   "path": os.path.relpath(info.path, cfg.out), "rows": info.rows,
                                   "bytes": info.bytes, "sha256": info.sha256})
    return shards


def write_outputs(cfg: BuildConfig, results: list[VideoResult]) -> dict:
    results = sorted(results, key=lambda r: (r.source, r.split, r.video_id))
    _dedupe_video_paths(results)
    pairs = {(s.name, s.split) for s in cfg.sources}
    previous = _previous_manifest(cfg.out)

    shards = _write_shards(cfg, results)
    videos = [{"source": r.source, "split": r.split, "video_id": r.video_id, **{k: x for k, x in v.items() if k != "mtime_ns"}}
              for r in results for v in r.videos]
    removed = _remove_stale(cfg, {s["path"] for s in shards} | {v["path"] for v in videos})
    shards += _carried(previous, "shards", pairs, cfg.out)
    videos += _carried(previous, "videos", pairs, cfg.out)

    for attr, schema in (("rejects", REJECT_SCHEMA), ("tracks", TRACK_LOG_SCHEMA), ("masks", MASK_SCHEMA)):
        _write_log(cfg, results, pairs, attr, schema)

    hashes = HashCache(os.path.join(cfg.out, ".work", "hashes.json"))
    _remember_hashes(cfg, results, shards, videos, hashes)
    inputs, seen = [], set()
    for r in results:
        for path in r.inputs:
            if path not in seen:
                seen.add(path)
                inputs.append({"source": r.source, **describe_input(path, hashes, cfg.hash_frames)})
    hashes.save()
    carried_sources = {e["source"] for e in shards + videos if "carried_from" in e}
    inputs += [i for i in previous.get("inputs") or [] if isinstance(i, dict) and i.get("source") in carried_sources
               and i.get("source") not in {s.name for s in cfg.sources}]

    summary = summarise(cfg, results, shards, videos, removed, previous)
    manifest = {"created": now_iso(), "code": code_version(), "config": cfg.to_dict(), "cwd": os.getcwd(), "inputs": inputs,
                "shards": shards, "videos": videos, "videos_mode": cfg.videos, "removed": removed,
                "rejects_file": "rejects.parquet", "tracks_file": "tracks.parquet", "masks_file": "masks.parquet",
                "summary": summary}
    atomic_json(manifest, os.path.join(cfg.out, "build_manifest.json"))
    wall, cpu = time.perf_counter(), time.process_time()
    write_card(cfg.out, manifest)  # imports `datasets` (~1 s): a fixed part of the outputs, whatever the videos
    # the card's share of the outputs; `run_build` adds the phases and writes OUT/summary.json
    summary["timing"] = {"card": {"wall": round(time.perf_counter() - wall, 3), "cpu": round(time.process_time() - cpu, 3)}}
    return summary


def _remember_hashes(cfg: BuildConfig, results: list[VideoResult], shards: list[dict], videos: list[dict],
                     hashes: HashCache) -> None:
    """The sha256 of every video and shard this build wrote, as computed when it wrote them, into
    OUT's hash cache: an export or publish checks a build's files against the manifest, and would
    otherwise read every byte of them again (20,000 videos: ~0.5 s on the benchmark's small ones;
    real ones at sha256's ~1.5 GB/s, about a minute per 100 GB plus the reads). Entries for files
    under OUT that the manifest no longer lists, or that this build wrote anew, are dropped, so the
    cache does not grow with every rebuild."""
    fresh: dict[str, str] = {}  # path -> its key now
    for r in results:
        for v in r.videos:
            if "mtime_ns" in v:  # results cached by an older vgdata have none
                path = os.path.abspath(os.path.join(cfg.out, v["path"]))
                fresh[path] = hashes.known(path, v["bytes"], v["mtime_ns"], v["sha256"])
    for s in shards:
        if "carried_from" not in s:
            path = os.path.abspath(os.path.join(cfg.out, s["path"]))
            st = os.stat(path)
            if st.st_size == s["bytes"]:
                fresh[path] = hashes.known(path, st.st_size, st.st_mtime_ns, s["sha256"])
    # the dataset folders only: a source's own files may sit under OUT too (the demo's sample)
    inside = tuple(os.path.join(os.path.abspath(cfg.out), dataset) + os.sep for dataset, _, _ in DATASETS)
    listed = {os.path.abspath(os.path.join(cfg.out, e["path"])) for e in shards + videos}
    for key in list(hashes.data):
        path = key.rsplit("|", 2)[0]
        if path.startswith(inside) and (path not in listed or fresh.get(path, key) != key):
            del hashes.data[key]


def _write_log(cfg: BuildConfig, results: list[VideoResult], pairs: set[tuple[str, str]], attr: str,
               schema: pa.Schema) -> None:
    """OUT/<attr>.parquet (rejects, tracks, masks) from the videos' parts, one video at a time
    (bounded memory), then the previous build's rows of (source, split) pairs this build does not
    touch."""
    path = os.path.join(cfg.out, f"{attr}.parquet")
    carried = pa.Table.from_pylist(_carried_table(cfg.out, f"{attr}.parquet", schema, pairs), schema=schema)
    tmp = os.path.join(cfg.out, f".{attr}.parquet.tmp")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        group = _RowGroup(writer)
        for r in results:
            if r.row_count(attr):
                group.add(_rows_table(r, attr, schema))
            if attr == "rejects" and r.late_rejects:
                group.add(pa.Table.from_pylist([x.to_dict() for x in r.late_rejects], schema=schema))
        group.add(carried)
        group.flush()
    os.replace(tmp, path)


class _RowGroup:
    """Gathers the small per-video tables into row groups of about LOG_GROUP_BYTES: one row group
    per video would grow the file footer (kept in memory by the writer until it closes) with the
    number of videos."""

    def __init__(self, writer: pq.ParquetWriter):
        self.writer, self.tables, self.nbytes = writer, [], 0

    def add(self, table: pa.Table) -> None:
        if table.num_rows:
            self.tables.append(table)
            self.nbytes += table.nbytes
        if self.nbytes >= LOG_GROUP_BYTES or len(self.tables) >= 256:  # many small tables cost more than their rows
            self.flush()

    def flush(self) -> None:
        if self.tables:
            self.writer.write_table(pa.concat_tables(self.tables).combine_chunks())
            self.tables, self.nbytes = [], 0




def summarise(cfg: BuildConfig, results: list[VideoResult], shards: list[dict], videos: list[dict],
              removed: list[str], previous: dict) -> dict:
    per_source = {}
    for spec in cfg.sources:
        rs = [r for r in results if r.source == spec.name and r.split == spec.split]
        tracks = sum((r.track_counts() for r in rs), Counter())
        per_video = sorted(r.row_count("point_rows") + r.row_count("track_rows") for r in rs)
        per_source[f"{spec.name}/{spec.split}"] = {
            "videos": len(rs), "videos_ok": sum(r.ok for r in rs), "objects": sum(r.n_objects for r in rs),
            "objects_unseen": tracks["unseen"], "tracks_kept": tracks["kept"], "tracks_dropped": tracks["dropped"],
            "rows_per_video": {"min": per_video[0], "median": per_video[len(per_video) // 2], "max": per_video[-1]}
            if per_video else None,
            "point_rows": sum(r.row_count("point_rows") for r in rs),
            "track_rows": sum(r.row_count("track_rows") for r in rs),
            "ground_rows": sum(r.row_count("ground_rows") for r in rs),
            "videos_written": sum(len(r.videos) for r in rs), "cached_videos": sum(r.cached for r in rs),
        }
    carried = sorted({f"{s['source']}/{s['split']}" for s in shards if "carried_from" in s})
    for key in carried:
        old = ((previous.get("summary") or {}).get("sources") or {}).get(key)
        if isinstance(old, dict):
            per_source[key] = {**old, "carried_over": True}
    by_reason = sum((r.reject_counts() for r in results), Counter())
    return {
        "out": os.path.abspath(cfg.out), "segmenter": cfg.segmenter.name, "sampling_fps": cfg.sampling_fps,
        "sources": per_source, "rejects_by_reason": dict(sorted(by_reason.items())),
        "shards": len(shards), "shard_files": [s["path"] for s in shards],
        "rows": {d: sum(s["rows"] for s in shards if s["dataset"] == d) for d, _, _ in DATASETS},
        "videos": len(videos), "video_bytes": sum(v["bytes"] for v in videos), "videos_mode": cfg.videos,
        "removed_stale_files": len(removed),
    }


def format_summary(summary: dict) -> str:
    timing = summary.get("timing") or {}
    phases = ": " + ", ".join(f"{k} {v['wall']:.1f}s" for k, v in timing.items() if "wall" in v) if timing else ""
    lines = [f"Built into {summary['out']} (segmenter: {summary['segmenter']}, {rates_text(summary['sampling_fps'])}"
             + (f", {summary['seconds']}s{phases}" if "seconds" in summary else "") + ")"]
    for key, s in summary["sources"].items():
        if s.get("carried_over"):
            lines.append(f"  {key}: kept from an earlier build (not rebuilt now)")
            continue
        scored = s["tracks_kept"] + s["tracks_dropped"]
        unseen = f" ({s['objects_unseen']} never visible on a sampled frame)" if s.get("objects_unseen") else ""
        per_video = s.get("rows_per_video")
        spread = f"; rows per video {per_video['min']}..{per_video['max']} (median {per_video['median']})" if per_video else ""
        lines.append(f"  {key}: {s['videos_ok']}/{s['videos']} videos ok, {s['objects']} objects{unseen}, "
                     f"objects kept {s['tracks_kept']}/{scored} scored, rows {s['point_rows']} point + "
                     f"{s['track_rows']} track + {s.get('ground_rows', 0)} ground{spread}" + (f" ({s['cached_videos']} videos reused)" if s["cached_videos"] else ""))
    lines.append(f"  shards: {summary['shards']}; rows: " + ", ".join(f"{k} {v}" for k, v in summary["rows"].items()))
    lines += [f"    {os.path.join(summary['out'], path)}" for path in summary.get("shard_files", [])]
    if summary.get("videos_mode") == "encode":
        lines.append(f"  videos: {summary['videos']} mp4 files, {summary['video_bytes'] / 2**20:.1f} MiB "
                     f"(under {os.path.join(summary['out'], '<dataset>', '<source>', '<split>')})")
    else:
        lines.append("  videos: not written (videos: skip); the rows name the paths vgdata would write")
    if summary.get("removed_stale_files"):
        lines.append(f"  removed {summary['removed_stale_files']} stale files of the rebuilt sources (see the manifest)")
    if summary["rejects_by_reason"]:
        lines.append("  dropped (see rejects.parquet):")
        lines += [f"    {n:5d}  {reason}" for reason, n in summary["rejects_by_reason"].items()]
    lines.append(f"  manifest: {os.path.join(summary['out'], 'build_manifest.json')}")
    lines.append(f"  dataset card: {os.path.join(summary['out'], 'README.md')} (load one config: "
                 f"datasets.load_dataset({summary['out']!r}, CONFIG))")
    return "\n".join(lines)
