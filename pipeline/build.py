"""A whole build: discover -> process each video -> shards, videos, rejects, tracks -> manifest.

`run_build` is the orchestration in plain Python. How the per-video work is run is injected
(`map_videos`): a plain loop by default, Prefect tasks in `flows/build.py`. Both give the same
output for the same input.

Output layout:
    OUT/AcademicVideoPoint/<source>/<split>-00000-of-0000N.parquet
    OUT/AcademicVideoPoint/<source>/<split>/videos-<fps>fps/<video>.mp4
    OUT/AcademicVideoTrack/<source>/<split>-00000-of-0000N.parquet
    OUT/AcademicVideoTrack/<source>/<split>/videos/<clip>.mp4
    OUT/rejects.parquet      every dropped video, track, frame or row with its reason
    OUT/tracks.parquet       every track: kept or not, mean mask/box IoU, re-prompts
    OUT/build_manifest.json  config, code version, inputs, shards and videos (size, sha256)
    OUT/summary.json         the printed summary

OUT holds one build per (source, split): building a pair replaces everything it had in OUT
(shards it no longer produces are deleted in the step that writes the manifest, so no glob over OUT
serves stale rows); pairs this build does not touch are carried over into the new manifest, rejects
and track log when their files are still there. Nothing is written or deleted outside OUT, and
every file is written under a temporary name and renamed.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
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
from pipeline import checks
from pipeline.config import BuildConfig
from pipeline.errors import ConfigError, SourceError, TransientError
from pipeline.ops.card import write_card
from pipeline.outputs.manifest import HashCache, code_version, describe_input, now_iso
from pipeline.outputs.rejects import REJECT_SCHEMA, Reject
from pipeline.outputs.schemas import MASK_SCHEMA, POINT_SCHEMA, TRACK_LOG_SCHEMA, TRACK_SCHEMA
from pipeline.outputs.shards import write_shard_stream
from pipeline.progress import Progress, progress
from pipeline.stages.process import VideoResult, part_rows, process_video_cached
from pipeline.stages.rows import POINT_DATASET, TRACK_DATASET
from pipeline.stages.sampling import check_rate
from pipeline.stages.segmenters import get_segmenter
from pipeline.stages.segmenters.base import check_sam2_settings

log = logging.getLogger("vgdata")

MapVideos = Callable[[Callable[[VideoRef, BuildConfig], VideoResult], list[VideoRef], BuildConfig], Iterable[VideoResult]]

DATASETS = ((POINT_DATASET, "point_rows", POINT_SCHEMA), (TRACK_DATASET, "track_rows", TRACK_SCHEMA))
TRANSIENT_RETRIES = 2
LOG_GROUP_BYTES = 4 * 2**20  # rejects/tracks/masks.parquet row groups


def check_out(out: str) -> None:
    """OUT must be a folder we can write (created if missing)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(f"out: {out} is a file, not a folder")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"out: {out} cannot be created ({e.strerror or e})") from None
    if not os.access(out, os.W_OK):
        raise ConfigError(f"out: {out} is not writable")


def sweep_temp(out: str) -> list[str]:
    """Delete the temporary files a killed build left (every write is tmp + rename, so a `.tmp` is
    never a finished file). Runs under the OUT lock: no other build can be writing them."""
    found = [p for p in glob.glob(os.path.join(glob.escape(out), "**", "*.tmp"), recursive=True)
             + glob.glob(os.path.join(glob.escape(out), "**", ".*.tmp"), recursive=True)
             if os.path.isfile(p) and os.sep + "sample" + os.sep not in p[len(out):]]
    for p in set(found):
        os.remove(p)
    return sorted(set(found))


@contextlib.contextmanager
def out_lock(out: str, sweep: bool = True):
    """Hold OUT for one build: a second build into the same OUT at the same time would interleave
    shards and manifests, so it is refused (the lock goes with the process, even if it is killed)."""
    path = os.path.join(out, ".vgdata.lock")
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise ConfigError(f"out: another vgdata build is writing to {out} ({f.read().strip() or 'pid unknown'}); "
                              "wait for it or use another --out") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        if sweep:
            sweep_temp(out)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def check_segmenter(cfg: BuildConfig) -> None:
    """Fail before any work when box sources need a segmenter that cannot be built (no weights, a
    checkpoint that is a folder or not a SAM 2 checkpoint): the model is loaded here, once."""
    if any(load_manifest(s.name)["kind"] == "box" for s in cfg.sources):
        if cfg.segmenter.name == "sam2":
            check_sam2_settings(cfg.segmenter)
        get_segmenter(cfg.segmenter)


