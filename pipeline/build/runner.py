"""How a build's videos are run: the one thing that differs between `--runner local`, `prefect` and
`ray`. Everything else (preflight, discover, retries, batching, result handling, outputs) is
`pipeline.build.run.run_build`, the same for every runner.

A runner maps `run_videos` over batches of videos and says how each of the build's steps runs:
`LocalRunner` calls steps directly and runs batches in `workers` worker processes
(`pipeline.build.workers`; in this process with one worker); `flows.build.PrefectRunner` makes
each step and each batch a Prefect task (its batches in the same worker processes, or on Ray
through prefect-ray).

`process_ref` is a video's whole job as every runner runs it: the converter is made here, from the
ref (so a Ray worker needs nothing but the ref and the config), and the video goes through
`pipeline.build.video.process_video_cached`. A transient error (`TransientError`, a timeout, a
dropped connection) is retried per video; once the retries are spent the video is rejected and the
build goes on.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable, Iterator

from pipeline.sources import get_converter, load_manifest
from pipeline.sources.base import Converter, VideoRef
from pipeline.build.video import VideoResult, process_video_cached, rejected_video
from pipeline.build.workers import current_pool, prepare_video_process, worker_pool
from pipeline.config import BuildConfig
from pipeline.errors import TransientError

TRANSIENT = (TransientError, TimeoutError, ConnectionError)
TRANSIENT_RETRIES = 2

Outcome = tuple[list[VideoRef], "list[VideoResult] | BaseException"]  # a batch and its results, or why it failed


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT)


def index_dir(cfg: BuildConfig) -> str:
    """Where a build keeps its per-video indexes of split-wide annotation files."""
    return os.path.join(cfg.out, ".work", "index")


@functools.lru_cache(maxsize=64)
def _converter(source: str, options: tuple, index: str) -> Converter:
    return get_converter(source, index_dir=index, **dict(options))


def converter_for(ref: VideoRef, cfg: BuildConfig) -> Converter:
    """The converter of `ref`'s source with the ref's options (one per process and source)."""
    return _converter(ref.source, ref.options, index_dir(cfg))


def tasks_of(source: str) -> tuple[str, ...]:
    """The rows a source gives (its manifest's `tasks`)."""
    return tuple(load_manifest(source).get("tasks") or ())


def process_ref(ref: VideoRef, cfg: BuildConfig) -> VideoResult:
    """One video's job, resumable (see `pipeline.build.video`)."""
    return process_video_cached(ref, cfg, converter_for(ref, cfg), tasks_of(ref.source))


def with_retries(fn: Callable[[VideoRef, BuildConfig], VideoResult], ref: VideoRef, cfg: BuildConfig,
                 retries: int = TRANSIENT_RETRIES) -> VideoResult:
    """`fn(ref, cfg)`, retrying transient errors; once retries are spent the video is rejected."""
    for attempt in range(retries + 1):
        try:
            return fn(ref, cfg)
        except TRANSIENT as e:
            if attempt == retries:
                return failed_result(ref, e, retries)
    raise AssertionError("unreachable")


def failed_result(ref: VideoRef, error: BaseException, retries: int) -> VideoResult:
    return rejected_video(ref, "process", "failed after retries",
                          f"{type(error).__name__}: {error} (tried {retries + 1} times)", ref.location)


def lost_result(ref: VideoRef, error: BaseException) -> VideoResult:
    """A video whose batch was lost to the runner (a crashed worker, a task error): rejected, and
    the build goes on."""
    return rejected_video(ref, "process", "task failed", f"{type(error).__name__}: {error}", ref.location)


def process_batch(refs: list[VideoRef], cfg: BuildConfig) -> list[VideoResult]:
    """A batch of videos, one after the other, each with its own retries: what every runner runs."""
    return [with_retries(process_ref, ref, cfg) for ref in refs]


def batches(refs: list[VideoRef], size: int) -> list[list[VideoRef]]:
    """`refs` cut into runs of at most `size` videos of one source and split, in order."""
    out: list[list[VideoRef]] = []
    for ref in refs:
        if out and len(out[-1]) < size and (out[-1][0].source, out[-1][0].split) == (ref.source, ref.split):
            out[-1].append(ref)
        else:
            out.append([ref])
    return out


class LocalRunner:
    """Runs a build's steps and maps its videos: steps are plain calls in this process, batches of
    one video run in `cfg.workers` worker processes (in this process with one worker), a thread
    per worker handing them over. Other runners subclass it and change how a step or a batch runs,
    nothing else."""

    name = "local"

    def step(self, name: str, fn: Callable, *args):
        """One of the build's steps (preflight, discover, write-outputs)."""
        return fn(*args)

    def batch_size(self, refs: list[VideoRef], cfg: BuildConfig) -> int:
        """Videos per unit of work: one here, where a unit costs nothing to start."""
        return 1

    def session(self, cfg: BuildConfig):
        """What the runner holds for the whole build, entered before discover (so that its worker
        processes start while the parent lists the videos): `workers.worker_pool`."""
        return worker_pool(cfg)

    def map(self, groups: list[list[VideoRef]], cfg: BuildConfig) -> Iterator[Outcome]:
        """Each batch with its results (or the exception that lost them), in completion order."""
        processes = current_pool()
        if processes is None:
            for group in groups:
                try:
                    yield group, self.run_batch(group, cfg)
                except Exception as e:  # noqa: BLE001 - a batch lost to a bug: its videos are rejected
                    yield group, e
            return
        yield from self._map_threads(groups, cfg, processes.workers)

    def _map_threads(self, groups: list[list[VideoRef]], cfg: BuildConfig, workers: int) -> Iterator[Outcome]:
        """`workers` threads, each handing its batch to the worker processes and waiting for it."""
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vgdata-video")
        try:
            todo = iter(groups)
            running: dict[Future, list[VideoRef]] = {}
            for group in todo:  # at most 2 batches queued per worker: a huge build holds few futures
                running[pool.submit(self.run_batch, group, cfg)] = group
                if len(running) >= 2 * workers:
                    break
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    group = running.pop(fut)
                    error = fut.exception()
                    if error is not None and not isinstance(error, Exception):
                        raise error  # KeyboardInterrupt, SystemExit: stop the build
                    yield group, fut.result() if error is None else error
                    nxt = next(todo, None)
                    if nxt is not None:
                        running[pool.submit(self.run_batch, nxt, cfg)] = nxt
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: finish the videos in hand, start no more

    def run_batch(self, refs: list[VideoRef], cfg: BuildConfig) -> list[VideoResult]:
        return run_videos(refs, cfg)


def run_videos(refs: list[VideoRef], cfg: BuildConfig) -> list[VideoResult]:
    """A batch in the build's worker processes when it has them (`workers.worker_pool`), else in
    this process with its libraries at one thread each: what every runner's unit of work calls."""
    pool = current_pool()
    if pool is not None:
        return pool.run(process_batch, refs, cfg, lost_result)
    prepare_video_process()
    return process_batch(refs, cfg)
