"""The whole pipeline on the bundled sample, without Prefect (the flow has its own test)."""

import json
import os
import shutil

import pyarrow.parquet as pq
import pytest

from pipeline.build import run_build
from pipeline.outputs.schemas import hf_features
from pipeline.outputs.shards import sha256_file
from pipeline.sample.data import load_truth
from pipeline.stages import masks as M
from pipeline.stages import molmo_text as T
from pipeline.stages import points as P

from .conftest import demo_config


def shard_paths(out):
    found = []
    for dataset in ("AcademicVideoPoint", "AcademicVideoTrack", "AcademicVideoGround"):
        for root, _, files in os.walk(os.path.join(out, dataset)):
            found += [os.path.join(root, f) for f in files if f.endswith(".parquet")]
    return sorted(found)


def test_layout_and_counts(built):
    cfg, summary = built
    rel = [os.path.relpath(p, cfg.out) for p in shard_paths(cfg.out)]
    assert rel == [
        "AcademicVideoGround/lasot/train-00000-of-00001.parquet",
        "AcademicVideoGround/mot/train-00000-of-00001.parquet",
        "AcademicVideoPoint/lasot/train-00000-of-00001.parquet",
        "AcademicVideoPoint/mot/train-00000-of-00001.parquet",
        "AcademicVideoTrack/lasot/train-00000-of-00001.parquet",
        "AcademicVideoTrack/mot/train-00000-of-00001.parquet",
        "AcademicVideoTrack/sav/train-00000-of-00001.parquet",
    ]
    s = summary["sources"]
    assert s["sav/train"] == {"videos": 1, "videos_ok": 1, "objects": 3, "objects_unseen": 0, "tracks_kept": 3,
                              "tracks_dropped": 0, "rows_per_video": {"min": 3, "median": 3, "max": 3},
                              "point_rows": 0, "track_rows": 3, "ground_rows": 0, "videos_written": 1,
                              "cached_videos": 0}
    assert s["mot/train"]["tracks_kept"] == 4 and s["mot/train"]["tracks_dropped"] == 1
    assert s["mot/train"]["point_rows"] == 1 and s["mot/train"]["track_rows"] == 1
    assert s["mot/train"]["videos_ok"] == 1  # SAMPLE-02 lost its only label's rows to the track filter
    # LaSOT: a sentence track row and a single_point_track row per sequence, as Molmo2 trains SOT sets
    assert s["lasot/train"]["point_rows"] == 2 and s["lasot/train"]["track_rows"] == 4
    # one grounding row per track row (SA-V gives single_point_track rows only)
    assert [s[k]["ground_rows"] for k in ("lasot/train", "mot/train", "sav/train")] == [2, 1, 0]
    tasks = [r["task"] for r in pq.read_table(os.path.join(cfg.out, "AcademicVideoTrack/lasot/train-00000-of-00001.parquet")).to_pylist()]
    assert sorted(tasks) == ["single_point_track", "single_point_track", "track", "track"]


def test_every_row_names_a_video_that_exists_at_the_row_rate(built):
    import decord

    cfg, _ = built
    manifest = json.load(open(os.path.join(cfg.out, "build_manifest.json")))
    listed = {v["path"]: v for v in manifest["videos"]}
    for path in shard_paths(cfg.out):
        for row in pq.read_table(path).to_pylist():
            rel = row["video_path"]
            assert rel in listed, rel
            full = os.path.join(cfg.out, rel)
            assert sha256_file(full) == listed[rel]["sha256"] and os.path.getsize(full) == listed[rel]["bytes"]
            vr = decord.VideoReader(full)
            assert vr.get_avg_fps() == 2.0
            if "frame_trajectories" in row:  # Molmo2: <split>/videos/<video>.mp4 at the row's fps
                assert rel == f"AcademicVideoTrack/{row['source']}/train/videos/{row['video']}.mp4"
                assert row["fps"] % row["sampling_fps"] == 0 and len(vr) == row["n_frames"]
                assert (vr[0].shape[1], vr[0].shape[0]) == (row["width"], row["height"])
            else:  # Molmo2: <source>/<split>/videos-2fps/<video_name>.mp4
                assert rel == f"AcademicVideoPoint/{row['source']}/train/videos-2fps/{row['video_name']}.mp4"
                assert len(vr) / 2.0 == row["video_duration"]


