"""Worker processes for a build's videos: one per worker, each with its libraries' thread pools at
one thread, so that N workers use N cores and no more.

Why processes: a video's work (decoding RLEs, distance transforms, scoring points, building rows)
is many small numpy and OpenCV calls driven by Python, which holds the GIL most of the time:
threads of one process ran two workers no faster than one. Why one thread per library: OpenCV's
own pool spun (`sched_yield`) on every small call, 14 s of kernel time in a 33 s build, and N
workers each with a pool of all the cores would fight over them.

Workers are spawned, not forked: each starts from a clean interpreter (no lock a thread of the
build held at the fork, no copy of the build's open files such as OUT's lock), ~0.5 s each, once
per build, while the build lists its videos. Each asks the kernel to kill it when the build dies
(Linux PR_SET_PDEATHSIG, which follows the thread that started it: one long-lived thread starts
them all), so a build killed with SIGKILL leaves no worker writing behind it, and ignores Ctrl-C,
which the build handles (finish the videos in hand, start no more). A video's results reach the build as
they do from a thread: its rows are in its OUT/.work parts already, the result holds counts.

A worker that dies (a library crashing on a garbage file, the kernel's OOM killer) breaks the pool:
its videos are run again, one at a time, in a pool of one worker, and a video that kills that
worker too is rejected alone (`WorkerDied`); the others finish, the build goes on.

SAM 2 on CUDA: worker k sees only GPU k mod G (CUDA_VISIBLE_DEVICES, set before torch starts CUDA
in it), so `--workers G` (`auto`) runs one process, one model, per GPU.

`prepare_video_process` is also what the Prefect and Ray runners call before a task's videos run in their
own process (a Ray worker, or Prefect's flow process when a task runs inline).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator

# Read by OpenMP, OpenBLAS, MKL and numexpr when they load: a library first imported in a worker
# after it started (torch, for SAM 2) starts with one thread.
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}
PR_SET_PDEATHSIG = 1


class WorkerDied(RuntimeError):
    """The worker process running a video died twice, the second time alone with it."""


_PREPARED = False


def prepare_video_process() -> None:
    """This process set up to run videos: its libraries at one thread each (OpenCV, the BLAS/OpenMP
    pools numpy and scipy load, Arrow's CPU pool, torch if loaded), the environment that sets it
    for those loaded later, and glibc's heap kept (`keep_freed_memory`). For a process that runs
    videos and nothing else: it is not undone. Done once per process (threadpoolctl's scan of the
    loaded libraries is 1.5 ms, and a build with one worker calls this for every video); a later
    call only holds torch to one thread, which SAM 2 may have imported since."""
    global _PREPARED
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    if _PREPARED:
        return
    os.environ.update(THREAD_ENV)
    import cv2
    import pyarrow
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(1)
    threadpool_limits(1)
    pyarrow.set_cpu_count(1)
    keep_freed_memory()
    _PREPARED = True


# glibc's mallopt parameters, and the values a video process runs with.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD, TRIM_THRESHOLD = 4 << 20, 16 << 20


def keep_freed_memory() -> bool:
    """Keep freed memory in the heap for the next frame (glibc only; False elsewhere).

    A video allocates and frees the same few hundred-kilobyte arrays for every frame (a decoded
    mask, its distance transform). By default glibc returns such a block to the kernel when it is
    freed (a fresh process maps blocks over 128 KiB on their own, and trims the heap's free top
    over 128 KiB), and the next frame faults its pages in again: 5% of a mask video's time here.
    Blocks under 4 MiB now come from the heap, and at most 16 MiB of free heap is kept."""
    mallopt = _libc("mallopt")
    return mallopt is not None and bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) \
        and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def return_free_memory() -> bool:
    """Hand the heap's free memory back to the kernel (glibc's malloc_trim; False elsewhere): after
    the build lists its videos, what building a split-wide file's index freed (~25 MB for a 1 GB
    OVIS file) would otherwise stay in the build's RSS beside the workers'."""
    malloc_trim = _libc("malloc_trim")
    return malloc_trim is not None and bool(malloc_trim(0))


def _libc(name: str):
    """The C library's function `name` (glibc's mallopt, malloc_trim, prctl), None where this
    process's C library has no such function (musl, macOS)."""
    import ctypes

    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota (a
    container's `--cpus`), which affinity does not show."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def gpu_devices(cfg) -> list[str] | None:
    """The GPUs a build's worker processes are pinned to, one each in turn: those CUDA_VISIBLE_DEVICES
    names (else every device) when the build runs SAM 2 on CUDA for a box source with device
    `auto` or `cuda`; None otherwise (mask sources, GrabCut, CPU, or one device named by the config)."""
    from pipeline.sources import load_manifest

    seg = cfg.segmenter
    if seg.name != "sam2" or seg.device not in ("auto", "cuda"):
        return None
    if not any(load_manifest(s.name)["kind"] == "box" for s in cfg.sources):
        return None
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return visible or [str(i) for i in range(torch.cuda.device_count())]


def worker_count(cfg) -> int:
    """`workers` as a number: `auto` is one per GPU for a build that runs SAM 2 on CUDA, else one
    per usable core."""
    if cfg.workers != "auto":
        return int(cfg.workers)
    gpus = gpu_devices(cfg)
    return len(gpus) if gpus else usable_cores()


def _warm(sources: tuple[str, ...]) -> None:
    """A worker's imports before its first video: the sources' converters and manifests."""
    from pipeline.sources import get_converter, load_manifest

    for name in sources:
        get_converter(name)
        load_manifest(name)


def _preimport(pool: "WorkerPool", modules: tuple[str, ...]) -> None:
    import importlib

    cpu = time.thread_time()
    for name in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    pool.preimport_cpu = time.thread_time() - cpu


def _die_with_parent(parent: int) -> None:
    prctl = _libc("prctl") if sys.platform.startswith("linux") else None
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the build died before the call above took effect
        os._exit(1)


def _start_worker(parent: int, slots, gpus: list[str] | None) -> None:
    """A worker's first act: die with the build, leave Ctrl-C to it, take its GPU, one thread each."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[slots.get() % len(gpus)]
    prepare_video_process()
    _arrow_without_pandas()


class _NoPandas:
    """An import finder that refuses pandas (see `_arrow_without_pandas`)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            raise ImportError("pandas is not loaded in a video worker")
        return None


def _arrow_without_pandas() -> None:
    """pyarrow told once, in a worker, that there is no pandas. A worker checks its rows with Arrow
    (`VideoResult.check_rows`), and pyarrow's first `pa.array` imports pandas to ask whether its
    input is a DataFrame: 0.3-0.4 s of CPU and ~50 MB in every worker, for rows that are lists of
    dicts. pyarrow remembers the answer; pandas itself stays importable afterwards (a source's
    converter may use it), only pyarrow's own pandas conversions are off in a worker, which writes
    no shards."""
    if "pandas" in sys.modules:
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        import pyarrow

        pyarrow.array([0])
    finally:
        sys.meta_path.remove(finder)


class WorkerPool:
    """`workers` spawned processes that run batches of videos: `run(fn, refs, cfg)` from any thread,
    blocking until the batch is done. A broken pool (a worker died) is replaced, and the broken
    batch's videos are run again one at a time in a pool of their own (`on_lost` makes the result
    of a video that kills its worker again)."""

    def __init__(self, workers: int, gpus: list[str] | None = None, sources: tuple[str, ...] = ()):
        self.workers, self.gpus, self.sources = workers, gpus, sources
        self._lock = threading.Lock()
        self._solo_lock = threading.Lock()
        # Every worker is started by this one thread, which lives as long as the pool: the kernel's
        # parent-death signal follows the thread that started a process, not its process, so a
        # worker started by a short-lived thread (a Prefect task's) would die with that thread.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vgdata-spawner")
        self.created, self.ready, self.preimport_cpu = time.perf_counter(), None, 0.0
        self._pool, self._generation = self._new(workers), 0
        self._solo: ProcessPoolExecutor | None = None
        self.restarts = 0

    def _new(self, workers: int) -> ProcessPoolExecutor:
        return self._spawner.submit(self._start, workers).result()

    def _start(self, workers: int) -> ProcessPoolExecutor:
        """A pool whose `workers` processes are all started now, from this thread (a pool starts a
        process on a submit while it has fewer than its maximum): each imports what the build's
        sources need while the build lists its videos."""
        ctx = multiprocessing.get_context("spawn")
        slots = None
        if self.gpus:  # each worker takes a number, its GPU (only then: a queue starts a resource tracker)
            slots = ctx.Queue()
            for k in range(workers):
                slots.put(k)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker,
                                   initargs=(os.getpid(), slots, self.gpus))
        for _ in range(workers):
            pool.submit(_warm, self.sources).add_done_callback(self._warmed)
        return pool

    def _warmed(self, _fut) -> None:
        self.ready = time.perf_counter() - self.created  # the last call: every worker has started

    def timing(self) -> dict:
        """For the build's summary: the workers, the seconds until the last had started and imported
        what the sources need, pool restarts, and the build process's own CPU seconds spent
        importing for the outputs meanwhile (part of `videos` CPU, not per video)."""
        return {"count": self.workers, "processes": True, "ready": round(self.ready or 0.0, 3), "restarts": self.restarts,
                "preimport_cpu": round(self.preimport_cpu, 3)}

    def _submit(self, fn, *args) -> tuple[Future | None, int]:
        with self._lock:
            generation = self._generation
            try:
                return self._pool.submit(fn, *args), generation
            except BrokenProcessPool:
                return None, generation

    def _replace(self, generation: int) -> None:
        """A fresh pool, unless another thread replaced the broken one already."""
        with self._lock:
            if self._generation == generation:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool, self._generation = self._new(self.workers), generation + 1
                self.restarts += 1

    def run(self, fn: Callable, refs: list, cfg, on_lost: Callable) -> list:
        fut, generation = self._submit(fn, refs, cfg)
        if fut is not None:
            try:
                return fut.result()
            except BrokenProcessPool:
                pass
        self._replace(generation)
        return [r for ref in refs for r in self._alone(fn, ref, cfg, on_lost)]

    def _alone(self, fn: Callable, ref, cfg, on_lost: Callable) -> list:
        """`ref` in a pool of one worker of its own: if that worker dies too, the video killed it."""
        with self._solo_lock:
            if self._solo is None:
                self._solo = self._new(1)
            try:
                return self._solo.submit(fn, [ref], cfg).result()
            except BrokenProcessPool:
                self._solo.shutdown(wait=False, cancel_futures=True)
                self._solo = None
                return [on_lost(ref, WorkerDied("its worker process died while running it, twice (a crash in a "
                                                 "library, or killed for memory); the other videos went on"))]

    def close(self) -> None:
        """Wait for the batches in hand; start no more."""
        with self._lock:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._solo_lock:
            if self._solo is not None:
                self._solo.shutdown(wait=True, cancel_futures=True)
        self._spawner.shutdown(wait=True)