def preflight(cfg: BuildConfig) -> None:
    check_out(cfg.out)
    pull_sources(cfg)
    check_segmenter(cfg)


def pull_sources(cfg: BuildConfig, echo: Callable[[str], None] = print) -> None:
    """`pull: true` sources are downloaded first (resumable; what is complete is skipped). A source
    behind a licence form whose files are not in place stops the build with what to do."""
    from pipeline.ops.pull import pull

    for spec in cfg.sources:
        if not spec.pull:
            continue
        to = spec.pull_to or spec.root
        report = pull(spec.name, to, load_manifest(spec.name), echo=echo)
        if report.missing_manual:
            raise ConfigError(f"source {spec.name!r} needs a manual download into {to}: "
                              f"{', '.join(report.missing_manual)} (see `vgdata pull {spec.name} --to {to}`)")


def discover(cfg: BuildConfig) -> list[VideoRef]:
    """All videos of all configured sources. A missing root fails the build, naming the path."""
    refs: list[VideoRef] = []
    with progress(len(cfg.sources), "discover", unit="sources") as bar:
        for spec in cfg.sources:
            refs += _discover_source(spec, cfg)
            bar.advance(f"{spec.name}/{spec.split}: {len(refs)} videos so far")
    return refs


def _discover_source(spec, cfg: BuildConfig) -> list[VideoRef]:
    """One source's videos; a missing root or an empty listing is a config error naming the path."""
    manifest = load_manifest(spec.name)
    if isinstance(manifest.get("annotation_fps"), (int, float)):
        check_rate(cfg.sampling_fps, manifest["annotation_fps"], where=spec.name)
    converter = get_converter(spec.name, **dict(spec.options))
    try:
        found = converter.discover(spec.root, spec.split)
    except SourceError as e:
        raise ConfigError(f"source {spec.name!r}: {e}") from None
    except OSError as e:
        raise ConfigError(f"source {spec.name!r}: {spec.root} cannot be listed ({e.strerror or e})") from None
    if spec.limit is not None:
        found = found[: spec.limit]
    if not found:
        raise ConfigError(f"source {spec.name!r}: no videos found under {spec.root} (split {spec.split!r}); "
                          f"expected layout:\n{manifest['layout']}")
    return found


def unique_refs(refs: list[VideoRef]) -> tuple[list[VideoRef], list[VideoResult]]:
    """Videos of one (source, split) must have distinct ids (row ids and video files are named by
    them): a later video with an id already seen is rejected, naming both locations."""
    seen: dict[tuple[str, str, str], VideoRef] = {}
    unique, rejected = [], []
    for ref in refs:
        key = (ref.source, ref.split, ref.video_id)
        if key in seen:
            r = Reject(ref.source, ref.split, ref.video_id, "video", "discover", "duplicate video id",
                       f"also found at {seen[key].location}; kept that one", file=ref.location)
            rejected.append(VideoResult(ref.source, ref.split, ref.video_id, ok=False, rejects=[r]))
            continue
        seen[key] = ref
        unique.append(ref)
    return unique, rejected


def with_retries(fn: Callable[[VideoRef, BuildConfig], VideoResult], ref: VideoRef, cfg: BuildConfig,
                 retries: int = TRANSIENT_RETRIES) -> VideoResult:
    """`fn(ref, cfg)`, retrying transient errors; once retries are spent the video is rejected."""
    for attempt in range(retries + 1):
        try:
            return fn(ref, cfg)
        except TransientError as e:
            if attempt == retries:
                return failed_result(ref, e, retries)
    raise AssertionError("unreachable")


def failed_result(ref: VideoRef, error: BaseException, retries: int) -> VideoResult:
    r = Reject(ref.source, ref.split, ref.video_id, "video", "process", "failed after retries",
               f"{type(error).__name__}: {error} (tried {retries + 1} times)", file=ref.location)
    return VideoResult(ref.source, ref.split, ref.video_id, ok=False, rejects=[r], inputs=list(ref.files))


