"""Box sources: yield (one bad track must not empty a video), the MOTChallenge dialects and the
single-object folders, each in its release layout, through the real build with GrabCut."""

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.build import format_summary, run_build
from pipeline.quality.audit import audit as audit_build

from .conftest import demo_config
from .synthetic import mot_boxes, paint_boxes, sot_boxes, sot_sequence


def _build(tmp_path, sources, audit: bool = True, **overrides):
    """Build `sources`; with `audit`, `vgdata audit` must then pass on the build (every row checked
    against the boxes and masks it came from)."""
    cfg = demo_config(tmp_path, tmp_path / "out", sources=sources, videos="skip", **overrides)
    summary = run_build(cfg, echo=lambda s: None)
    out = cfg.out
    if audit and sum(summary["rows"].values()):
        report = audit_build(str(out), echo=lambda s: None)
        assert report.ok, (report.violations[:5], report.skipped)
    tables = {}
    for name in ("rejects", "tracks"):
        tables[name] = pq.read_table(os.path.join(out, f"{name}.parquet")).to_pylist()
    return summary, tables, out


def _rows(out, dataset, source):
    folder = os.path.join(out, dataset, source)
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".parquet")) if os.path.isdir(folder) else []
    return [row for p in paths for row in pq.read_table(p).to_pylist()]


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
    # every pedestrian is in tracks.parquet; 9 as unseen (not scored, not dropped)
    assert {t["object_id"]: t["status"] for t in tables["tracks"]} == {"1": "kept", "2": "kept", "3": "kept", "9": "unseen"}
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
    listed = {int(t["object_id"]) for t in tables["tracks"]}
    assert 0 in ids and listed == ids  # track id 0 is a player like any other; every player is listed
    kept = {int(t["object_id"]) for t in tables["tracks"] if t["kept"]}
    assert s["tracks_kept"] == len(kept) >= 0.8 * len(ids)
    assert _check_box_rows(out, "sportsmot", boxes, kept) > 100
    assert {r["category"] for r in _rows(out, "AcademicVideoPoint", "sportsmot")} == {"player"}
    assert {r["expression"] for r in _rows(out, "AcademicVideoTrack", "sportsmot")} == {"player"}


def write_dancetrack(tmp_path):
    """`dancetrack/train/dancetrack0001/` with two dancers; returns (root, boxes)."""
    seq = tmp_path / "dancetrack" / "train" / "dancetrack0001"
    (seq / "gt").mkdir(parents=True)
    boxes = {i: [(1, 10 + i, 12, 40 + i, 60), (2, 60, 8 + i, 90, 50 + i)] for i in range(20)}
    (seq / "gt" / "gt.txt").write_text("".join(f"{i + 1}, {t}, {x0 + 1:.0f}, {y0 + 1:.0f}, {x1 - x0:.0f}, {y1 - y0:.0f}, 1, 1, 1\n"
                                               for i, bs in boxes.items() for t, x0, y0, x1, y1 in bs))
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=dancetrack0001\nimDir=img1\nframeRate=10\nseqLength=20\n"
                                     "imWidth=128\nimHeight=96\nimExt=.jpg\n")
    paint_boxes(str(seq / "img1"), 20, 128, 96, boxes, digits=8)
    return tmp_path / "dancetrack", boxes


def test_dancetrack_reads_eight_digit_frames(tmp_path):
    _, boxes = write_dancetrack(tmp_path)
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
    """As the Kaggle archive unpacks (teamtrack-mot/teamtrack-mot/<sport_view>/<split>/<seq>/),
    seqinfo.ini written by configparser (lower-case keys, ' = '); a sequence without its img1.mp4
    is rejected alone."""
    import av
    import numpy as np

    kaggle = tmp_path / "kaggle"
    seq = kaggle / "teamtrack-mot" / "teamtrack-mot" / "soccer_side" / "train" / "seq01"
    (seq / "gt").mkdir(parents=True)
    (seq / "img1").mkdir()  # empty, as released
    boxes = {i: [(1, 10 + 2 * i, 20, 40 + 2 * i, 70)] for i in range(20)}
    (seq / "gt" / "gt.txt").write_text("".join(f"{i + 1},1,{x0 + 1:.0f},{y0 + 1:.0f},{x1 - x0:.0f},{y1 - y0:.0f},1,1,1\n"
                                               for i, bs in boxes.items() for _, x0, y0, x1, y1 in bs))
    (seq / "seqinfo.ini").write_text("[Sequence]\nname = seq01\nimdir = img1\nframerate = 10.0\nseqlength = 20\n"
                                     "imwidth = 128\nimheight = 96\nimext = .jpg\n\n")
    shutil.copytree(seq, seq.parent / "seq02")  # no img1.mp4 (some sequences ship without it)
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
    summary, tables, out = _build(tmp_path, [{"name": "teamtrack", "root": str(kaggle), "split": "train"}])
    assert summary["sources"]["teamtrack/train"]["tracks_kept"] == 1
    (bad,) = [r for r in tables["rejects"] if r["level"] == "video"]
    assert bad["video_id"] == "soccer_side/seq02" and "img1.mp4" in (bad["file"] or "") + bad["detail"]
    (row,) = _rows(out, "AcademicVideoTrack", "teamtrack")
    assert row["source_video"] == "soccer_side/seq01" and row["expression"] == "player"
    _check_box_rows(out, "teamtrack", boxes, {1})


# -- single-object folders ---------------------------------------------------------------------------

def _check_sot(out, source, boxes, hidden=frozenset(), video=None):
    """Track points inside the frame's box, never on a hidden frame; point rows count 1."""
    n = 0
    for row in _rows(out, "AcademicVideoTrack", source):
        if video is not None and row["source_video"] != video:
            continue
        for fr, src in zip(row["frame_trajectories"], row["source_frames"]):
            for p in fr["points"]:
                if p["occluded"]:
                    continue
                assert src not in hidden and src in boxes, (row["id"], src)
                _, x0, y0, x1, y1 = boxes[src][0]
                x, y = p["point"]
                assert max(0, x0) <= x <= x1 and max(0, y0) <= y <= y1, (row["id"], src, p)
                n += 1
    for row in _rows(out, "AcademicVideoPoint", source):
        assert row["count"] == 1
    return n