@pytest.mark.parametrize("dataset", ["AcademicVideoPoint", "AcademicVideoTrack", "AcademicVideoGround"])
def test_every_shard_loads_with_datasets_and_matches_schema(built, dataset, tmp_path):
    from datasets import load_dataset

    cfg, _ = built
    files = [p for p in shard_paths(cfg.out) if f"/{dataset}/" in p]
    for path in files:
        ds = load_dataset("parquet", data_files={"train": path}, split="train", cache_dir=str(tmp_path))
        assert ds.features == hf_features(dataset)
        assert len(ds) == pq.ParquetFile(path).metadata.num_rows > 0


def test_manifest_records_config_code_inputs_and_shards(built):
    cfg, summary = built
    manifest = json.load(open(os.path.join(cfg.out, "build_manifest.json")))
    assert manifest["config"]["segmenter"]["name"] == "grabcut" and manifest["config"]["sampling_fps"] == 2
    assert manifest["code"]["vgdata"] and "numpy" in manifest["code"]["packages"]
    for shard in manifest["shards"]:
        path = os.path.join(cfg.out, shard["path"])
        assert sha256_file(path) == shard["sha256"]
        assert pq.ParquetFile(path).metadata.num_rows == shard["rows"]
    inputs = {i["path"]: i for i in manifest["inputs"]}
    gt = [p for p in inputs if p.endswith("SAMPLE-01/gt/gt.txt")][0]
    assert inputs[gt]["sha256"] == sha256_file(gt) and inputs[gt]["bytes"] == os.path.getsize(gt)
    frames = [i for i in manifest["inputs"] if i["kind"] == "frames"]
    assert {os.path.basename(os.path.dirname(i["path"])) for i in frames} >= {"SAMPLE-01", "ball-1"}
    assert all(i["files"] > 0 and i["listing_sha256"] for i in frames)
    assert manifest["summary"]["rows"] == summary["rows"]
    assert manifest["videos"] and all(v["sha256"] == sha256_file(os.path.join(cfg.out, v["path"])) for v in manifest["videos"])


def test_the_build_remembers_its_files_hashes_so_checking_it_reads_none_again(built, sample_dir, tmp_path,
                                                                               monkeypatch):
    """Every video and shard the build wrote has its sha256 in OUT/.work/hashes.json under its
    current size and mtime: checking the build (export, publish) reads none of them, a file changed
    since is read again and caught, and a rebuild leaves one entry per listed file."""
    from pipeline.outputs import manifest as MF
    from pipeline.quality.files import check_build

    cfg = demo_config(sample_dir, tmp_path / "out")
    run_build(cfg, echo=lambda s: None)
    manifest = json.load(open(os.path.join(cfg.out, "build_manifest.json")))
    assert all("mtime_ns" not in v for v in manifest["videos"])  # the manifest's entries are as before
    read = []
    monkeypatch.setattr(MF, "sha256_file", lambda path: read.append(path) or sha256_file(path))
    assert check_build(cfg.out, manifest) == [] and read == []
    video = os.path.join(cfg.out, manifest["videos"][0]["path"])
    with open(video, "r+b") as f:  # one byte changed in place: same size, new mtime
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 1]))
    changed = [p for p in (os.path.join(cfg.out, v["path"]) for v in manifest["videos"]) if os.path.samefile(p, video)]
    assert check_build(cfg.out, manifest) == [f"{p}: sha256 differs from the manifest's" for p in changed]
    assert read == changed  # the video and its links (one file at several paths), and nothing else

    run_build(demo_config(sample_dir, tmp_path / "out", seed=1), echo=lambda s: None)  # a rebuild
    manifest = json.load(open(os.path.join(cfg.out, "build_manifest.json")))
    listed = {os.path.abspath(os.path.join(cfg.out, e["path"])) for e in manifest["shards"] + manifest["videos"]}
    cached = [k.rsplit("|", 2)[0] for k in json.load(open(os.path.join(cfg.out, ".work", "hashes.json")))]
    outputs = [p for p in cached if any(f"{os.sep}{d}{os.sep}" in p for d in ("AcademicVideoPoint", "AcademicVideoTrack",
                                                                              "AcademicVideoGround"))]
    assert sorted(outputs) == sorted(listed)


