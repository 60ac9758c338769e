"""A whole build: preflight -> discover -> each video's job -> outputs (`run_build`).

This is the only orchestration: the Prefect flow (`flows/build.py`) calls `run_build` with its own
runner, which changes how the steps and the videos are run (`pipeline.build.runner`), never what
they do, so every runner writes byte-identical outputs. Before any video runs, the config has been
validated, OUT is writable and locked, `pull: true` sources are downloaded, box builds have loaded
their segmenter once, and every source's videos are listed; a problem there is one `ConfigError`
line naming the path or setting.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from pipeline.sources import get_converter, load_manifest
from pipeline.sources.base import VideoRef
from pipeline.build.runner import LocalRunner, batches, index_dir, lost_result
from pipeline.build.workers import current_pool, return_free_memory
from pipeline.build.video import VideoResult
from pipeline.build.write import atomic_json, write_outputs
from pipeline.config import BuildConfig
from pipeline.errors import ConfigError, SourceError
from pipeline.outputs.lock import out_lock, writable_folder
from pipeline.progress import Progress, progress
from pipeline.stages.records import Reject
from pipeline.stages.sampling import check_rate, rates_text
from pipeline.stages.segmenters import get_segmenter
from pipeline.stages.segmenters.base import check_sam2_settings


def check_out(out: str) -> None:
    """OUT must be a folder we can write (created if missing)."""
    writable_folder(out, "out:")


def check_segmenter(cfg: BuildConfig) -> None:
    """Fail before any work when box sources need a segmenter that cannot be built (no weights, a
    checkpoint that is a folder or not a SAM 2 checkpoint): the model is loaded here, once."""
    if any(load_manifest(s.name)["kind"] == "box" for s in cfg.sources):
        if cfg.segmenter.name == "sam2":
            check_sam2_settings(cfg.segmenter)
        get_segmenter(cfg.segmenter)


def check_before_start(cfg: BuildConfig) -> None:
    """The cheap part of the preflight, for a caller about to start something slow (a Prefect
    server): OUT writable and not locked by another build, every source root there."""
    check_out(cfg.out)
    with out_lock(cfg.out, sweep=False):
        pass
    for spec in cfg.sources:
        if not spec.pull and not os.path.isdir(spec.root):
            raise ConfigError(f"source {spec.name!r}: {spec.root}: root folder not found")


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
        check_rate(cfg.video_fps, manifest["annotation_fps"], where=spec.name)
    converter = get_converter(spec.name, index_dir=index_dir(cfg), **dict(spec.options))
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


def describe_start(cfg: BuildConfig, refs: list[VideoRef]) -> str:
    return (f"vgdata: {len(refs)} videos from {', '.join(f'{s.name}/{s.split}' for s in cfg.sources)}; "
            f"segmenter {cfg.segmenter.name}; sampling {rates_text(cfg.rates)}; videos {cfg.videos}; out {cfg.out}")


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


def run_build(cfg: BuildConfig, runner: LocalRunner | None = None, echo: Callable[[str], None] = print) -> dict:
    """The whole build, whatever the runner: preflight -> discover -> each video's job (mapped by
    `runner`) -> outputs. Returns the summary."""
    runner = runner or LocalRunner()
    clock = PhaseClock()
    runner.step("preflight", preflight, cfg)
    with out_lock(cfg.out):
        with runner.session(cfg):  # the workers start as the videos are listed and exit before the outputs
            refs, results = unique_refs(runner.step("discover", discover, cfg))
            return_free_memory()
            echo(describe_start(cfg, refs))
            clock.lap("prepare")
            with progress(len(refs), "videos", echo=echo) as bar:
                for group, outcome in runner.map(batches(refs, runner.batch_size(refs, cfg)), cfg):
                    done = outcome if isinstance(outcome, list) else [lost_result(ref, outcome) for ref in group]
                    for r in done:
                        results.append(r)
                        report_result(bar, r)
            pool = current_pool()
            workers = pool.timing() if pool else {"count": 1, "processes": False}
        clock.lap("videos")
        summary = runner.step("write-outputs", write_outputs, cfg, results)
        clock.lap("outputs")
        summary["seconds"] = round(clock.total(), 2)
        summary["timing"] = {**clock.phases, **summary.get("timing", {}), "workers": workers}
        atomic_json(summary, os.path.join(cfg.out, "summary.json"))  # once, with the timing, under OUT's lock
    return summary


class PhaseClock:
    """Wall and CPU seconds of this process per phase of the build: `prepare` (preflight, discover,
    the workers starting), `videos` (the videos' jobs; in this process only the hand-over when they
    run in worker processes) and `outputs` (shards, logs, manifest, card). What is not `videos`
    is the serial share a build's speed at many cores is bounded by (benchmarks/workers.py)."""

    def __init__(self):
        self.t0 = self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.phases: dict[str, dict[str, float]] = {}

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.phases[name] = {"wall": round(wall - self.wall, 3), "cpu": round(cpu - self.cpu, 3)}
        self.wall, self.cpu = wall, cpu

    def total(self) -> float:
        return time.perf_counter() - self.t0