def test_real_trackingnet_chunk(shared_real, tmp_path):
    """Real TRAIN_0 anno files (CRLF, %.2f, negative x) beside 0-based unpadded frames."""
    root = tmp_path / "TrackingNet"
    for name in ("-3TIfnTSM6c_2", "a5dffDLeZsI_0"):
        anno = root / "TRAIN_0" / "anno" / f"{name}.txt"
        anno.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_real / "trackingnet" / "devkit_dummy_GT" / f"{name}.txt", anno)
        boxes = sot_boxes(str(anno))
        paint_boxes(str(root / "TRAIN_0" / "frames" / name), len(boxes), 640, 360, boxes, digits=0, start=0, every=15)
    summary, tables, out = _build(tmp_path, [{"name": "trackingnet", "root": str(root), "split": "train"}])
    s = summary["sources"]["trackingnet/train"]
    assert s["videos_ok"] == 2 and s["tracks_kept"] == 2
    rows = _rows(out, "AcademicVideoTrack", "trackingnet")
    assert {r["task"] for r in rows} == {"single_point_track"}  # no label in TrackingNet
    for name in ("-3TIfnTSM6c_2", "a5dffDLeZsI_0"):
        boxes = sot_boxes(str(root / "TRAIN_0" / "anno" / f"{name}.txt"))
        assert _check_sot(out, "trackingnet", boxes, video=name) > 0
    assert not _rows(out, "AcademicVideoPoint", "trackingnet")


def test_real_tnl2k_sequences(shared_real, tmp_path):
    """Real revised TNL2K sequences: the sentence (trailing space dropped), `0,0,0,0` rows absent."""
    root = tmp_path / "TNL2K" / "train"
    truth = {}
    for name in ("Boat_video1-Done", "catNight_video_B04_done"):
        seq = root / name
        seq.mkdir(parents=True)
        for f in ("groundtruth.txt", "language.txt"):
            shutil.copyfile(shared_real / "tnl2k" / "revised_annotations" / name / f, seq / f)
        n = len([ln for ln in (seq / "groundtruth.txt").read_text().splitlines() if ln.strip()])
        truth[name] = sot_boxes(str(seq / "groundtruth.txt")), set(range(n)) - set(sot_boxes(str(seq / "groundtruth.txt")))
        paint_boxes(str(seq / "imgs"), n, 720, 540, truth[name][0], digits=5, every=15)
    summary, tables, out = _build(tmp_path, [{"name": "tnl2k", "root": str(tmp_path / "TNL2K"), "split": "train"}])
    assert summary["sources"]["tnl2k/train"]["videos_ok"] == 2
    sentences = {r["source_video"]: r["expression"] for r in _rows(out, "AcademicVideoTrack", "tnl2k") if r["task"] == "track"}
    assert sentences == {"Boat_video1-Done": "the house on the river bank",
                         "catNight_video_B04_done": "the black cat on the ladder"}
    for name, (boxes, hidden) in truth.items():
        if name == "Boat_video1-Done":
            assert len(hidden) == 113
        rows = [r for r in _rows(out, "AcademicVideoTrack", "tnl2k") if r["source_video"] == name]
        assert any(p["occluded"] for r in rows for fr in r["frame_trajectories"] for p in fr["points"]) == \
            any(f % 15 == 0 for f in hidden)
    for name, (boxes, hidden) in truth.items():
        assert _check_sot(out, "tnl2k", boxes, hidden, video=name) > 0


def test_real_vasttrack_sequence_with_spaces_and_capital_g(shared_real, tmp_path):
    root = tmp_path / "VastTrack"
    seq = root / "Aerial Drones In Flight" / "Aerial Drones In Flight-16"
    seq.mkdir(parents=True)
    shutil.copyfile(shared_real / "vasttrack" / "annos" / "Aerial Drones In Flight-16.txt", seq / "Groundtruth.txt")
    (seq / "nlp.txt").write_text("a drone flying over the field")
    boxes = sot_boxes(str(seq / "Groundtruth.txt"))
    n = len((seq / "Groundtruth.txt").read_text().split())
    paint_boxes(str(seq / "imgs"), n, 1280, 720, boxes, digits=8, every=15)
    summary, tables, out = _build(tmp_path, [{"name": "vasttrack", "root": str(root), "split": "test"}])
    assert summary["sources"]["vasttrack/test"]["videos_ok"] == 1
    tracks = _rows(out, "AcademicVideoTrack", "vasttrack")
    assert {r["source_video"] for r in tracks} == {"Aerial Drones In Flight-16"}
    assert _check_sot(out, "vasttrack", boxes) > 0
    (t,) = tables["tracks"]
    assert t["label"] == "Aerial Drones In Flight"


