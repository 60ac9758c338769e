"""Scheduled builds: `vgdata serve` deployments and `flows/prefect.yaml` on a real Prefect server
(one session harness on 127.0.0.1), the strict per-GPU concurrency limit, and the temporary
server on a busy machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.conftest import REPO
from pipeline.errors import ConfigError
from tests.hub_server import HubServer
from tests.test_build import shard_paths

VGDATA = [sys.executable, "-m", "flows.cli"]


def _config_file(sample_dir, tmp_path, name="cfg.yaml") -> str:
    out = tmp_path / "out"
    cfg = {"out": str(out), "segmenter": {"name": "grabcut"}, "workers": 2,
           "sources": [{"name": s, "root": str(sample_dir / s)} for s in ("sav", "mot", "lasot")]}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}, **extra)
    return env


def _shards(out) -> dict[str, bytes]:
    return {os.path.relpath(p, out): open(p, "rb").read() for p in shard_paths(str(out))}


def test_serve_refuses_without_a_prefect_server(sample_dir, tmp_path):
    r = subprocess.run([*VGDATA, "serve", _config_file(sample_dir, tmp_path)], cwd=REPO, capture_output=True,
                       text=True, env=_env(), timeout=120)
    assert r.returncode == 2
    assert "schedules need a real Prefect server" in r.stderr and "prefect server start" in r.stderr
    assert "Traceback" not in r.stderr


def test_deploy_objects_carry_the_schedule_and_the_config_path(sample_dir, tmp_path):
    from flows.serve import deployments

    path = _config_file(sample_dir, tmp_path)
    build, = deployments(path, "0 3 * * 0", name="nightly")
    assert [s.schedule.cron for s in build.schedules] == ["0 3 * * 0"]
    assert build.parameters == {"config": os.path.abspath(path)}
    build, publish = deployments(path, "30 2 * * *", name="nightly", repo="org/vg")
    assert build.schedules == [] and [s.schedule.cron for s in publish.schedules] == ["30 2 * * *"]
    assert publish.parameters["repo"] == "org/vg" and publish.parameters["layout"] == "vgdata"
    _, publish = deployments(path, "30 2 * * *", name="nightly", repo="org", layout="molmo2")
    assert publish.parameters["repo"] == "org" and publish.parameters["layout"] == "molmo2"
    with pytest.raises(ConfigError, match="with --layout molmo2 give the organisation alone"):
        deployments(path, "30 2 * * *", repo="org/vg", layout="molmo2")
    bad = tmp_path / "bad.yaml"
    bad.write_text("out: x\n")

    with pytest.raises(ConfigError):
        deployments(str(bad), "0 3 * * 0")


def test_serve_gpu_slots_are_exclusive_and_strict(prefect_harness):
    from prefect import flow, task
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.build import ensure_limit, gpu_limit_name, gpu_slot
    from pipeline.config import config_from_dict

    ensure_limit("gpu-test")
    ensure_limit("gpu-test")  # idempotent
    spans = []

    @task
    def hold(i):
        with gpu_slot("gpu-test"):
            t0 = time.monotonic()
            time.sleep(1.0)
            spans.append((t0, time.monotonic()))

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=3))
    def three_at_once():
        for f in [hold.submit(i) for i in range(3)]:
            f.result()

    three_at_once()
    spans.sort()
    assert len(spans) == 3
    assert all(a[1] <= b[0] + 0.05 for a, b in zip(spans, spans[1:]))  # never two in the slot at once
    with pytest.raises(Exception, match="must be created before acquiring"):
        with gpu_slot("gpu-missing"):
            pass

    class Ref:
        def __init__(self, source):
            self.source = source

    def cfg(name, device):
        return config_from_dict({"out": "x", "sources": [{"name": "mot", "root": "r"}],
                                 "segmenter": {"name": name, "device": device, "checkpoint": "c.pt"}})

    assert gpu_limit_name(Ref("mot"), cfg("sam2", "cuda:1")) == "gpu-1"
    assert gpu_limit_name(Ref("lasot"), cfg("sam2", "cuda")) == "gpu-0"
    assert gpu_limit_name(Ref("mevis"), cfg("sam2", "cuda")) is None  # mask sources need no GPU
    assert gpu_limit_name(Ref("mot"), cfg("sam2", "cpu")) is None
    assert gpu_limit_name(Ref("mot"), cfg("grabcut", "cuda")) is None


@pytest.mark.slow
def test_serve_runs_build_and_publish_from_a_deployment(prefect_harness, built, sample_dir, tmp_path):
    """`vgdata serve --publish-to` on a real Prefect server: the deployment exists with its
    schedule, `run_deployment` runs it in the serving process, its shards equal a local build's,
    and the Hub server holds them."""
    from huggingface_hub import constants  # noqa: F401 - the served process gets HF_HUB_DISABLE_XET
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    token = "hf_serveTestToken"
    hub = HubServer(tokens={token}).start()
    path = _config_file(sample_dir, tmp_path)
    env = _env(PREFECT_API_URL=prefect_harness, HF_ENDPOINT=hub.url, HF_TOKEN=token, HF_HUB_DISABLE_XET="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1")
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([*VGDATA, "serve", path, "--name", "t", "--cron", "0 3 * * 0", "--publish-to", "org/vg"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        with get_client(sync_client=True) as client:
            while True:
                try:
                    dep = client.read_deployment_by_name("build-and-publish/t")
                    break
                except Exception:  # noqa: BLE001 - not registered yet
                    assert proc.poll() is None, open(tmp_path / "serve.log").read()
                    assert time.monotonic() < deadline, open(tmp_path / "serve.log").read()
                    time.sleep(1)
            assert [s.schedule.cron for s in dep.schedules] == ["0 3 * * 0"]
            assert client.read_deployment_by_name("build/t").schedules == []
        run = run_deployment("build-and-publish/t", timeout=400)
        assert run.state.is_completed(), (run.state, open(tmp_path / "serve.log").read())
        out = tmp_path / "out"
        local_cfg, _ = built
        assert _shards(out) == _shards(local_cfg.out)
        files = hub.files("org/vg")
        assert {p: files[p] for p in _shards(out)} == _shards(out)
        assert files["README.md"] == (out / "README.md").read_bytes()
        # the same deployment publishing as Molmo2's repositories (the sample's LaSOT rows)
        run = run_deployment("build-and-publish/t", parameters={"repo": "org", "layout": "molmo2"}, timeout=400)
        assert run.state.is_completed(), (run.state, open(tmp_path / "serve.log").read())
        sot = hub.files("org/molmo2-single-object-track")
        assert "lasot/train-00000-of-00001.parquet" in sot and any(p.startswith("LaSOT/train/videos/") for p in sot)
    finally:
        proc.terminate()
        proc.wait(30)
        hub.stop()


@pytest.mark.slow
def test_deploy_prefect_yaml_creates_the_scheduled_deployments(prefect_harness, sample_dir, tmp_path):
    from prefect.client.orchestration import get_client

    env = _env(PREFECT_API_URL=prefect_harness, VGDATA_HOME=str(REPO),
               VGDATA_CONFIG=_config_file(sample_dir, tmp_path), VGDATA_REPO="org/vg")
    prefect = [os.path.join(os.path.dirname(sys.executable), "prefect")]
    r = subprocess.run([*prefect, "work-pool", "create", "gpu-host", "--type", "process"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 or "already exists" in r.stdout + r.stderr, r.stdout + r.stderr
    r = subprocess.run([*prefect, "--no-prompt", "deploy", "--all", "--prefect-file", "flows/prefect.yaml"],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with get_client(sync_client=True) as client:
        weekly = client.read_deployment_by_name("build-and-publish/weekly")
        one_off = client.read_deployment_by_name("build/one-off")
    assert [s.schedule.cron for s in weekly.schedules] == ["0 3 * * 0"]
    assert weekly.work_pool_name == "gpu-host" and weekly.parameters["repo"] == "org/vg"
    assert weekly.parameters["config"] == env["VGDATA_CONFIG"] and one_off.schedules == []


@pytest.mark.slow
def test_serve_temporary_server_survives_a_busy_machine(built, sample_dir, tmp_path):
    """Both cores busy: `--runner prefect` on Prefect's temporary server still builds (a 90 s
    start-up limit); and when the server cannot start in time, the build falls back to the local
    runner with a warning instead of failing."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        path = _config_file(sample_dir, tmp_path)
        r = subprocess.run([*VGDATA, "build", path], cwd=REPO, capture_output=True, text=True, env=_env(), timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        assert "building with --runner local" not in r.stderr
        local_cfg, _ = built
        assert _shards(tmp_path / "out") == _shards(local_cfg.out)
        (tmp_path / "b").mkdir()
        path2 = _config_file(sample_dir, tmp_path / "b")
        r = subprocess.run([*VGDATA, "build", path2], cwd=REPO, capture_output=True, text=True, timeout=600,
                           env=_env(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1"))
        assert r.returncode == 0, r.stderr[-3000:]
        assert "building with --runner local instead" in r.stderr
        assert _shards(tmp_path / "b" / "out") == _shards(local_cfg.out)
        assert json.loads((tmp_path / "b" / "out" / "summary.json").read_text())["rows"]
    finally:
        for b in burners:
            b.kill()