_CURRENT: WorkerPool | None = None


def current_pool() -> WorkerPool | None:
    """The pool of the build running in this process, if its videos run in worker processes."""
    return _CURRENT


@contextlib.contextmanager
def worker_pool(cfg) -> Iterator[WorkerPool | None]:
    """Worker processes for the build's videos while the block runs (None with one worker: the
    videos then run in this process, at one thread per library). A SAM 2 model the preflight
    loaded into this process is let go: each worker loads its own."""
    global _CURRENT
    n = worker_count(cfg)
    if n <= 1:
        yield None
        return
    gpus = gpu_devices(cfg)
    if gpus:
        from pipeline.stages.segmenters import release_segmenters

        release_segmenters()
    pool = WorkerPool(n, gpus, tuple(dict.fromkeys(s.name for s in cfg.sources)))
    # The build's process is idle while the workers run videos: it imports what writing the
    # outputs needs meanwhile (`datasets`, for the card: ~1 s, 70 MB). `run_build` closes the pool
    # before it writes the outputs, so the tree's peak never holds the workers and the outputs' work.
    threading.Thread(target=_preimport, args=(pool, ("datasets",)), name="vgdata-preimport", daemon=True).start()
    _CURRENT = pool
    try:
        yield pool
    finally:
        _CURRENT = None
        pool.close()
