"""Worker processes (issue: a build uses every core): each video of a build with N workers runs in
one of N spawned processes, each with its libraries at one thread and (SAM 2 on CUDA) its own GPU; a
video that kills its worker is rejected alone; the outputs are byte-identical to one worker's; a
killed build leaves no worker behind."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time

import psutil
import pytest
import yaml

from pipeline.build.workers import WorkerPool, usable_cores, worker_count
from tests import worker_probe
from tests.conftest import REPO, demo_config
from tests.test_kill import _outputs


def test_workers_are_processes_at_one_thread_each_and_pinned_to_their_gpus():
    pool = WorkerPool(2, gpus=["3", "5"])
    try:
        results: list[dict] = []
        threads = [threading.Thread(target=lambda i=i: results.extend(pool.run(worker_probe.describe, [i], None, None)))
                   for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        pool.close()
    assert sorted(r["ref"] for r in results) == list(range(6))
    pids = {r["pid"] for r in results}
    assert len(pids) == 2 and os.getpid() not in pids and {r["ppid"] for r in results} == {os.getpid()}
    assert {(r["cv2"], r["arrow"], r["omp"]) for r in results} == {(1, 1, "1")}
    assert all(r["blas"] in ([], [1]) for r in results)  # every BLAS/OpenMP pool loaded is at one thread
    # pyarrow does not load pandas (0.3-0.4 s, ~50 MB a worker) to check rows; pandas stays importable
    assert {(r["pandas_by_arrow"], r["pandas"]) for r in results} == {(False, "pandas")}
    gpu_of = {r["pid"]: r["gpu"] for r in results}
    assert sorted(gpu_of.values()) == ["3", "5"]  # one GPU per worker, the same for all its videos
    assert all(gpu_of[r["pid"]] == r["gpu"] for r in results)


def test_a_video_that_kills_its_worker_is_rejected_alone_and_the_pool_goes_on():
    pool = WorkerPool(2)
    lost = []

    def on_lost(ref, error):
        lost.append(ref)
        return f"lost {ref}: {error}"

    try:
        other: list = []
        t = threading.Thread(target=lambda: other.extend(pool.run(worker_probe.crash_on, ["c", "d"], None, on_lost)))
        t.start()
        got = pool.run(worker_probe.crash_on, ["a", "crash", "b"], None, on_lost)
        t.join()
        after = pool.run(worker_probe.crash_on, ["e"], None, on_lost)
    finally:
        pool.close()
    assert got[0] == "done a" and got[2] == "done b" and got[1].startswith("lost crash: its worker process died")
    assert other == ["done c", "done d"]  # a batch beside it, broken with the pool, is run again whole
    assert after == ["done e"] and lost == ["crash"] and pool.restarts == 1


def test_workers_auto_is_the_usable_cores(sample_dir, tmp_path):
    from pipeline.config import config_from_dict

    cfg = demo_config(sample_dir, tmp_path / "o", workers="auto")
    assert cfg.workers == "auto" and worker_count(cfg) == usable_cores() == len(os.sched_getaffinity(0))
    assert worker_count(demo_config(sample_dir, tmp_path / "o", workers=3)) == 3
    assert config_from_dict({**cfg.to_dict()}).workers == "auto"


@pytest.mark.slow
def test_two_workers_run_in_two_processes_and_write_what_one_writes(built, sample_dir, tmp_path):
    """`vgdata build --runner local --workers 2` as a user runs it: two worker processes under the
    build while it runs, none after, and every shard, video and table byte-identical to one worker's."""
    out = tmp_path / "out"
    cfg = {"out": str(out), "segmenter": {"name": "grabcut"}, "workers": 2,
           "sources": [{"name": s, "root": str(sample_dir / s)} for s in ("sav", "mot", "lasot")]}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "build", str(path), "--runner", "local"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    build, seen = psutil.Process(proc.pid), set()
    while proc.poll() is None:
        try:
            seen |= {c.pid for c in build.children() if "python" in c.name().lower()}
        except psutil.Error:
            pass
        time.sleep(0.02)
    assert proc.returncode == 0, proc.stderr.read()[-3000:]
    assert len(seen) >= 2  # the workers (the spawn machinery may add its resource tracker)
    # none outlives the build: multiprocessing's resource tracker exits when it reads the build's end
    # of its pipe closing, a few milliseconds after the build (the workers exit before the outputs)
    left = []
    for pid in seen:
        with contextlib.suppress(psutil.NoSuchProcess):
            left.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(left, timeout=10)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    local_cfg, _ = built
    assert _outputs(out) == _outputs(local_cfg.out)
    # summary.json says where the time went: each phase's wall and CPU seconds, and the workers
    timing = json.loads((out / "summary.json").read_text())["timing"]
    assert list(timing) == ["prepare", "videos", "outputs", "card", "workers"]
    assert all(timing[p]["wall"] >= 0 and timing[p]["cpu"] >= 0 for p in ("prepare", "videos", "outputs", "card"))
    assert timing["card"]["wall"] <= timing["outputs"]["wall"]  # the card is part of the outputs
    assert timing["workers"]["count"] == 2 and timing["workers"]["processes"] and timing["workers"]["restarts"] == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_video_process_keeps_freed_memory_for_the_next_frame():
    """glibc takes both settings (mallopt answers 0 to a value it refuses), in a process of its own
    so that pytest's heap is left as it is."""
    code = "from pipeline.build import workers as W; print(W.keep_freed_memory())"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True"]
