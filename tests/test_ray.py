"""`--runner ray`: the build flow's per-video tasks on a local Ray instance (one for the module),
byte-identical to the local runner; and the Ray options that keep one SAM 2 model per GPU worker."""

from __future__ import annotations

import os

import pytest

from tests.conftest import demo_config
from tests.test_build import shard_paths

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    # A fake GPU resource: Ray schedules on declared resources, so the GPU task path runs on a CPU box.
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _shards(out) -> dict[str, bytes]:
    return {os.path.relpath(p, out): open(p, "rb").read() for p in shard_paths(str(out))}


@pytest.mark.slow
def test_ray_runner_builds_what_the_local_runner_builds(prefect_harness, local_ray, built, sample_dir, tmp_path):
    from flows.build import run_flow

    cfg = demo_config(sample_dir, tmp_path / "ray", workers=2)
    summary = run_flow(cfg, "ray")
    local_cfg, local_summary = built
    assert summary["rows"] == local_summary["rows"]
    assert _shards(cfg.out) == _shards(local_cfg.out)


def test_ray_gpu_tasks_keep_their_worker(prefect_harness, local_ray):
    """With the options `ray_options` gives a SAM 2 video, successive GPU tasks run in one worker
    process (its cached model survives); with Ray's defaults each GPU task gets a fresh worker."""
    from prefect import flow, task
    from prefect_ray import RayTaskRunner
    from prefect_ray.context import remote_options

    from flows.build import ray_options
    from pipeline.config import config_from_dict

    class Ref:
        source = "mot"

    sam2_cuda = config_from_dict({"out": "x", "sources": [{"name": "mot", "root": "r"}],
                                  "segmenter": {"name": "sam2", "device": "cuda", "checkpoint": "c.pt"}})
    options = ray_options(Ref(), sam2_cuda)
    assert options == {"num_gpus": 1, "max_calls": 0}
    assert ray_options(Ref(), config_from_dict({"out": "x", "sources": [{"name": "mot", "root": "r"}],
                                                "segmenter": {"name": "grabcut"}})) == {}

    @task
    def pid():
        return os.getpid()

    @flow(task_runner=RayTaskRunner())
    def three_gpu_tasks(opts: dict) -> list[int]:
        out = []
        for _ in range(3):
            with remote_options(**opts):
                out.append(pid.submit().result())
        return out

    kept = three_gpu_tasks(options)
    assert len(set(kept)) == 1
    fresh = three_gpu_tasks({"num_gpus": 1})
    assert len(set(fresh)) == 3
