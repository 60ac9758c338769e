"""The Prefect flows: `build` (`pipeline.build.run_build` with a `PrefectRunner`: its steps and
its batches of videos become tasks) and `build-and-publish` (pull -> build -> checks -> publish,
publishing only a build whose checks pass).

The build itself lives in `pipeline.build`; this module only decides how it runs: batches of videos
as tasks on a thread pool of `workers` whose videos run in the build's worker processes
(`pipeline.build.workers`), or on Ray through prefect-ray. Retries of transient errors
are per video, inside the batch (`pipeline.build.process_batch`), as for every runner. Without a
Prefect API configured it runs on Prefect's temporary local server.

A video that runs SAM 2 on a GPU holds a slot of the strict Prefect global concurrency limit
`gpu-N` (N: the CUDA device index) for its whole task, so two flow runs (a scheduled build and a
one-off conversion) never put two SAM 2 models on one GPU at once. The limit is created with
limit 1 when missing; strict means a missing limit is an error, never a silent free pass.
"""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The temporary local server takes ~17 s to start on a busy 2-core machine; Prefect's default limit
# is 20 s, which made `make demo` fail there. 90 s is what Prefect's own CI guidance suggests.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

import contextlib  # noqa: E402
import copy  # noqa: E402
import functools  # noqa: E402
import logging  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from pipeline import build as B  # noqa: E402
from pipeline.build import LocalRunner  # noqa: E402
from pipeline.build.runner import run_videos  # noqa: E402
from pipeline.build.workers import prepare_video_process, worker_count, worker_pool  # noqa: E402
from pipeline.config import BuildConfig, config_from_dict, load_config  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402


def gpu_limit_name(ref, cfg: BuildConfig) -> str | None:
    """The concurrency limit a video's task must hold: `gpu-N` when it runs SAM 2 on CUDA device N,
    None otherwise (mask sources, GrabCut, CPU)."""
    from pipeline.sources import load_manifest

    seg = cfg.segmenter
    if seg.name != "sam2" or load_manifest(ref.source)["kind"] != "box":
        return None
    device = seg.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    if not device.startswith("cuda"):
        return None
    return f"gpu-{device.split(':', 1)[1] if ':' in device else 0}"


