"""Box sources: yield (one bad track must not empty a video), the MOTChallenge dialects and the
single-object folders, each in its release layout, through the real build with GrabCut."""

import os
import shutil

import pyarrow.parquet as pq

from pipeline.build import format_summary, run_build

from .conftest import demo_config


def _build(tmp_path, sources, **overrides):
    cfg = demo_config(tmp_path, tmp_path / "out", sources=sources, videos="skip", **overrides)
    summary = run_build(cfg, echo=lambda s: None)
    out = cfg.out
    tables = {}
    for name in ("rejects", "tracks"):
        tables[name] = pq.read_table(os.path.join(out, f"{name}.parquet")).to_pylist()
    return summary, tables, out


def _rows(out, dataset, source):
    path = os.path.join(out, dataset, source, "train-00000-of-00001.parquet")
    return pq.read_table(path).to_pylist() if os.path.exists(path) else []


def test_a_pedestrian_never_on_a_sampled_frame_does_not_empty_the_sequence(sample_dir, tmp_path):
    """MOT20-01's case: pedestrians visible only between sampled frames are in no answer, so they
    are neither scored nor a reason to drop the label's rows."""
    root = tmp_path / "mot"
    shutil.copytree(sample_dir / "mot" / "train" / "SAMPLE-01", root / "train" / "SAMPLE-01")
    with open(root / "train" / "SAMPLE-01" / "gt" / "gt.txt", "a") as f:
        # 10 fps sampled at 2 fps: frames 1, 6, 11, ... are sampled; 2-4 are not
        f.write("".join(f"{fr},9,100,100,20,40,1,1,1\n" for fr in (2, 3, 4)))
    summary, tables, out = _build(tmp_path, [{"name": "mot", "root": str(root)}])
    s = summary["sources"]["mot/train"]
    assert s["objects_unseen"] == 1 and s["tracks_dropped"] == 0 and s["tracks_kept"] == 3
    assert ("9", "not visible on a sampled frame") in {(r["object_id"], r["reason"]) for r in tables["rejects"]}
    assert "9" not in {t["object_id"] for t in tables["tracks"]}
    (point,) = _rows(out, "AcademicVideoPoint", "mot")
    (track,) = _rows(out, "AcademicVideoTrack", "mot")
    assert point["count"] == 3 and track["anno_id"] == ["1", "2", "3"]
    text = format_summary(summary)
    assert "(1 never visible on a sampled frame)" in text and "objects kept 3/3 scored" in text
    assert "rows per video 2..2" in text