def test_rejects_table_names_every_drop(built):
    cfg, _ = built
    rejects = pq.read_table(os.path.join(cfg.out, "rejects.parquet")).to_pylist()
    reasons = {(r["video_id"], r["object_id"], r["reason"]) for r in rejects}
    assert ("SAMPLE-01", "4", "distractor class 7 (static person)") in reasons
    assert ("SAMPLE-01", "5", "ignore rows (conf 0)") in reasons
    assert ("SAMPLE-02", "2", "mean mask/box IoU below threshold") in reasons
    assert sum(r["reason"] == "query has a dropped track" and r["video_id"] == "SAMPLE-02" for r in rejects) == 2
    # a video that gives no rows is never counted as a good video: it says why
    (no_rows,) = [r for r in rejects if r["video_id"] == "SAMPLE-02" and r["level"] == "video"]
    assert no_rows["reason"] == "no rows" and "query has a dropped track" in no_rows["detail"]
    tracks = pq.read_table(os.path.join(cfg.out, "tracks.parquet")).to_pylist()
    dropped = [t for t in tracks if not t["kept"]]
    assert [(t["video_id"], t["object_id"]) for t in dropped] == [("SAMPLE-02", "2")]
    assert dropped[0]["mean_iou"] < 0.5
    assert all(t["mean_iou"] >= 0.5 for t in tracks if t["kept"] and t["mean_iou"] is not None)


def _truth_mask(sample_dir, source, video, frame, obj):
    truth = load_truth(str(sample_dir), source, video)
    return M.decode(truth[frame][obj])


def test_points_inside_true_masks_and_text_agrees(built, sample_dir):
    cfg, _ = built
    n = 0
    for path in shard_paths(cfg.out):
        rows = pq.read_table(path).to_pylist()
        for row in rows:
            if "frame_trajectories" in row:
                (parsed,) = T.parse(row["answer"])
                source = row["source"]
                assert len(row["source_frames"]) == len(row["frame_trajectories"])
                for fr, source_frame in zip(row["frame_trajectories"], row["source_frames"]):
                    for pt in fr["points"]:
                        if pt["occluded"]:
                            assert pt["point"] is None
                            continue
                        obj = "1" if source == "lasot" else str(pt["id"])
                        mask = _truth_mask(sample_dir, source, row["source_video"], source_frame, obj)
                        assert P.inside(mask, *pt["point"])
                        n += 1
                visible_times = sorted({fr["time"] for fr in row["frame_trajectories"]
                                        if any(not p["occluded"] for p in fr["points"])})
                if row["task"] == "track":
                    assert [f.time for f in parsed.frames] == visible_times
            else:
                fps = 10 if row["source"] == "mot" else 30
                assert row["count"] == sum(len(p) for p in row["points"])
                assert row["answer"].endswith(f"shows a total of {row['count']}.")
                for t, pts in zip(row["timestamps"], row["points"]):
                    assert (t * 2) == int(t * 2)  # on the 0.5 s grid
                    masks = [_truth_mask(sample_dir, row["source"], row["video_name"], round(t * fps), o)
                             for o in load_truth(str(sample_dir), row["source"], row["video_name"])[round(t * fps)]]
                    for p in pts:
                        x, y = p["x"] / 100 * 320, p["y"] / 100 * 240
                        assert any(P.inside(m, x, y) for m in masks)
                        n += 1
    assert n > 40


