"""Box sources: yield (one bad track must not empty a video), the MOTChallenge dialects and the
single-object folders, each in its release layout, through the real build with GrabCut."""

import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.build import format_summary, run_build

from .conftest import demo_config
from .synthetic import mot_boxes, paint_boxes


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


# -- MOTChallenge dialects -------------------------------------------------------------------------

def _check_box_rows(out, source, boxes, kept_ids):
    """Every visible track point inside its own object's box on that frame; point rows' points each
    inside a box of the query's objects; counts = objects of the query seen in the window."""
    tracks = _rows(out, "AcademicVideoTrack", source)
    assert tracks
    n = 0
    for row in tracks:
        for fr, src in zip(row["frame_trajectories"], row["source_frames"]):
            by_track = {b[0]: b for b in boxes.get(src, [])}
            for p in fr["points"]:
                if p["occluded"]:
                    continue
                _, x0, y0, x1, y1 = by_track[p["id"]]
                x, y = p["point"]
                assert max(0, x0) - 0.5 <= x <= x1 + 0.5 and max(0, y0) - 0.5 <= y <= y1 + 0.5, (row["id"], p)
                n += 1
        assert {int(a) for a in row["anno_id"]} <= kept_ids
    points = _rows(out, "AcademicVideoPoint", source)
    assert points
    for row in points:
        assert row["count"] == sum(len(p) for p in row["points"])
        assert all(row["clip_start_time"] <= t < row["clip_end_time"] for t in row["timestamps"])
    return n


@pytest.fixture
def shared_real():
    root = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"
    if not root.is_dir():
        pytest.skip("../shared/fixtures/real is not present")
    return root


def test_real_sportsmot_sequence_in_its_release_layout(shared_real, tmp_path):
    """The real SportsMOT train ground truth (ids from 0, ", " separators, no final newline in
    seqinfo.ini) under `dataset/train/<seq>/`, frames painted from its boxes."""
    real = shared_real / "sportsmot" / "sportsmot-train" / "v_ApPxnw_Jffg_c001"
    seq = tmp_path / "dataset" / "train" / real.name
    (seq / "gt").mkdir(parents=True)
    shutil.copyfile(real / "gt" / "gt.txt", seq / "gt" / "gt.txt")
    shutil.copyfile(real / "seqinfo.ini", seq / "seqinfo.ini")
    boxes = mot_boxes(str(seq / "gt" / "gt.txt"))
    paint_boxes(str(seq / "img1"), 235, 1280, 720, boxes)
    summary, tables, out = _build(tmp_path, [{"name": "sportsmot", "root": str(tmp_path / "dataset"), "split": "train"}])
    s = summary["sources"]["sportsmot/train"]
    ids = {b[0] for bs in boxes.values() for b in bs}
    scored = {int(t["object_id"]) for t in tables["tracks"]}
    assert 0 in ids and scored == ids  # track id 0 is a player like any other
    kept = {int(t["object_id"]) for t in tables["tracks"] if t["kept"]}
    assert s["tracks_kept"] == len(kept) >= 0.8 * len(ids)
    assert _check_box_rows(out, "sportsmot", boxes, kept) > 100
    assert {r["category"] for r in _rows(out, "AcademicVideoPoint", "sportsmot")} == {"player"}
    assert {r["expression"] for r in _rows(out, "AcademicVideoTrack", "sportsmot")} == {"player"}


def test_dancetrack_reads_eight_digit_frames(tmp_path):
    seq = tmp_path / "dancetrack" / "train" / "dancetrack0001"
    (seq / "gt").mkdir(parents=True)
    boxes = {i: [(1, 10 + i, 12, 40 + i, 60), (2, 60, 8 + i, 90, 50 + i)] for i in range(20)}
    (seq / "gt" / "gt.txt").write_text("".join(f"{i + 1}, {t}, {x0 + 1:.0f}, {y0 + 1:.0f}, {x1 - x0:.0f}, {y1 - y0:.0f}, 1, 1, 1\n"
                                               for i, bs in boxes.items() for t, x0, y0, x1, y1 in bs))
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=dancetrack0001\nimDir=img1\nframeRate=10\nseqLength=20\n"
                                     "imWidth=128\nimHeight=96\nimExt=.jpg\n")
    paint_boxes(str(seq / "img1"), 20, 128, 96, boxes, digits=8)
    summary, tables, out = _build(tmp_path, [{"name": "dancetrack", "root": str(tmp_path / "dancetrack"), "split": "train"}])
    assert summary["sources"]["dancetrack/train"]["tracks_kept"] == 2
    (row,) = _rows(out, "AcademicVideoPoint", "dancetrack")
    assert row["category"] == "dancer" and row["count"] == 2
    _check_box_rows(out, "dancetrack", boxes, {1, 2})