def ensure_limit(name: str, limit: int = 1) -> None:
    """Create the global concurrency limit `name` if the Prefect API lacks it (idempotent)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))


@contextlib.contextmanager
def gpu_slot(name: str | None):
    """Hold one slot of the strict limit `name` (nothing when None)."""
    if name is None:
        yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(name, occupy=1, strict=True):
        yield


def _config(config: dict | str) -> BuildConfig:
    """Deployments pass the config as a dict or as the path of a YAML config on the worker."""
    return load_config(config) if isinstance(config, str) else config_from_dict(config)


@task(name="build-step", task_run_name="{name}", cache_policy=NO_CACHE)
def step_task(name: str, call):
    """One step of `run_build` (preflight, discover, write-outputs) as a task of the flow run. The
    step comes as one callable (a `functools.partial`), which Prefect does not walk: passing the
    build's results as a task parameter cost 0.3 s per 1,000 videos in Prefect's parameter checks."""
    return call()


@task(name="process-videos", cache_policy=NO_CACHE, task_run_name="{label}")
def process_videos_task(refs: list, cfg: BuildConfig, label: str) -> list:
    """A few videos of one source (`pipeline.build.process_batch`: each with its own retries; a
    video still failing is rejected alone). Batching amortises Prefect's per-task cost (~35 ms here
    against ~170 ms per SA-V video). A batch that runs SAM 2 on a GPU holds its slot while it runs in
    the flow's process; the others run in the build's worker processes (`run_videos`)."""
    slot = gpu_limit_name(refs[0], cfg)
    if slot is not None:  # SAM 2 on the flow's GPU, in this process, holding the GPU's slot
        with gpu_slot(slot):
            prepare_video_process()
            return B.process_batch(refs, cfg)
    return run_videos(refs, cfg)  # the build's worker processes (on Ray: this Ray worker, one thread per library)


TASKS_PER_WORKER = 16


def task_size(refs: list, cfg: BuildConfig) -> int:
    """Videos per task: `videos_per_task` when SAM 2 runs on a GPU (seconds a video: Prefect's
    ~35 ms a task is noise, and a batch holds the GPU slot); otherwise larger batches on a big build,
    still at least TASKS_PER_WORKER tasks per worker so that the workers stay evenly loaded."""
    if any(gpu_limit_name(r, cfg) for r in {r.source: r for r in refs}.values()):
        return cfg.videos_per_task
    return max(cfg.videos_per_task, len(refs) // (worker_count(cfg) * TASKS_PER_WORKER))


def _on_ray() -> bool:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx is not None and type(ctx.task_runner).__name__ == "RayTaskRunner"


def ray_options(ref, cfg: BuildConfig) -> dict:
    """Ray options of a task of `ref`'s source: a SAM 2 video asks for a whole GPU, in a worker that Ray
    keeps (`max_calls=0`; Ray's default for GPU tasks is to restart the worker after every call),
    so the model the process caches is loaded once per GPU worker, not once per video. Mask sources
    and CPU segmenters ask for nothing special."""
    return {"num_gpus": 1, "max_calls": 0} if gpu_limit_name(ref, cfg) else {}


class PrefectRunner(LocalRunner):
    """`run_build` inside a flow run: each step and each batch of videos is a Prefect task, on the
    flow's task runner (a thread pool, or Ray through prefect-ray)."""

    name = "prefect"

    def step(self, name: str, fn, *args):
        return step_task(name, functools.partial(fn, *args))

    def batch_size(self, refs: list, cfg: BuildConfig) -> int:
        return task_size(refs, cfg)

    def session(self, cfg: BuildConfig):
        """On the thread pool, the tasks hand their videos to the build's worker processes (threads
        would be held to one core by the GIL); on Ray each task runs in a Ray worker process already."""
        return contextlib.nullcontext() if _on_ray() else worker_pool(cfg)

    def map(self, groups: list[list], cfg: BuildConfig):
        from prefect.futures import as_completed

        for name in sorted({n for n in (gpu_limit_name(g[0], cfg) for g in groups) if n}):
            ensure_limit(name)
        futures = {self._submit(group, cfg): group for group in groups}
        for fut in as_completed(list(futures)):
            try:
                yield futures[fut], fut.result()
            except Exception as e:  # noqa: BLE001 - a lost task: its videos are rejected, the build goes on
                yield futures[fut], e

    def _submit(self, refs: list, cfg: BuildConfig):
        options = ray_options(refs[0], cfg) if _on_ray() else {}
        first = refs[0]
        label = f"{first.source}/{first.split}/{first.video_id}" + (f" +{len(refs) - 1}" if len(refs) > 1 else "")
        if options:
            from prefect_ray.context import remote_options

            with remote_options(**options):
                return process_videos_task.submit(refs, cfg, label)
        return process_videos_task.submit(refs, cfg, label)


@flow(name="build", log_prints=True)
def build_flow(config: dict | str) -> dict:
    """Build AcademicVideoPoint and AcademicVideoTrack from the sources in `config` (a config
    mapping, or the path of a YAML build config): `pipeline.build.run_build` with Prefect tasks."""
    summary = B.run_build(_config(config), PrefectRunner())
    print(B.format_summary(summary))
    return summary


@task(name="check-build", cache_policy=NO_CACHE)
def check_build_task(out: str) -> None:
    from pipeline.ops.publish import PublishError, read_manifest
    from pipeline.quality.files import check_build

    problems = check_build(out, read_manifest(out))
    if problems:
        raise PublishError(f"{out} failed its checks, not published: " + "; ".join(problems[:20]))


@task(name="publish", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=30)
def publish_task(out: str, repo: str, revision: str, create_pr: bool, layout: str = "vgdata") -> dict:
    from pipeline.ops.publish import publish, publish_molmo2

    def brief(r) -> dict:
        return {"commit": r.commit, "commit_url": r.commit_url, "pr_url": r.pr_url,
                "uploaded": len(r.plan.add), "deleted": len(r.plan.delete)}

    if layout == "molmo2":
        return {r.plan.repo: brief(r) for r in publish_molmo2(out, repo, revision=revision, create_pr=create_pr)}
    return brief(publish(out, repo, revision=revision, create_pr=create_pr))


@flow(name="build-and-publish", log_prints=True)
def build_and_publish_flow(config: dict | str, repo: str, revision: str = "main", create_pr: bool = False,
                           layout: str = "vgdata") -> dict:
    """Pull (sources marked `pull: true`) -> build -> check -> publish (`layout` molmo2: `repo` is
    the organisation of Molmo2's repositories). A build with a missing shard or counts that do not
    reconcile is not published; a build whose every video failed is not published either."""
    cfg = _config(config)
    summary = build_flow(cfg.to_dict())
    if not any(s.get("videos_ok") or s.get("carried_over") for s in summary["sources"].values()):
        raise ConfigError(f"{cfg.out}: no video of any source built; not published")
    check_build_task(cfg.out)
    return {"build": summary, "publish": publish_task(cfg.out, repo, revision, create_pr, layout)}


def ray_runner(address: str | None, workers: int):
    """A RayTaskRunner: attach to `address` ("auto": the cluster this machine is part of;
    "ray://head:10001": Ray Client), or start a local Ray instance with `workers` CPUs."""
    from prefect_ray import RayTaskRunner

    if address:
        return RayTaskRunner(address=address)
    return RayTaskRunner(init_kwargs={"num_cpus": max(1, workers), "include_dashboard": False,
                                      "log_to_driver": False})


class _NoTraceback(logging.Formatter):
    """Prefect's console format without the traceback: the command prints the error as one line; the
    traceback still reaches Prefect's API (its UI) and the terminal with `--debug`."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        brief = copy.copy(record)
        brief.exc_info = brief.exc_text = brief.stack_info = None
        return self.inner.format(brief)


def hide_console_tracebacks() -> None:
    """Strip tracebacks from every Prefect console handler's output (idempotent)."""
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)
                                       if n.startswith("prefect")]
    for logger in loggers:
        for h in logger.handlers:
            if type(h).__name__ == "PrefectConsoleHandler" and not isinstance(h.formatter, _NoTraceback):
                h.setFormatter(_NoTraceback(h.formatter))


def run_flow(cfg: BuildConfig, runner: str = "prefect", ray_address: str | None = None) -> dict:
    """Run `build_flow` with a thread pool of `cfg.workers` (runner "prefect") or on Ray ("ray")."""
    if os.environ.get("VGDATA_HIDE_TRACEBACKS") == "1":
        hide_console_tracebacks()
    if runner == "ray":
        task_runner = ray_runner(ray_address, worker_count(cfg))
    else:
        task_runner = ThreadPoolTaskRunner(max_workers=worker_count(cfg))
    return build_flow.with_options(task_runner=task_runner)(cfg.to_dict())