def test_got10k_meta_info_absence_and_cover(shared_real, tmp_path):
    seq = tmp_path / "GOT10k" / "val" / "GOT-10k_Val_000001"
    boxes = sot_sequence(seq, n=30, frames="", digits=8)
    (tmp_path / "GOT10k" / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    shutil.copyfile(shared_real / "got10k" / "meta_info.quoted_excerpt.ini", seq / "meta_info.ini")
    absent = [1 if 10 <= i < 15 else 0 for i in range(30)]
    cover = [0 if 20 <= i < 25 else 8 for i in range(30)]
    (seq / "absence.label").write_text("\n".join(map(str, absent)) + "\n")
    (seq / "cover.label").write_text("\n".join(map(str, cover)) + "\n")
    summary, tables, out = _build(tmp_path, [{"name": "got10k", "root": str(tmp_path / "GOT10k"), "split": "val"}])
    rows = _rows(out, "AcademicVideoTrack", "got10k")
    assert {r["task"] for r in rows} == {"track", "single_point_track"}
    (track,) = [r for r in rows if r["task"] == "track"]
    assert track["expression"] == "ctenophore"  # object_class of the real meta_info.ini
    hidden = {i for i in range(30) if absent[i] or cover[i] == 0}
    assert _check_sot(out, "got10k", boxes, hidden) > 0
    occluded = {src for fr, src in zip(track["frame_trajectories"], track["source_frames"]) for p in fr["points"] if p["occluded"]}
    assert occluded == {10, 20}  # sampled every 5th frame at 10 fps
    assert not _rows(out, "AcademicVideoPoint", "got10k")
    with pytest.raises(Exception, match="first-frame only"):
        from pipeline.sources import get_converter
        get_converter("got10k").discover(str(tmp_path / "GOT10k"), "test")


def test_webuot_root_preview_is_not_a_frame_and_absent_txt_hides(tmp_path):
    seq = tmp_path / "WebUOT-1M" / "Train" / "video_0001"
    boxes = sot_sequence(seq, n=30, frames="imgs", digits=8, gt="groundtruth_rect.txt")
    from PIL import Image
    Image.new("RGB", (64, 48), (255, 0, 0)).save(seq / "00000001.jpg")  # the preview with the box drawn
    (seq / "absent.txt").write_text("\n".join("1" if 14 <= i < 17 else "0" for i in range(30)) + "\n")
    (seq / "language.txt").write_text("a yellow fish swimming left")
    summary, tables, out = _build(tmp_path, [{"name": "webuot1m", "root": str(tmp_path / "WebUOT-1M"), "split": "train"}])
    (track,) = [r for r in _rows(out, "AcademicVideoTrack", "webuot1m") if r["task"] == "track"]
    assert (track["width"], track["height"]) == (128, 96)  # sized from imgs/, not the 64x48 preview
    assert track["expression"] == "a yellow fish swimming left"
    _check_sot(out, "webuot1m", boxes, hidden={14, 15, 16})
    assert any(p["occluded"] for fr in track["frame_trajectories"] for p in fr["points"])


@pytest.mark.parametrize("source, folder, seq", [("webuot1m", "WebUOT-1M/Test", "WebUOT-1M_Test_000001"),
                                                 ("uw_cot220", "UW-COT220", "UWCOT220_000001")])
def test_sot_release_with_a_video_per_sequence_and_no_frames(tmp_path, source, folder, seq):
    """WebUOT-1M and UW-COT220 release `<seq>/<seq>.mp4` (imgs/ only after Videos2Frames.py) with the
    boxed preview `00000001.jpg` beside it: the video is read, at its own 15 fps."""
    import cv2
    from PIL import Image

    path = tmp_path / folder / seq
    boxes = sot_sequence(tmp_path / "frames", n=30, frames="", digits=8)
    path.mkdir(parents=True)
    os.replace(tmp_path / "frames" / "groundtruth.txt", path / "groundtruth_rect.txt")
    writer = cv2.VideoWriter(str(path / f"{seq}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 15, (128, 96))
    for i in range(30):
        writer.write(cv2.imread(str(tmp_path / "frames" / f"{i + 1:08d}.jpg")))
    writer.release()
    Image.new("RGB", (64, 48), (255, 0, 0)).save(path / "00000001.jpg")
    (path / "language.txt").write_text("a small octopus")
    if source == "webuot1m":
        (path / "absent.txt").write_text("0\n" * 30)
    split = "test"
    summary, tables, out = _build(tmp_path, [{"name": source, "root": str(tmp_path / folder.split("/")[0]), "split": split}])
    assert summary["sources"][f"{source}/{split}"]["videos_ok"] == 1, tables["rejects"]
    (track,) = [r for r in _rows(out, "AcademicVideoTrack", source) if r["task"] == "track"]
    assert track["source_fps"] == 15.0 and (track["width"], track["height"]) == (128, 96)
    assert _check_sot(out, source, boxes) > 0


def test_sot_box_count_that_disagrees_with_the_frames_rejects_only_that_sequence(tmp_path):
    root = tmp_path / "UW-COT220"
    sot_sequence(root / "good", gt="groundtruth_rect.txt", frames="imgs")
    (root / "good" / "language.txt").write_text("a crab")
    sot_sequence(root / "short", gt="groundtruth_rect.txt", frames="imgs")
    (root / "short" / "language.txt").write_text("a seahorse")
    gt = root / "short" / "groundtruth_rect.txt"
    gt.write_text("\r\n".join(gt.read_text().splitlines()[:-2]))
    summary, tables, out = _build(tmp_path, [{"name": "uw_cot220", "root": str(root), "split": "test"}])
    (r,) = [r for r in tables["rejects"] if r["level"] == "video"]
    assert r["video_id"] == "short" and r["file"] == str(gt) and "28 boxes for 30 frames" in r["detail"]
    assert summary["sources"]["uw_cot220/test"]["videos_ok"] == 1


# -- Scalabel (BDD100K) ------------------------------------------------------------------------------

def test_real_bdd100k_video_in_its_release_layout(shared_real, tmp_path):
    """The real val label file: string ids, 0-based frameIndex with 1-based image names, crowd
    boxes, occluded boxes, tracks with gaps."""
    import json

    real = shared_real / "bdd100k" / "box_track_val_b1c66a42-6f7d68ca.json"
    root = tmp_path / "bdd100k"
    labels = root / "labels" / "box_track_20" / "val" / "b1c66a42-6f7d68ca.json"
    labels.parent.mkdir(parents=True)
    shutil.copyfile(real, labels)
    frames = json.loads(real.read_text())
    colour = {tid: i for i, tid in enumerate(sorted({lab["id"] for f in frames for lab in f["labels"]}))}
    boxes = {f["frameIndex"]: [(colour[lab["id"]], lab["box2d"]["x1"], lab["box2d"]["y1"], lab["box2d"]["x2"],
                                lab["box2d"]["y2"]) for lab in f["labels"] if not lab["attributes"]["crowd"]] for f in frames}
    img = root / "images" / "track" / "val" / "b1c66a42-6f7d68ca"
    paint_boxes(str(tmp_path / "painted"), 202, 1280, 720, boxes, digits=7)
    img.mkdir(parents=True)
    for i in range(202):  # the release's names: <video>-0000001.jpg for frameIndex 0
        os.link(tmp_path / "painted" / f"{i + 1:07d}.jpg", img / f"b1c66a42-6f7d68ca-{i + 1:07d}.jpg")
    summary, tables, out = _build(tmp_path, [{"name": "bdd100k", "root": str(root), "split": "val"}])
    s = summary["sources"]["bdd100k/val"]
    assert s["videos_ok"] == 1
    crowd_only = {lab["id"] for f in frames for lab in f["labels"]} - {
        lab["id"] for f in frames for lab in f["labels"] if not lab["attributes"]["crowd"]}
    assert len(crowd_only) == 2
    rejected = {r["object_id"] for r in tables["rejects"] if r["reason"] == "ignore region (crowd)"}
    assert rejected == crowd_only and not rejected & {t["object_id"] for t in tables["tracks"]}
    assert all(t["status"] in ("kept", "dropped", "unseen") for t in tables["tracks"])
    kept = {t["object_id"] for t in tables["tracks"] if t["kept"]}
    scored = [t for t in tables["tracks"] if t["status"] != "unseen"]
    assert len(kept) >= 0.5 * len(scored) > 0 and s["tracks_kept"] == len(kept)
    by_frame = {f["frameIndex"]: {lab["id"]: lab for lab in f["labels"]} for f in frames}
    tracks = _rows(out, "AcademicVideoTrack", "bdd100k")
    assert {r["expression"] for r in tracks} <= {"car", "pedestrian", "motorcycle", "rider", "truck", "bus"}
    n = 0
    for row in tracks:
        for fr, src in zip(row["frame_trajectories"], row["source_frames"]):
            ids_by_int = dict(zip(row["obj_id"], row["anno_id"]))
            for p in fr["points"]:
                lab = by_frame[src][ids_by_int[p["id"]]]
                if p["occluded"]:
                    continue
                assert not lab["attributes"]["occluded"] and not lab["attributes"]["crowd"]
                b = lab["box2d"]
                x, y = p["point"]
                assert b["x1"] - 0.5 <= x <= b["x2"] + 0.5 and b["y1"] - 0.5 <= y <= b["y2"] + 0.5
                n += 1
    assert n > 50
    assert _rows(out, "AcademicVideoPoint", "bdd100k")


# -- MoCA CSV ---------------------------------------------------------------------------------------

def test_real_moca_rows_in_the_release_layout(shared_real, tmp_path):
    """Real MoCA_filtered rows for two sequences, written as the release writes its CSV (nine
    preamble lines before the header), frames in JPEGImages/<sequence>/."""
    import csv

    real = list(csv.reader(open(shared_real / "moca" / "derived" / "motiongrouping_MoCA_filtered_annotations.csv")))
    keep = [r for r in real[1:] if r[1].split("/")[1] in ("crab", "arctic_fox_1")]
    root = tmp_path / "MoCA"
    (root / "Annotations").mkdir(parents=True)
    with open(root / "Annotations" / "annotations.csv", "w", newline="") as f:
        f.write("".join(f"# VIA export preamble line {i}\n" for i in range(9)))
        csv.writer(f).writerows([real[0]] + keep)
    truth = {}
    for seq in ("crab", "arctic_fox_1"):
        rows = [r for r in keep if r[1].split("/")[1] == seq]
        boxes = {}
        for r in rows:
            _, x, y, w, h = json.loads(r[2])
            boxes[int(r[1].split("/")[2][:5])] = [(1, x, y, x + w, y + h)]
        truth[seq] = boxes
        paint_boxes(str(root / "JPEGImages" / seq), len(rows), 1280, 720, boxes, digits=5, start=0)
    summary, tables, out = _build(tmp_path, [{"name": "moca", "root": str(root), "split": "all",
                                              "options": {"frame_fps": 10}}])
    assert summary["sources"]["moca/all"]["videos_ok"] == 2
    tracks = _rows(out, "AcademicVideoTrack", "moca")
    assert {(r["source_video"], r["expression"]) for r in tracks if r["task"] == "track"} == {
        ("crab", "crab"), ("arctic_fox_1", "arctic fox")}
    for seq, boxes in truth.items():
        assert _check_sot(out, "moca", boxes, video=seq) > 0


# -- gluon-cv motion JSON (PersonPath22) ---------------------------------------------------------------

def write_personpath22(tmp_path, implicit: bool = False):
    """Two samples, one with inline entities, one through `sample_file` (or, `implicit`, with no
    entities and no sample_file: its entities only in `annotation/anno_visible_2022/<data_path>.json`,
    as bytedance/ColTrack reads them); returns (root, truth)."""
    root = tmp_path / "personpath22"
    (root / "annotation" / "anno_visible_2022").mkdir(parents=True)
    samples, truth = {}, {}
    for s, vid in enumerate(("uid_vid_00000.mp4", "uid_vid_00001.mp4")):
        boxes = {i: [(1, 10 + i, 20, 40 + i, 70), (2, 70, 10, 95, 60)] for i in range(30)}
        truth[vid] = boxes
        paint_boxes(str(root / "raw_data" / vid), 30, 128, 96, boxes, digits=6)
        entities = [{"time": i * 100, "id": t, "labels": {"person": 1}, "bb": [x0, y0, x1 - x0, y1 - y0], "confidence": 1.0,
                     **({"blob": {"frame_idx": i}} if s == 0 else {})}
                    for i in range(0, 30, 2) for t, x0, y0, x1, y1 in boxes[i]]
        entities.append({"time": 0, "labels": {"scene": "street"}})  # a sample-level entity: no id, no box
        meta = {"fps": 10, "number_of_frames": 30, "resolution": {"width": 128, "height": 96}, "data_path": vid}
        if s == 0:
            samples[vid] = {"metadata": meta, "entities": entities}
        else:
            (root / "annotation" / "anno_visible_2022" / f"{vid}.json").write_text(json.dumps({"metadata": meta, "entities": entities}))
            samples[vid] = {"metadata": meta} if implicit else {"metadata": meta, "sample_file": f"{vid}.json"}
    (root / "annotation" / "anno_visible_2022.json").write_text(json.dumps({"metadata": {}, "samples": samples}))
    (root / "annotation" / "splits.json").write_text(json.dumps({"train": list(samples), "test": []}))
    return root, truth


@pytest.mark.parametrize("implicit", [False, True])
def test_personpath22_in_the_gluoncv_layout(tmp_path, implicit):
    """Key frames every 2nd frame at 10 fps (5 fps), entity frames from blob.frame_idx or from time;
    a sample's entities inline, through sample_file, or only in the side folder."""
    root, truth = write_personpath22(tmp_path, implicit)
    summary, tables, out = _build(tmp_path, [{"name": "personpath22", "root": str(root), "split": "train"}])
    s = summary["sources"]["personpath22/train"]
    assert s["videos_ok"] == 2 and s["tracks_kept"] == 4
    points = _rows(out, "AcademicVideoPoint", "personpath22")
    assert sorted((r["video_name"], r["count"], r["category"]) for r in points) == [
        ("uid_vid_00000.mp4", 2, "person"), ("uid_vid_00001.mp4", 2, "person")]
    for vid, boxes in truth.items():
        tracks = [r for r in _rows(out, "AcademicVideoTrack", "personpath22") if r["source_video"] == vid]
        assert tracks and all(src % 2 == 0 for r in tracks for src in r["source_frames"])  # key frames only
    _check_box_rows(out, "personpath22", truth["uid_vid_00000.mp4"], {1, 2})


# -- COCO tracking JSON (SeaDronesSee) ---------------------------------------------------------------

def write_seadronessee(tmp_path):
    """One video of 20 images numbered from frame 715, two tracks, an "ignored" track and an
    annotation without track_id; returns (root, boxes)."""
    root = tmp_path / "lake_constance_v2021_tracking"
    (root / "annotations").mkdir(parents=True)
    boxes = {i: [(1, 10 + i, 20, 40 + i, 60), (2, 70, 30, 100, 70)] for i in range(20)}
    paint_boxes(str(tmp_path / "painted"), 20, 128, 96, boxes, digits=6)
    (root / "images" / "train").mkdir(parents=True)
    images, annotations = [], []
    for i in range(20):
        image_id = 400 + i
        os.link(tmp_path / "painted" / f"{i + 1:06d}.jpg", root / "images" / "train" / f"{image_id}.png")
        images.append({"id": image_id, "file_name": f"{image_id}.png", "height": 96, "width": 128,
                       "source": {"drone": "mavic", "folder_name": "DJI_0057", "video": "DJI_0057.MP4", "frame_no": 715 + i},
                       "video_id": 0, "frame_index": 715 + i})
        for t, x0, y0, x1, y1 in boxes[i]:
            annotations.append({"id": len(annotations), "image_id": image_id, "bbox": [x0, y0, x1 - x0, y1 - y0],
                                "area": (x1 - x0) * (y1 - y0), "category_id": t, "video_id": 0, "track_id": t})
        annotations.append({"id": len(annotations), "image_id": image_id, "bbox": [5, 80, 10, 10], "category_id": 0,
                            "video_id": 0, "track_id": 9})
    annotations.append({"id": len(annotations), "image_id": 400, "bbox": [1, 1, 5, 5], "category_id": 1, "video_id": 0})
    # a second, smaller box of track 1 on image 405 (some files repeat a track on an image)
    annotations.append({"id": len(annotations), "image_id": 405, "bbox": [16, 21, 4, 4], "category_id": 1,
                        "video_id": 0, "track_id": 1})
    (root / "annotations" / "instances_train_objects_in_water.json").write_text(json.dumps({
        "images": images, "annotations": annotations,
        "videos": [{"id": 0, "height": 96, "width": 128, "name:": "/data/input/recordings/mavic/DJI_0057.MP4"}],
        "categories": [{"id": 0, "name": "ignored"}, {"id": 1, "name": "swimmer"}, {"id": 2, "name": "boat"}]}))
    return root, boxes


def test_seadronessee_coco_tracking_json(tmp_path):
    """Images carry the source video's frame_index (715, 716, ...); the video record's key is "name:";
    an "ignored" category and an annotation without track_id never become tracks."""
    root, boxes = write_seadronessee(tmp_path)
    summary, tables, out = _build(tmp_path, [{"name": "seadronessee", "root": str(root), "split": "train"}])
    assert summary["sources"]["seadronessee/train"]["tracks_kept"] == 2
    reasons = {(r["object_id"], r["reason"]) for r in tables["rejects"]}
    assert ("9", "ignore region (ignored)") in reasons and (None, "annotation without track_id") in reasons
    assert ("1", "two boxes of one track on one image") in reasons  # the larger box kept (checked below)
    points = {r["category"]: r["count"] for r in _rows(out, "AcademicVideoPoint", "seadronessee")}
    assert points == {"swimmer": 1, "boat": 1}
    (row,) = [r for r in _rows(out, "AcademicVideoTrack", "seadronessee") if r["expression"] == "swimmer"]
    assert row["source_video"] == "DJI_0057" and row["source_frames"][0] == 0
    _check_box_rows(out, "seadronessee", boxes, {1, 2})


# -- bad input in the new families: one clear reject naming the file, the rest converts ----------------

def test_sot_malformed_line_and_corrupt_jpeg_reject_only_their_sequence(tmp_path):
    root = tmp_path / "TNL2K"
    for name in ("good", "badline", "badjpeg"):
        sot_sequence(root / name, frames="imgs")
        (root / name / "language.txt").write_text(f"the {name} box ")
    gt = root / "badline" / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    lines[6] = "12,abc,30,40"
    gt.write_text("\n".join(lines))
    (root / "badjpeg" / "imgs" / "000001.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    summary, tables, out = _build(tmp_path, [{"name": "tnl2k", "root": str(root), "split": "train"}])
    videos = {r["video_id"]: r for r in tables["rejects"] if r["level"] == "video"}
    assert set(videos) == {"badline", "badjpeg"}
    assert videos["badline"]["file"] == str(gt) and "line 7" in videos["badline"]["detail"]
    assert videos["badjpeg"]["file"] == str(root / "badjpeg" / "imgs" / "000001.jpg")
    assert summary["sources"]["tnl2k/train"]["videos_ok"] == 1


def test_teamtrack_unreadable_mp4_is_a_reject_naming_it(tmp_path):
    seq = tmp_path / "teamtrack-mot" / "soccer_side" / "train" / "seq02"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("1,1,10,10,20,20,1,1,1\n2,1,11,10,20,20,1,1,1\n")
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=seq02\nimDir=img1\nframeRate=2\nseqLength=2\n"
                                     "imWidth=64\nimHeight=48\nimExt=.jpg\n")
    (seq / "img1.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    summary, tables, out = _build(tmp_path, [{"name": "teamtrack", "root": str(tmp_path / "teamtrack-mot"), "split": "train"}])
    (r,) = [r for r in tables["rejects"] if r["level"] == "video"]
    assert r["file"] == str(seq / "img1.mp4") and "cannot be decoded" in r["detail"]



# -- the same families through SAM 2 (tiny model, random weights: true code path, junk masks) ----------

@pytest.mark.parametrize("source", ["dancetrack", "uw_cot220", "seadronessee", "personpath22"])
def test_box_families_through_sam2_record_every_track_score(source, tmp_path):
    """Random weights give masks that disagree with the boxes: tracks are scored, the dropped ones
    are rejects carrying their mean IoU, and nothing fails."""
    pytest.importorskip("sam2")
    if source == "dancetrack":
        root, _ = write_dancetrack(tmp_path)
        spec = {"name": "dancetrack", "root": str(root), "split": "train"}
    elif source == "uw_cot220":
        sot_sequence(tmp_path / "UW-COT220" / "crab", gt="groundtruth_rect.txt", frames="imgs", n=60)
        (tmp_path / "UW-COT220" / "crab" / "language.txt").write_text("a crab")
        spec = {"name": "uw_cot220", "root": str(tmp_path / "UW-COT220"), "split": "test"}
    elif source == "seadronessee":
        root, _ = write_seadronessee(tmp_path)
        spec = {"name": "seadronessee", "root": str(root), "split": "train"}
    else:
        root, _ = write_personpath22(tmp_path)
        spec = {"name": "personpath22", "root": str(root), "split": "train"}
    segmenter = {"name": "sam2", "model_config": "configs/sam2.1/sam2.1_hiera_t.yaml", "image_size": 256,
                 "allow_random_weights": True, "device": "cpu", "max_reprompt_rounds": 1}
    summary, tables, out = _build(tmp_path, [spec], segmenter=segmenter)
    scored = [t for t in tables["tracks"] if t["status"] != "unseen"]
    assert scored and all(t["mean_iou"] is not None and t["n_frames"] > 0 for t in scored)
    for t in scored:
        if t["status"] == "kept":
            assert t["mean_iou"] >= 0.5
        else:
            (r,) = [r for r in tables["rejects"] if (r["video_id"], r["object_id"], r["stage"]) ==
                    (t["video_id"], t["object_id"], "filter")]
            assert r["reason"] == "mean mask/box IoU below threshold" and f"{t['mean_iou']:.3f}" in r["detail"]
    s = summary["sources"][f"{spec['name']}/{spec['split']}"]
    assert s["tracks_kept"] + s["tracks_dropped"] == len(scored)


def test_bft_annotations_mot_beside_frame_folders(tmp_path):
    root = tmp_path / "BFT"
    boxes = {i: [(1, 10 + i, 12, 30 + i, 30), (2, 60, 40, 80, 60 - i // 2)] for i in range(20)}
    (root / "annotations_mot" / "train").mkdir(parents=True)
    (root / "annotations_mot" / "train" / "flock01.txt").write_text(
        "".join(f"{i + 1},{t},{x0 + 1:.0f},{y0 + 1:.0f},{x1 - x0:.0f},{y1 - y0:.0f},1,1,1\n"
                for i, bs in boxes.items() for t, x0, y0, x1, y1 in bs))
    paint_boxes(str(root / "train" / "flock01"), 20, 128, 96, boxes, digits=6)
    summary, tables, out = _build(tmp_path, [{"name": "bft", "root": str(root), "split": "train",
                                              "options": {"frame_fps": 10}}])
    assert summary["sources"]["bft/train"]["tracks_kept"] == 2
    (row,) = _rows(out, "AcademicVideoPoint", "bft")
    assert row["category"] == "bird" and row["count"] == 2
    _check_box_rows(out, "bft", boxes, {1, 2})


def test_bft_reads_frame_id_and_box_only(tmp_path):
    """BFT's columns after the box are unknown (MOTIP reads the first six): any content there, a
    class of 0 or a visibility of -1, leaves the birds as they are."""
    root = tmp_path / "BFT"
    boxes = {i: [(1, 10 + i, 12, 30 + i, 30)] for i in range(12)}
    (root / "annotations_mot" / "val").mkdir(parents=True)
    (root / "annotations_mot" / "val" / "flock02.txt").write_text(
        "".join(f"{i + 1},{t},{x0 + 1:.0f},{y0 + 1:.0f},{x1 - x0:.0f},{y1 - y0:.0f},0,-1,-1,-1\n"
                for i, bs in boxes.items() for t, x0, y0, x1, y1 in bs))
    paint_boxes(str(root / "val" / "flock02"), 12, 128, 96, boxes, digits=6)
    summary, _, out = _build(tmp_path, [{"name": "bft", "root": str(root), "split": "val", "options": {"frame_fps": 10}}])
    assert summary["sources"]["bft/val"]["tracks_kept"] == 1
    _check_box_rows(out, "bft", boxes, {1})


# -- AnimalTrack ---------------------------------------------------------------------------------------

def write_animaltrack(tmp_path, seq: str = "penguin_3", split: str = "test", rows: str = "release", frames: str = "imDir"):
    """An AnimalTrack sequence with the real seqinfo.ini's structure (`[Sequence]`, name, imDir=<seq>,
    frameRate=30, seqLength, imWidth, imHeight, imExt=.jpg, LF), 1-based frames and ids, boxes past
    the image's left and bottom edges, rows as the release's 9 columns (`release`) or as
    eelnowes231/TrackEval's rewrite `frame,id,x,y,w,h,1,-1,-1,-1` (`trackeval`). Frames in the imDir
    folder (6 digits), in img1/ (8 digits), or a `<seq>.mp4` in the split folder."""
    root = tmp_path / "AnimalTrack"
    folder = root / split / seq
    (folder / "gt").mkdir(parents=True)
    n = 40
    boxes = {i: [(1, -6 + i, 20, 24 + i, 60), (2, 70, 50, 100, 96 + 8)] for i in range(n)}
    (folder / "seqinfo.ini").write_text(f"[Sequence]\nname={seq}\nimDir={seq}\nframeRate=30\nseqLength={n}\n"
                                        "imWidth=128\nimHeight=96\nimExt=.jpg\n")
    tail = "1,1,1" if rows == "release" else "1,-1,-1,-1"
    (folder / "gt" / "gt.txt").write_text(
        "".join(f"{i + 1},{t},{x0 + 1:.0f},{y0 + 1:.0f},{x1 - x0:.0f},{y1 - y0:.0f},{tail}\n"
                for i, bs in boxes.items() for t, x0, y0, x1, y1 in bs))
    if frames == "imDir":
        paint_boxes(str(folder / seq), n, 128, 96, boxes, digits=6, every=15)
    elif frames == "img1":
        paint_boxes(str(folder / "img1"), n, 128, 96, boxes, digits=8, every=15)
    else:
        import cv2
        paint_boxes(str(tmp_path / "frames"), n, 128, 96, boxes, digits=6)
        writer = cv2.VideoWriter(str(root / split / f"{seq}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30, (128, 96))
        for i in range(n):
            writer.write(cv2.imread(str(tmp_path / "frames" / f"{i + 1:06d}.jpg")))
        writer.release()
    return root, boxes


@pytest.mark.parametrize("rows, frames", [("release", "imDir"), ("trackeval", "img1"), ("release", "video")])
def test_animaltrack_sequences_in_the_release_layout(tmp_path, rows, frames):
    root, boxes = write_animaltrack(tmp_path, rows=rows, frames=frames)
    summary, tables, out = _build(tmp_path, [{"name": "animaltrack", "root": str(root), "split": "test"}])
    s = summary["sources"]["animaltrack/test"]
    assert s["videos_ok"] == 1 and s["tracks_kept"] == 2, tables["rejects"]
    (point,) = _rows(out, "AcademicVideoPoint", "animaltrack")
    assert point["category"] == "penguin" and point["count"] == 2 and point["video_name"] == "penguin_3"
    (track,) = [r for r in _rows(out, "AcademicVideoTrack", "animaltrack") if r["task"] == "track"]
    assert track["expression"] == "penguin" and track["source_fps"] == 30.0
    _check_box_rows(out, "animaltrack", boxes, {1, 2})


def test_animaltrack_sequence_names_must_name_a_class(tmp_path):
    root, _ = write_animaltrack(tmp_path, seq="walrus_1")
    summary, tables, _ = _build(tmp_path, [{"name": "animaltrack", "root": str(root), "split": "test"}])
    assert summary["sources"]["animaltrack/test"]["videos_ok"] == 0
    (r,) = [r for r in tables["rejects"] if r["level"] == "video"]
    assert "walrus_1" in r["detail"] and "penguin" in r["detail"]


# -- APTv2 (COCO keypoints with video_id and track_id) ---------------------------------------------------

def test_aptv2_clips_from_coco_keypoint_files(tmp_path):
    """Two 15-frame clips in annotations_hard/train_annotations.json: Windows back-slashes in
    file_names, images listed out of frame order, two species; the frame rate must be given."""
    root = tmp_path / "APTv2"
    (root / "annotations_hard").mkdir(parents=True)
    images, annotations, truth = [], [], {}
    for v, (species, cat) in enumerate((("horse", 3), ("zebra", 7)), 1):
        boxes = {i: [(1, 10 + 2 * i, 20, 40 + 2 * i, 60), (2, 70, 30, 100, 70 - i)] for i in range(15)}
        truth[f"video_{v}"] = boxes
        paint_boxes(str(root / "clips" / species / f"clip{v:04d}"), 15, 128, 96, boxes, digits=6, start=0)
        for i in reversed(range(15)):  # listed last frame first: order comes from the names
            image_id = 100 * v + (15 - i)
            images.append({"id": image_id, "file_name": f"clips\\{species}\\clip{v:04d}\\{i:06d}.jpg",
                           "width": 128, "height": 96, "video_id": v})
            for t, x0, y0, x1, y1 in boxes[i]:
                annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": cat, "track_id": t,
                                    "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0,
                                    "keypoints": [0] * 51, "num_keypoints": 0})
    (root / "annotations_hard" / "train_annotations.json").write_text(json.dumps(
        {"images": images, "annotations": annotations,
         "categories": [{"id": 3, "name": "horse", "supercategory": "animal"}, {"id": 7, "name": "zebra", "supercategory": "animal"}]}))
    with pytest.raises(Exception, match="frame_fps"):
        _build(tmp_path / "nofps", [{"name": "aptv2", "root": str(root), "split": "train"}])
    summary, tables, out = _build(tmp_path, [{"name": "aptv2", "root": str(root), "split": "train",
                                              "options": {"frame_fps": 5}}])
    assert summary["sources"]["aptv2/train"]["videos_ok"] == 2 and summary["sources"]["aptv2/train"]["tracks_kept"] == 4
    points = {(r["video_name"], r["category"]): r["count"] for r in _rows(out, "AcademicVideoPoint", "aptv2")}
    assert points == {("video_1", "horse"): 2, ("video_2", "zebra"): 2}
    for vid, boxes in truth.items():
        tracks = [r for r in _rows(out, "AcademicVideoTrack", "aptv2") if r["source_video"] == vid]
        assert tracks and all(r["source_fps"] == 5.0 for r in tracks)
    assert truth["video_1"] == truth["video_2"]  # the same boxes in both clips: one check covers both
    _check_box_rows(out, "aptv2", truth["video_1"], {1, 2})


# -- TNLLT, LaTOT, UAVDT -----------------------------------------------------------------------------

def write_tnllt(tmp_path, flags):
    """`TNLLT/frames/JE_Bike_001/{imgs/00001.png, groundtruth.txt, absent_label.txt, language.txt}`
    as Molmo2 and the authors' reader find it; `flags` one 0/1 per frame."""
    seq = tmp_path / "TNLLT" / "frames" / "JE_Bike_001"
    boxes = {i: [(1, 10 + i, 20, 40 + i, 60)] for i in range(30)}
    seq.mkdir(parents=True)
    (seq / "groundtruth.txt").write_text("".join(f"{x0:.0f},{y0:.0f},{x1 - x0:.0f},{y1 - y0:.0f}\n"
                                                 for i in range(30) for _, x0, y0, x1, y1 in boxes[i]))
    (seq / "absent_label.txt").write_text("\n".join(map(str, flags)) + "\n")
    (seq / "language.txt").write_text("the man riding a bike on the left \n")
    (seq / "attributes.txt").write_text("0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n")
    paint_boxes(str(seq / "imgs"), 30, 128, 96, boxes, digits=5, ext=".png")
    return tmp_path / "TNLLT", boxes


@pytest.mark.parametrize("meaning", ["visible", "absent"])
def test_tnllt_absent_label_read_as_the_authors_toolkit_reads_it(tmp_path, meaning):
    """absent_label.txt: 1 = visible by default (the toolkit scores only frames flagged 1); the
    option absent_label=absent reads it the other way, and the hidden frames swap."""
    flags = [0 if 14 <= i <= 16 else 1 for i in range(30)]
    root, boxes = write_tnllt(tmp_path, flags)
    summary, tables, out = _build(tmp_path, [{"name": "tnllt", "root": str(root), "split": "train",
                                              "options": {"absent_label": meaning}}])
    assert summary["sources"]["tnllt/train"]["videos_ok"] == 1, tables["rejects"]
    hidden = {i for i, f in enumerate(flags) if (f == 1) == (meaning == "absent")}
    assert _check_sot(out, "tnllt", boxes, hidden) > 0
    (track,) = [r for r in _rows(out, "AcademicVideoTrack", "tnllt") if r["task"] == "track"]
    assert track["expression"] == "the man riding a bike on the left"
    occluded = {src for fr, src in zip(track["frame_trajectories"], track["source_frames"]) for p in fr["points"] if p["occluded"]}
    assert occluded == ({15} if meaning == "visible" else {0})  # 2 fps of 30: frames 0 and 15


def test_tnllt_short_flags_are_a_reject_and_a_bad_absent_label_option_stops_the_build(tmp_path):
    root, _ = write_tnllt(tmp_path, [1] * 28)
    summary, tables, out = _build(tmp_path, [{"name": "tnllt", "root": str(root), "split": "train"}])
    (r,) = [r for r in tables["rejects"] if r["level"] == "video"]
    assert r["file"].endswith("absent_label.txt") and "expected 30 0/1 flags" in r["detail"]
    from pipeline.errors import ConfigError, SourceError
    from pipeline.sources import get_converter
    shutil.copytree(root / "frames" / "JE_Bike_001", root / "frames" / "JE_BatMan_video_01")  # one of the authors' 50 test
    conv = get_converter("tnllt")
    assert [[r.video_id for r in conv.discover(str(root), split)] for split in ("train", "test", "all")] == \
        [["JE_Bike_001"], ["JE_BatMan_video_01"], ["JE_BatMan_video_01", "JE_Bike_001"]]
    with pytest.raises(SourceError, match="TNLLT split 'val': use train, test or all"):
        conv.discover(str(root), "val")
    with pytest.raises(ConfigError, match="option 'absent_label' must be visible or absent, got 'yes'"):
        _build(tmp_path / "again", [{"name": "tnllt", "root": str(root), "split": "train", "options": {"absent_label": "yes"}}])


def write_latot(tmp_path):
    """`LaTOT/<seq>/{img/01110.jpg ..., <seq>.txt}` (the box file named after the sequence, frames
    numbered from 01110 as the real boat2 is), a train.txt of `<seq>.txt` entries beside them."""
    base = tmp_path / "LaTOT"
    truth = {}
    for name, sep, start in (("boat2", "\t", 1110), ("car15", " ", 1), ("person3", ",", 1)):
        seq = base / name
        boxes = {i: [(1, 10 + i + 0.25, 20.5, 40 + i + 0.25, 60.5)] for i in range(60) if not 15 <= i <= 16}
        seq.mkdir(parents=True)
        lines = []
        for i in range(60):
            b = boxes.get(i)
            x, y, w, h = (b[0][1], b[0][2], b[0][3] - b[0][1], b[0][4] - b[0][2]) if b else (0, 0, 0, 0)
            lines.append(sep.join(f"{v:.2f}" for v in (x, y, w, h)))
        (seq / f"{name}.txt").write_text("\n".join(lines) + "\n")
        paint_boxes(str(seq / "img"), 60, 128, 96, boxes, digits=5, start=start)
        truth[name] = boxes
    (base / "train.txt").write_text("boat2.txt\ncar15.txt\n")
    return tmp_path, truth


def test_latot_box_file_named_after_the_sequence_and_its_split_list(tmp_path):
    """Tab- and space-separated boxes, frames from 01110.jpg, a zero box hidden, the label the name
    without its number, single-point tracks only; person3, not in train.txt, is not read."""
    root, truth = write_latot(tmp_path)
    summary, tables, out = _build(tmp_path, [{"name": "latot", "root": str(root), "split": "train"}])
    assert summary["sources"]["latot/train"]["videos_ok"] == 2, tables["rejects"]
    assert {t["video_id"]: t["label"] for t in tables["tracks"]} == {"boat2": "boat", "car15": "car"}
    rows = _rows(out, "AcademicVideoTrack", "latot")
    assert {r["task"] for r in rows} == {"single_point_track"}
    for name in ("boat2", "car15"):
        assert _check_sot(out, "latot", truth[name], hidden={15, 16}, video=name) > 0
        (row,) = [r for r in rows if r["source_video"] == name]
        assert [p["occluded"] for fr in row["frame_trajectories"] for p in fr["points"]] == [False, True, False, False]
    assert not _rows(out, "AcademicVideoPoint", "latot")
    from pipeline.sources import get_converter
    (root / "dataset-split").mkdir()
    (root / "dataset-split" / "test.txt").write_text("person3")  # as TSN's LaTOT sample lists its test split
    assert [r.video_id for r in get_converter("latot").discover(str(root), "test")] == ["person3"]


def write_uavdt(tmp_path, n=60):
    """`UAV-benchmark-M/<seq>/img000001.jpg` and the toolkit's `UAV-benchmark-MOTD_v1.0/GT/
    <seq>_gt_whole.txt` for a training sequence (M0101) and a test one (M0203): a car, a truck
    labelled bus on a few frames, a car under large occlusion (2) on frames 15-29 and one half out of
    view (out-of-view 2) on frames 30-44."""
    root = tmp_path / "UAVDT"
    gt_dir = root / "UAV-benchmark-MOTD_v1.0" / "GT"
    gt_dir.mkdir(parents=True)
    truth = {}
    for seq in ("M0101", "M0203"):
        boxes, lines = {}, []
        for i in range(n):
            for t, x0, y0 in ((1, 5 + i / 4, 10), (2, 50, 5 + i / 4), (3, 90, 50), (4, 20, 60)):
                oov = 2 if t == 4 and 30 <= i < 45 else 1
                occ = 2 if t == 3 and 15 <= i < 30 else 1
                cat = 1 if t != 2 else (3 if i < 5 else 2)
                lines.append(f"{i + 1},{t},{x0:.0f},{y0:.0f},24,20,{oov},{occ},{cat}")
                boxes.setdefault(i, []).append((t, round(x0), y0, round(x0) + 24, y0 + 20))
        (gt_dir / f"{seq}_gt_whole.txt").write_text("\n".join(lines) + "\n")
        (gt_dir / f"{seq}_gt_ignore.txt").write_text("1,-1,0,0,10,10,-1,-1,-1\n")
        paint_boxes(str(root / "UAV-benchmark-M" / seq), n, 128, 96, boxes, every=15, prefix="img")
        truth[seq] = boxes
    return root, truth


def test_uavdt_toolkit_layout_flags_categories_and_splits(tmp_path):
    root, truth = write_uavdt(tmp_path)
    summary, tables, out = _build(tmp_path, [{"name": "uavdt", "root": str(root), "split": "train"}])
    assert summary["sources"]["uavdt/train"]["videos_ok"] == 1, tables["rejects"]
    tracks = _rows(out, "AcademicVideoTrack", "uavdt")
    assert {r["source_video"] for r in tracks} == {"M0101"}  # M0203 is one of the toolkit's test sequences
    kept = {int(t["object_id"]) for t in tables["tracks"] if t["kept"]}
    assert kept == {1, 2, 3, 4}
    assert {(int(t["object_id"]), t["label"]) for t in tables["tracks"]} == {(1, "car"), (2, "truck"), (3, "car"), (4, "car")}
    (change,) = [r for r in tables["rejects"] if r["reason"] == "track changes category"]
    assert change["object_id"] == "2" and "truck (the most frequent) kept" in change["detail"]
    occluded = {(a, src) for r in tracks for fr, src in zip(r["frame_trajectories"], r["source_frames"])
                for a, p in ((p["id"], p) for p in fr["points"]) if p["occluded"]}
    assert occluded == {(3, 15), (4, 30)}  # sampled every 15th frame at 2 fps of 30
    points = [p for r in tracks for fr in r["frame_trajectories"] for p in fr["points"] if not p["occluded"]]
    assert points
    kept_boxes = truth["M0101"]
    for r in tracks:
        for fr, src in zip(r["frame_trajectories"], r["source_frames"]):
            by_track = {b[0]: b for b in kept_boxes[src]}
            for p in fr["points"]:
                if not p["occluded"]:
                    _, x0, y0, x1, y1 = by_track[p["id"]]
                    assert x0 - 0.5 <= p["point"][0] <= x1 + 0.5 and y0 - 0.5 <= p["point"][1] <= y1 + 0.5
    # Ignore regions hold vehicles nobody boxed: no count (or pointing) questions, track rows only.
    assert not _rows(out, "AcademicVideoPoint", "uavdt")
    assert {r["expression"] for r in tracks if r["task"] == "track"} == {"car", "truck"}
    gt = root / "UAV-benchmark-MOTD_v1.0" / "GT" / "M0203_gt_whole.txt"
    gt.unlink()  # a half-copied toolkit: the sequence is a rejected video naming the missing file
    summary, tables, _ = _build(tmp_path / "test", [{"name": "uavdt", "root": str(root), "split": "test"}], audit=False)
    (r,) = [r for r in tables["rejects"] if r["level"] == "video"]
    assert r["video_id"] == "M0203" and r["file"] == str(gt) and "file is missing" in r["detail"]
