"""What Molmo2's loaders need from our rows, on the inputs that broke them: a 70 s video, 25 fps and
a capitalised label (docs/MOLMO2.md cites the Molmo2 code behind each assertion)."""

import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline.build import run_build
from pipeline.config import config_from_dict
from pipeline.stages import molmo_text as T

from .synthetic import lasot_sequence, mot_sequence


@pytest.fixture(scope="session")
def hard_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard")
    mot_sequence(str(root / "mot"), "LONG-25FPS", 25, 70)
    mot_sequence(str(root / "mot"), "SHORT-25FPS", 25, 9.5)
    lasot_sequence(str(root / "lasot"), "ball", "ball-7", 70, "Red Ball rolling past a Wall")
    cfg = config_from_dict({"out": str(root / "out"), "segmenter": "grabcut",
                            "sources": [{"name": n, "root": str(root / n)} for n in ("mot", "lasot")]})
    run_build(cfg, echo=lambda s: None)
    return cfg.out


def rows(out, dataset):
    found = []
    for source in ("mot", "lasot"):
        path = os.path.join(out, dataset, source, "train-00000-of-00001.parquet")
        found += pq.read_table(path).to_pylist()
    return found


def test_track_rows_are_never_dropped_and_frames_follow_molmo2s_time_mapping(hard_build):
    import decord

    tracks = rows(hard_build, "AcademicVideoTrack")
    assert {r["source_video"] for r in tracks} == {"LONG-25FPS", "SHORT-25FPS", "ball-7"}
    for r in tracks:
        # TrackingDataset.load drops rows where fps % sampling_fps != 0 (MOT20/SportsMOT are 25 fps)
        assert r["fps"] % r["sampling_fps"] == 0 and r["source_fps"] == (25.0 if r["source"] == "mot" else 30.0)
        # Molmo2's parser maps t to frame round(t * fps): 1.5 s is frame 3 of the row's 2 fps video
        assert all(f["frame"] == round(f["time"] * r["fps"]) for f in r["frame_trajectories"])
        # the sampler shows 2 fps for at most 128 frames: clips never exceed 64 s
        assert r["n_frames"] <= 128 and max(f["time"] for f in r["frame_trajectories"]) < 64
        vr = decord.VideoReader(os.path.join(hard_build, r["video_path"]))
        assert len(vr) == r["n_frames"] and vr.get_avg_fps() == r["fps"]
    long_rows = [r for r in tracks if r["source_video"] == "LONG-25FPS"]
    assert [(r["start_frame"], r["end_frame"], r["clip_start_time"]) for r in long_rows] == [(0, 127, 0.0), (128, 139, 64.0)]
    # 1.5 s at 25 fps falls between frames 37 and 38: the row samples 37, and its video shows 37 there
    first = long_rows[0]
    i = [f["time"] for f in first["frame_trajectories"]].index(1.5)
    assert first["source_frames"][i] == 37 and first["frame_trajectories"][i]["frame"] == 3


def test_every_answer_frame_is_a_frame_the_model_sees(hard_build):
    for r in rows(hard_build, "AcademicVideoTrack"):
        (parsed,) = T.parse(r["answer"])
        times = {f["time"] for f in r["frame_trajectories"]}
        assert {f.time for f in parsed.frames} <= times
        if r["task"] == "track":  # every visible sampled frame is in the answer
            visible = {f["time"] for f in r["frame_trajectories"] if any(not p["occluded"] for p in f["points"])}
            assert {f.time for f in parsed.frames} == visible


def test_single_object_sequences_also_give_single_point_track_rows(hard_build):
    ball = [r for r in rows(hard_build, "AcademicVideoTrack") if r["source_video"] == "ball-7"]
    assert sorted((r["task"], r["start_frame"]) for r in ball) == [
        ("single_point_track", 0), ("single_point_track", 128), ("track", 0), ("track", 128)]
    for r in ball:
        if r["task"] == "single_point_track":
            query, answer = T.parse(r["question"])[0], T.parse(r["answer"])[0]
            assert answer.frames[0].time > query.frames[0].time
        else:
            assert r["expression"] == "Red Ball rolling past a Wall"  # track labels keep their case, as Molmo2


def test_point_rows_use_clip_relative_times_and_lower_case_labels(hard_build):
    points = [r for r in rows(hard_build, "AcademicVideoPoint") if r["video_name"] == "ball-7"]
    assert [(r["clip_start_time"], r["clip_end_time"]) for r in points] == [(0.0, 63.0), (63.0, 70.0)]
    for r in points:
        (parsed,) = T.parse(r["answer"])
        assert [f.time for f in parsed.frames] == [t - r["clip_start_time"] for t in sorted(r["timestamps"])]
        assert parsed.label == "red ball rolling past a wall" and "Red" not in r["question"]
        assert r["category"] == "Red Ball rolling past a Wall"
        assert r["clip_end_time"] - r["clip_start_time"] <= 63 and r["clip_end_time"] <= r["video_duration"]
        assert min(r["timestamps"]) >= r["clip_start_time"] and max(r["timestamps"]) <= r["clip_end_time"]


def test_manifest_lists_every_video_the_rows_name(hard_build):
    m = json.load(open(os.path.join(hard_build, "build_manifest.json")))
    listed = {v["path"] for v in m["videos"]}
    named = {r["video_path"] for ds in ("AcademicVideoPoint", "AcademicVideoTrack") for r in rows(hard_build, ds)}
    assert named == listed
    assert all(os.path.getsize(os.path.join(hard_build, v["path"])) == v["bytes"] for v in m["videos"])