def test_soccernet_roles_from_gameinfo_are_the_labels(tmp_path):
    seq = tmp_path / "tracking" / "train" / "SNMOT-060"
    (seq / "gt").mkdir(parents=True)
    boxes = {i: [(1, 5 + i, 10, 30 + i, 60), (2, 50, 10, 75, 60), (3, 90, 20 + i, 110, 50 + i), (4, 60, 70, 66, 76)]
             for i in range(20)}
    (seq / "gt" / "gt.txt").write_text("".join(f"{i + 1},{t},{x0 + 1:.0f},{y0 + 1:.0f},{x1 - x0:.0f},{y1 - y0:.0f},1,-1,-1,-1\n"
                                               for i, bs in boxes.items() for t, x0, y0, x1, y1 in bs))
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=SNMOT-060\nimDir=img1\nframeRate=10\nseqLength=20\n"
                                     "imWidth=128\nimHeight=96\nimExt=.jpg\n")
    (seq / "gameinfo.ini").write_text("[Sequence]\nname=SNMOT-060\nnum_tracklets=3\n"
                                      "trackletID_1= player team left;10\ntrackletID_2= goalkeepers team left;y\n"
                                      "trackletID_3= referee;main\n")
    paint_boxes(str(seq / "img1"), 20, 128, 96, boxes)
    summary, tables, out = _build(tmp_path, [{"name": "soccernet", "root": str(tmp_path / "tracking"), "split": "train"}])
    points = {r["category"]: r["count"] for r in _rows(out, "AcademicVideoPoint", "soccernet")}
    assert points == {"player team left": 1, "goalkeeper team left": 1, "referee": 1}
    assert ("4", "no role in gameinfo.ini") in {(r["object_id"], r["reason"]) for r in tables["rejects"]}
    _check_box_rows(out, "soccernet", boxes, {1, 2, 3})


def test_teamtrack_decodes_its_mp4(tmp_path):
    import av
    import numpy as np

    seq = tmp_path / "teamtrack-mot" / "soccer_side" / "train" / "seq01"
    (seq / "gt").mkdir(parents=True)
    (seq / "img1").mkdir()  # empty, as released
    boxes = {i: [(1, 10 + 2 * i, 20, 40 + 2 * i, 70)] for i in range(20)}
    (seq / "gt" / "gt.txt").write_text("".join(f"{i + 1},1,{x0 + 1:.0f},{y0 + 1:.0f},{x1 - x0:.0f},{y1 - y0:.0f},1,1,1\n"
                                               for i, bs in boxes.items() for _, x0, y0, x1, y1 in bs))
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=seq01\nimDir=img1\nframeRate=10\nseqLength=20\n"
                                     "imWidth=128\nimHeight=96\nimExt=.jpg\n")
    paint_boxes(str(tmp_path / "painted"), 20, 128, 96, boxes)
    from PIL import Image

    with av.open(str(seq / "img1.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i in range(20):
            img = np.asarray(Image.open(tmp_path / "painted" / f"{i + 1:06d}.jpg"))
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    summary, tables, out = _build(tmp_path, [{"name": "teamtrack", "root": str(tmp_path / "teamtrack-mot"), "split": "train"}])
    assert summary["sources"]["teamtrack/train"]["tracks_kept"] == 1
    (row,) = _rows(out, "AcademicVideoTrack", "teamtrack")
    assert row["source_video"] == "soccer_side/seq01" and row["expression"] == "player"
    _check_box_rows(out, "teamtrack", boxes, {1})
