"""The Prefect `build` flow: discover -> per-video tasks (convert, segment, filter, points, rows)
-> write shards, rejects and manifest.

Stage logic lives in `pipeline`; this module only decides how it runs: one task per video, retried
on transient errors (bad input is not retried: it becomes a reject naming the file; a video still
failing after its retries is rejected too, and the build goes on), a thread pool of `workers`.
Without a Prefect API configured it runs on Prefect's temporary local server.
"""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The temporary local server takes ~17 s to start on a busy 2-core machine; Prefect's default limit
# is 20 s, which made `make demo` fail there. 90 s is what Prefect's own CI guidance suggests.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from pipeline import build as B  # noqa: E402
from pipeline.config import BuildConfig, config_from_dict  # noqa: E402
from pipeline.errors import TransientError  # noqa: E402
from pipeline.process import process_video_cached  # noqa: E402

TRANSIENT = (TransientError, TimeoutError, ConnectionError)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT)


def _retry_transient(task, task_run, state) -> bool:
    try:
        state.result()
    except Exception as e:  # noqa: BLE001 - deciding which failures to retry
        return is_transient(e)
    return False


@task(name="discover", cache_policy=NO_CACHE)
def discover_task(cfg: BuildConfig):
    B.preflight(cfg)
    return B.discover(cfg)


@task(name="process-video", retries=2, retry_delay_seconds=2, retry_condition_fn=_retry_transient,
      cache_policy=NO_CACHE, task_run_name="{ref.source}/{ref.split}/{ref.video_id}")
def process_video_task(ref, cfg: BuildConfig):
    return process_video_cached(ref, cfg)


@task(name="write-outputs", cache_policy=NO_CACHE)
def write_outputs_task(cfg: BuildConfig, results):
    return B.write_outputs(cfg, results)


@flow(name="build", log_prints=True)
def build_flow(config: dict) -> dict:
    """Build AcademicVideoPoint and AcademicVideoTrack from the sources in `config`."""
    cfg = config_from_dict(config)
    B.check_out(cfg.out)
    with B.out_lock(cfg.out):
        refs, results = B.unique_refs(discover_task(cfg))
        print(B.describe_start(cfg, refs))
        futures = [process_video_task.submit(ref, cfg) for ref in refs]
        for i, (ref, fut) in enumerate(zip(refs, futures), 1):
            try:
                r = fut.result()
            except Exception as e:  # noqa: BLE001 - retries spent: reject the video, keep the build
                r = B.failed_result(ref, e, process_video_task.retries)
            results.append(r)
            print(B.describe_result(i, len(refs), r))
        summary = write_outputs_task(cfg, results)
    print(B.format_summary(summary))
    return summary


def run_flow(cfg: BuildConfig) -> dict:
    """Run `build_flow` with a thread pool of `cfg.workers`."""
    runner = ThreadPoolTaskRunner(max_workers=max(1, cfg.workers))
    return build_flow.with_options(task_runner=runner)(cfg.to_dict())
