"""The Prefect `build` flow on the sample: same output as the plain-Python build, retries on
transient errors. One Prefect test harness for the whole session (it starts a local server)."""

import os

import pytest

from pipeline.errors import SourceError, TransientError
from pipeline.outputs.shards import sha256_file

from .conftest import demo_config
from .test_build import shard_paths


def test_is_transient():
    from pipeline.build.runner import is_transient

    assert is_transient(TransientError("nfs hiccup")) and is_transient(TimeoutError())
    assert not is_transient(SourceError("x.json", "bad")) and not is_transient(ValueError())


@pytest.mark.slow
def test_flow_builds_the_sample_like_the_local_runner(prefect_harness, built, sample_dir, tmp_path, monkeypatch):
    import flows.build as fb
    import pipeline.build.runner as R

    calls = {}
    real = R.process_ref

    def flaky(ref, cfg):  # every video fails once with a transient error, then succeeds
        calls[ref.video_id] = calls.get(ref.video_id, 0) + 1
        if calls[ref.video_id] == 1:
            raise TransientError(f"simulated transient failure for {ref.video_id}")
        return real(ref, cfg)

    monkeypatch.setattr(R, "process_ref", flaky)
    # One worker: the videos run in this process, where the patch is (with more, in worker processes).
    cfg = demo_config(sample_dir, tmp_path / "flow", workers=1)
    summary = fb.run_flow(cfg)
    assert calls == {v: 2 for v in ("sav_sample01", "SAMPLE-01", "SAMPLE-02", "ball-1", "cube-1")}
    local_cfg, local_summary = built
    assert summary["rows"] == local_summary["rows"]
    local_shards = {os.path.relpath(p, local_cfg.out): sha256_file(p) for p in shard_paths(local_cfg.out)}
    for out in (cfg.out, _two_workers(sample_dir, tmp_path)):
        assert {os.path.relpath(p, out): sha256_file(p) for p in shard_paths(out)} == local_shards
        assert os.path.exists(os.path.join(out, "build_manifest.json"))


def _two_workers(sample_dir, tmp_path) -> str:
    """The flow with two workers: its tasks' videos run in two worker processes."""
    import flows.build as fb

    cfg = demo_config(sample_dir, tmp_path / "flow2", workers=2)
    fb.run_flow(cfg)
    return cfg.out
