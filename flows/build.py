"""The Prefect flows: `build` (discover -> per-video tasks (convert, segment, filter, points, rows)
-> write shards, rejects, manifest and card) and `build-and-publish` (pull -> build -> checks ->
publish, publishing only a build whose checks pass).

Stage logic lives in `pipeline`; this module only decides how it runs: one task per video, retried
on transient errors (bad input is not retried: it becomes a reject naming the file; a video still
failing after its retries is rejected too, and the build goes on), a thread pool of `workers`.
Without a Prefect API configured it runs on Prefect's temporary local server.

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
import logging  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from pipeline import build as B  # noqa: E402
from pipeline.config import BuildConfig, config_from_dict, load_config  # noqa: E402
from pipeline.errors import TransientError  # noqa: E402
from pipeline.progress import progress  # noqa: E402
from pipeline.stages.process import process_video_cached  # noqa: E402

TRANSIENT = (TransientError, TimeoutError, ConnectionError)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT)


def _retry_transient(task, task_run, state) -> bool:
    try:
        state.result()
    except Exception as e:  # noqa: BLE001 - deciding which failures to retry
        return is_transient(e)
    return False


def gpu_limit_name(ref, cfg: BuildConfig) -> str | None:
    """The concurrency limit a video's task must hold: `gpu-N` when it runs SAM 2 on CUDA device N,
    None otherwise (mask sources, GrabCut, CPU)."""
    from converters import load_manifest

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


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(cfg: BuildConfig):
    B.preflight(cfg)
    return B.discover(cfg)


def _process(ref, cfg: BuildConfig):
    return process_video_cached(ref, cfg)


@task(name="process-videos", retries=2, retry_delay_seconds=2, retry_condition_fn=_retry_transient,
      cache_policy=NO_CACHE, task_run_name="{label}")
def process_videos_task(refs: list, cfg: BuildConfig, label: str) -> list:
    """A few videos of one source, one after the other. Batching amortises Prefect's per-task cost
    (~35 ms here against ~170 ms per SA-V video); a transient error is retried per video, and a
    video still failing is rejected alone. The batch holds one GPU slot while it runs."""
    with gpu_slot(gpu_limit_name(refs[0], cfg)):
        return [B.with_retries(_process, ref, cfg) for ref in refs]


TASKS_PER_WORKER = 16


def task_size(refs: list, cfg: BuildConfig) -> int:
    """Videos per task: `videos_per_task` when SAM 2 runs on a GPU (seconds a video: Prefect's
    ~35 ms a task is noise, and a batch holds the GPU slot); otherwise larger batches on a big build,
    still at least TASKS_PER_WORKER tasks per worker so that the workers stay evenly loaded."""
    if any(gpu_limit_name(r, cfg) for r in {r.source: r for r in refs}.values()):
        return cfg.videos_per_task
    return max(cfg.videos_per_task, len(refs) // (max(1, cfg.workers) * TASKS_PER_WORKER))


def batches(refs: list, size: int) -> list[list]:
    """`refs` cut into runs of at most `size` videos of one source and split, in order."""
    out: list[list] = []
    for ref in refs:
        if out and len(out[-1]) < size and (out[-1][0].source, out[-1][0].split) == (ref.source, ref.split):
            out[-1].append(ref)
        else:
            out.append([ref])
    return out


@task(name="write-outputs", cache_policy=NO_CACHE)
def write_outputs_task(cfg: BuildConfig, results):
    return B.write_outputs(cfg, results)


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


def _submit(refs: list, cfg: BuildConfig):
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
    mapping, or the path of a YAML build config)."""
    cfg = _config(config)
    B.check_out(cfg.out)
    with B.out_lock(cfg.out):
        refs, results = B.unique_refs(discover_task(cfg))
        for name in sorted({n for n in (gpu_limit_name(r, cfg) for r in refs) if n}):
            ensure_limit(name)
        print(B.describe_start(cfg, refs))
        groups = batches(refs, task_size(refs, cfg))
        futures = [_submit(group, cfg) for group in groups]
        with progress(len(refs), "videos") as bar:
            for group, fut in zip(groups, futures):
                try:
                    done = fut.result()
                except Exception as e:  # noqa: BLE001 - retries spent: reject its videos, keep the build
                    done = [B.failed_result(ref, e, process_videos_task.retries) for ref in group]
                for r in done:
                    results.append(r)
                    B.report_result(bar, r)
        summary = write_outputs_task(cfg, results)
    print(B.format_summary(summary))
    return summary


@task(name="check-build", cache_policy=NO_CACHE)
def check_build_task(out: str) -> None:
    from pipeline.ops.publish import PublishError, check_build, read_manifest

    problems = check_build(out, read_manifest(out))
    if problems:
        raise PublishError(f"{out} failed its checks, not published: " + "; ".join(problems[:20]))


@task(name="publish", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=30)
def publish_task(out: str, repo: str, revision: str, create_pr: bool) -> dict:
    from pipeline.ops.publish import publish

    r = publish(out, repo, revision=revision, create_pr=create_pr)
    return {"commit": r.commit, "commit_url": r.commit_url, "pr_url": r.pr_url,
            "uploaded": len(r.plan.add), "deleted": len(r.plan.delete)}


@flow(name="build-and-publish", log_prints=True)
def build_and_publish_flow(config: dict | str, repo: str, revision: str = "main", create_pr: bool = False) -> dict:
    """Pull (sources marked `pull: true`) -> build -> check -> publish. A build with a missing
    shard or counts that do not reconcile is not published; a build whose every video failed is
    not published either."""
    cfg = _config(config)
    summary = build_flow(cfg.to_dict())
    if not any(s.get("videos_ok") or s.get("carried_over") for s in summary["sources"].values()):
        raise B.ConfigError(f"{cfg.out}: no video of any source built; not published")
    check_build_task(cfg.out)
    return {"build": summary, "publish": publish_task(cfg.out, repo, revision, create_pr)}


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
        task_runner = ray_runner(ray_address, cfg.workers)
    else:
        task_runner = ThreadPoolTaskRunner(max_workers=max(1, cfg.workers))
    return build_flow.with_options(task_runner=task_runner)(cfg.to_dict())