def sequential_map(fn, refs: list[VideoRef], cfg: BuildConfig) -> Iterable[VideoResult]:
    for ref in refs:
        yield with_retries(fn, ref, cfg)


def describe_start(cfg: BuildConfig, refs: list[VideoRef]) -> str:
    return (f"vgdata: {len(refs)} videos from {', '.join(f'{s.name}/{s.split}' for s in cfg.sources)}; "
            f"segmenter {cfg.segmenter.name}; sampling {cfg.sampling_fps} fps; videos {cfg.videos}; out {cfg.out}")


def report_result(bar: Progress, r: VideoResult) -> None:
    """One video done: a rejected one is always shown (naming its file and the problem); the rest
    only move the progress bar (one line each with --verbose)."""
    line = describe_result(r)
    if r.ok:
        bar.advance(line)
    else:
        bar.note(f"[{bar.done + 1}/{bar.total}] {line}")
        bar.advance()


def describe_result(r: VideoResult) -> str:
    tracks = r.track_counts()
    kept, scored = tracks["kept"], tracks["kept"] + tracks["dropped"]
    status = "ok" if r.ok else "REJECTED: " + "; ".join(
        f"{x.reason} ({x.file}: {x.detail})" if x.file else f"{x.reason} ({x.detail})" for x in r.video_rejects())
    return (f"{r.source}/{r.split}/{r.video_id}: {status}; tracks kept {kept}/{scored}, "
            f"rows {r.row_count('point_rows')} point + {r.row_count('track_rows')} track, videos {len(r.videos)}"
            f"{' (cached)' if r.cached else f' ({r.seconds:.1f}s)'}")


def run_build(cfg: BuildConfig, map_videos: MapVideos = sequential_map, echo: Callable[[str], None] = print) -> dict:
    t0 = time.perf_counter()
    preflight(cfg)
    with out_lock(cfg.out):
        refs, results = unique_refs(discover(cfg))
        echo(describe_start(cfg, refs))
        with progress(len(refs), "videos", echo=echo) as bar:
            for r in map_videos(process_video_cached, refs, cfg):
                results.append(r)
                report_result(bar, r)
        summary = write_outputs(cfg, results)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


# -- outputs --------------------------------------------------------------------------------------

def _atomic_json(data, path: str) -> None:
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
        r.ok, r.point_rows, r.track_rows, r.videos = False, [], [], []
        r.parts = {k: v for k, v in r.parts.items() if k not in ("point_rows", "track_rows")}
        r.late_rejects.append(Reject(r.source, r.split, r.video_id, "video", "videos", "video file name clash",
                                f"{clash} is also written for video {owner[clash]!r}"))


def _remove_stale(cfg: BuildConfig, written: set[str]) -> list[str]:
    """Delete, for the configured (source, split) pairs only, shard and video files under OUT that
    this build did not write (and leftover temporary files). Returns what was removed (relative)."""
    removed = []
    for spec in cfg.sources:
        for dataset in (POINT_DATASET, TRACK_DATASET):
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
        return pq.read_table(r.parts[attr]["path"], schema=schema)
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
    videos = [{"source": r.source, "split": r.split, "video_id": r.video_id, **v} for r in results for v in r.videos]
    removed = _remove_stale(cfg, {s["path"] for s in shards} | {v["path"] for v in videos})
    shards += _carried(previous, "shards", pairs, cfg.out)
    videos += _carried(previous, "videos", pairs, cfg.out)

    for attr, schema in (("rejects", REJECT_SCHEMA), ("tracks", TRACK_LOG_SCHEMA), ("masks", MASK_SCHEMA)):
        _write_log(cfg, results, pairs, attr, schema)

    hashes = HashCache(os.path.join(cfg.out, ".work", "hashes.json"))
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
    _atomic_json(manifest, os.path.join(cfg.out, "build_manifest.json"))
    _atomic_json(summary, os.path.join(cfg.out, "summary.json"))
    write_card(cfg.out, manifest)
    return summary


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
    lines = [f"Built into {summary['out']} (segmenter: {summary['segmenter']}, {summary['sampling_fps']} fps"
             + (f", {summary['seconds']}s" if "seconds" in summary else "") + ")"]
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
                     f"{s['track_rows']} track{spread}" + (f" ({s['cached_videos']} videos reused)" if s["cached_videos"] else ""))
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