def test_rebuild_is_deterministic_and_resumes(built, sample_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VGDATA_PROGRESS", "verbose")  # a line per video, saying which were cached
    cfg, _ = built
    cfg2 = demo_config(sample_dir, tmp_path / "again")
    run_build(cfg2, echo=lambda s: None)
    first = {os.path.relpath(p, cfg.out): sha256_file(p) for p in shard_paths(cfg.out)}
    second = {os.path.relpath(p, cfg2.out): sha256_file(p) for p in shard_paths(cfg2.out)}
    assert first == second
    videos = lambda out: {v["path"]: v["sha256"] for v in json.load(open(os.path.join(out, "build_manifest.json")))["videos"]}
    assert videos(cfg.out) == videos(cfg2.out)  # H.264 encodes are byte-identical too
    lines = []
    summary = run_build(cfg2, echo=lines.append)  # same out: every video comes from OUT/.work
    assert all(s["cached_videos"] == s["videos"] for s in summary["sources"].values())
    assert sum("(cached)" in line for line in lines) == 5
    assert {os.path.relpath(p, cfg2.out): sha256_file(p) for p in shard_paths(cfg2.out)} == first


def test_bad_video_is_rejected_with_its_file_and_the_build_goes_on(sample_dir, tmp_path):
    root = tmp_path / "sample"
    shutil.copytree(sample_dir, root)
    bad_gt = root / "mot" / "train" / "SAMPLE-01" / "gt" / "gt.txt"
    bad_gt.write_text("1,1,10,10\n")
    os.remove(root / "lasot" / "cube" / "cube-1" / "img" / "00000031.jpg")
    broken_frame = root / "mot" / "train" / "SAMPLE-02" / "img1" / "000006.jpg"  # sampled at t = 0.5 s
    broken_frame.write_bytes(b"not a jpeg")
    cfg = demo_config(root, tmp_path / "out")
    summary = run_build(cfg, echo=lambda s: None)
    rejects = pq.read_table(os.path.join(cfg.out, "rejects.parquet")).to_pylist()
    videos = {r["video_id"]: r for r in rejects if r["level"] == "video"}
    assert videos["SAMPLE-01"]["file"] == str(bad_gt) and "4 columns" in videos["SAMPLE-01"]["detail"]
    assert videos["cube-1"]["file"].endswith("groundtruth.txt") and "60 boxes for 59 frames" in videos["cube-1"]["detail"]
    assert videos["SAMPLE-02"]["file"] == str(broken_frame) and "cannot be decoded" in videos["SAMPLE-02"]["detail"]
    assert summary["sources"]["mot/train"]["videos_ok"] == 0
    assert summary["sources"]["sav/train"]["track_rows"] == 3  # the rest of the build went on
    assert summary["sources"]["lasot/train"]["videos_ok"] == 1


def test_seed_changes_points_but_not_counts(built, sample_dir, tmp_path):
    cfg, _ = built
    other = demo_config(sample_dir, tmp_path / "seed1", seed=1)
    run_build(other, echo=lambda s: None)
    a = pq.read_table(os.path.join(cfg.out, "AcademicVideoPoint/mot/train-00000-of-00001.parquet")).to_pylist()
    b = pq.read_table(os.path.join(other.out, "AcademicVideoPoint/mot/train-00000-of-00001.parquet")).to_pylist()
    assert [r["count"] for r in a] == [r["count"] for r in b]
    assert [r["timestamps"] for r in a] == [r["timestamps"] for r in b]
    assert [r["points"] for r in a] != [r["points"] for r in b]
