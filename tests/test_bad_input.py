"""Malformed inputs never stop a build: each becomes a rejects row naming the file (and line), the
other videos of the source are built, and summary, rejects and manifest are always written.

Each case corrupts one video of a copy of the bundled sample (SA-V gets a second video so that it
has one to lose) and runs a real local build of that source."""

import json
import math
import os
import shutil

import pyarrow.parquet as pq
import pytest

from pipeline.build import run_build

from .conftest import demo_config

GOOD = {"sav": "sav_sample02", "mot": "SAMPLE-01", "lasot": "cube-1"}


@pytest.fixture
def root(sample_dir, tmp_path):
    root = tmp_path / "sample"
    shutil.copytree(sample_dir, root)
    folder = root / "sav" / "sav_train" / "sav_000"
    shutil.copy(folder / "sav_sample01_manual.json", folder / "sav_sample02_manual.json")
    shutil.copy(folder / "sav_sample01.mp4", folder / "sav_sample02.mp4")
    return root


def build(root, source, tmp_path, **overrides):
    cfg = demo_config(root, tmp_path / "out", sources=[{"name": source, "root": str(root / source)}], **overrides)
    summary = run_build(cfg, echo=lambda s: None)
    for name in ("summary.json", "rejects.parquet", "build_manifest.json", "tracks.parquet", "masks.parquet"):
        assert os.path.exists(os.path.join(cfg.out, name)), name
    rejects = pq.read_table(os.path.join(cfg.out, "rejects.parquet")).to_pylist()
    stats = summary["sources"][f"{source}/train"]
    good = [r for r in rejects if r["video_id"] == GOOD[source] and r["level"] == "video"]
    assert not good, good  # the other video of the source was built
    assert stats["videos_ok"] >= 1
    return summary, rejects


def video_reject(rejects, video_id):
    (r,) = [r for r in rejects if r["video_id"] == video_id and r["level"] == "video"]
    return r


def sav_json(root):
    return root / "sav" / "sav_train" / "sav_000" / "sav_sample01_manual.json"


def edit_sav(root, fn):
    path = sav_json(root)
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))  # json writes NaN / Infinity literals, as Python's json reads them
    return path


SAV_CASES = {
    "non-utf8": (lambda p: p.write_bytes(b'{"video_height": "\xff\xfe"}'), "not valid utf-8"),
    "truncated json": (lambda p: p.write_text('{"masklet": [[{"size": ['), "not valid JSON (line 1"),
    "top level list": (lambda p: p.write_text("[1, 2]"), "top level is a JSON list"),
    "folder": (lambda p: (p.unlink(), p.mkdir()), "is a folder"),
}
SAV_EDITS = {
    "height is text": (lambda d: d.update(video_height="tall"), "video height is 'tall', not a number"),
    "nan frame count": (lambda d: d.update(video_frame_count=math.nan), "video_frame_count is nan, not a finite"),
    "infinite duration": (lambda d: d.update(video_duration=math.inf), "video_duration is inf, not a finite"),
    "billion frames": (lambda d: d.update(video_frame_count=1e9, video_duration=1e9 / 24), "above the maximum"),
    "60000 px": (lambda d: d.update(video_height=60000.0, video_width=60000.0), "above the maximum 16384"),
    "masklet is a dict": (lambda d: d.update(masklet={"a": 1}), "must be JSON lists"),
    "masklet ids text": (lambda d: d.update(masklet_id=["a", "b", "c"]), "masklet_id[0] is 'a'"),
    "garbage rle": (lambda d: d["masklet"][3][1].update(counts="\x7f\x7f~~"), "object 1, frame 12: RLE counts string has characters"),
    # run lengths are checked where a frame is decoded: masklet[3] is frame 12, sampled at 0.5 s
    "rle too short": (lambda d: d["masklet"][3][0].update(counts="0"),
                      "object 0, frame 12: mask run lengths cover 0 pixels, not 240 x 320"),
    "rle is a number": (lambda d: d["masklet"][0].__setitem__(2, 7), "masklet[0][2]: mask is not a COCO RLE"),
    "huge rle": (lambda d: d["masklet"][0][0].update(size=[60000, 60000]), "masklet[0][0]: mask height is 60000"),
}


@pytest.mark.parametrize("case", sorted(SAV_CASES))
def test_sav_unreadable_files(root, tmp_path, case):
    corrupt, expected = SAV_CASES[case]
    corrupt(sav_json(root))
    _, rejects = build(root, "sav", tmp_path)
    r = video_reject(rejects, "sav_sample01")
    assert r["file"] == str(sav_json(root)) and expected in r["detail"], r


@pytest.mark.parametrize("case", sorted(SAV_EDITS))
def test_sav_malformed_content(root, tmp_path, case):
    edit, expected = SAV_EDITS[case]
    path = edit_sav(root, edit)
    _, rejects = build(root, "sav", tmp_path)
    r = video_reject(rejects, "sav_sample01")
    assert r["file"] == str(path) and expected in r["detail"], r


# -- MOTChallenge ---------------------------------------------------------------------------------

def seq(root, name="SAMPLE-02"):
    return root / "mot" / "train" / name


def set_seqinfo(root, **values):
    ini = seq(root) / "seqinfo.ini"
    lines = [l for l in ini.read_text().splitlines() if l.split("=")[0] not in values]
    ini.write_text("\n".join(lines + [f"{k}={v}" for k, v in values.items()]) + "\n")
    return ini


MOT_SEQINFO = {
    "nan rate": ({"frameRate": "nan"}, "frameRate is 'nan', not a finite number"),
    "zero rate": ({"frameRate": "0"}, "frameRate is '0', not a positive number"),
    "billion frames": ({"seqLength": "1000000000"}, "seqLength is '1000000000', above the maximum"),
    "fractional length": ({"seqLength": "39.5"}, "not a whole number"),
    "huge image": ({"imWidth": "60000"}, "imWidth/imHeight: image width is '60000', above the maximum"),
    "imDir escapes": ({"imDir": "../../../../etc"}, "imDir '../../../../etc' has a part '..'"),
    "imExt path": ({"imExt": "/x.jpg"}, "is not a file extension"),
}


@pytest.mark.parametrize("case", sorted(MOT_SEQINFO))
def test_mot_seqinfo_numbers_and_paths(root, tmp_path, case):
    values, expected = MOT_SEQINFO[case]
    ini = set_seqinfo(root, **values)
    _, rejects = build(root, "mot", tmp_path)
    r = video_reject(rejects, "SAMPLE-02")
    assert r["file"] == str(ini) and expected in r["detail"], r


def gt_path(root):
    return seq(root) / "gt" / "gt.txt"


def test_gt_that_is_a_folder(root, tmp_path):
    gt = gt_path(root)
    gt.unlink()
    gt.mkdir()
    _, rejects = build(root, "mot", tmp_path)
    r = video_reject(rejects, "SAMPLE-02")
    assert r["file"] == str(gt) and "is a folder, expected a file" in r["detail"]


def test_empty_gt_is_not_a_good_video(root, tmp_path):
    gt_path(root).write_text("\n")
    summary, rejects = build(root, "mot", tmp_path)
    r = video_reject(rejects, "SAMPLE-02")
    assert r["file"] == str(gt_path(root)) and r["detail"] == "no annotation rows"
    assert summary["sources"]["mot/train"]["videos_ok"] == 1


def test_binary_gt(root, tmp_path):
    gt_path(root).write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    _, rejects = build(root, "mot", tmp_path)
    assert "not valid utf-8 text" in video_reject(rejects, "SAMPLE-02")["detail"]


BAD_ROWS = {
    "nan frame": ("nan,1,10,10,20,40,1,1,1", "frame is not a whole number"),
    "inf id": ("3,inf,10,10,20,40,1,1,1", "id is not a whole number"),
    "fractional frame": ("2.5,1,10,10,20,40,1,1,1", "frame is not a whole number"),
    "frame past the end": ("41,1,10,10,20,40,1,1,1", "frame 41 outside 1..40"),
    "frame zero": ("0,1,10,10,20,40,1,1,1", "frame 0 outside 1..40"),
    "nan visibility": ("3,1,10,10,20,40,1,1,nan", "conf or visibility is not finite"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_gt_rows_are_left_out_with_file_and_line(root, tmp_path, case):
    line, expected = BAD_ROWS[case]
    gt = gt_path(root)
    lines = gt.read_text().splitlines()
    lines.insert(5, line)
    gt.write_text("\n".join(lines) + "\n")
    _, rejects = build(root, "mot", tmp_path)
    (r,) = [r for r in rejects if r["file"] == str(gt) and r["line"] == 6]
    assert r["level"] == "frame" and expected in r["reason"], r
    assert not [r for r in rejects if r["video_id"] == "SAMPLE-02" and r["reason"] == "bad source file"]


BAD_BOXES = {"nan box": ("nan", "box is not finite"), "zero width": ("0", "box has no area"),
             "negative width": ("-5", "box has no area"),
             "absurd width": ("1e30", "box of 1e+30 x 171 px on a 320 x 240 frame is not a possible box")}


@pytest.mark.parametrize("case", sorted(BAD_BOXES))
def test_bad_boxes_become_not_visible_and_are_reported(root, tmp_path, case):
    width, expected = BAD_BOXES[case]
    gt = gt_path(root)
    lines = gt.read_text().splitlines()
    f = lines[3].split(",")
    lines[3] = ",".join(f[:4] + [width] + f[5:])
    gt.write_text("\n".join(lines) + "\n")
    _, rejects = build(root, "mot", tmp_path)
    (r,) = [r for r in rejects if r["file"] == str(gt) and r["line"] == 4]
    assert r["level"] == "frame" and r["reason"] == expected and r["object_id"] == f[1] and r["frame"] == int(f[0]) - 1


def test_box_outside_the_image(root, tmp_path):
    gt = gt_path(root)
    lines = gt.read_text().splitlines()
    f = lines[3].split(",")
    lines[3] = ",".join(f[:2] + ["5000", "5000"] + f[4:])
    gt.write_text("\n".join(lines) + "\n")
    _, rejects = build(root, "mot", tmp_path)
    assert [r["reason"] for r in rejects if r["line"] == 4] == ["box outside the image"]


def test_dangling_link_in_the_frame_folder(root, tmp_path):
    frame = seq(root) / "img1" / "000006.jpg"  # sampled at t = 0.5 s
    frame.unlink()
    os.symlink(seq(root) / "img1" / "nowhere.jpg", frame)
    _, rejects = build(root, "mot", tmp_path)
    r = video_reject(rejects, "SAMPLE-02")
    assert r["file"] == str(frame) and "dangling link" in r["detail"]


def test_links_out_of_the_source_root_are_refused(root, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.copytree(seq(root) / "img1", outside)
    shutil.rmtree(seq(root) / "img1")
    os.symlink(outside, seq(root) / "img1")
    _, rejects = build(root, "mot", tmp_path)
    r = video_reject(rejects, "SAMPLE-02")
    assert "outside the source root" in r["detail"] and r["file"] == str(seq(root) / "img1")


def test_unreadable_frame_is_rejected_not_fatal(root, tmp_path):
    (seq(root) / "img1" / "000006.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    _, rejects = build(root, "mot", tmp_path)
    assert "cannot be decoded" in video_reject(rejects, "SAMPLE-02")["detail"]


# -- LaSOT ----------------------------------------------------------------------------------------

def lasot(root, name="ball-1"):
    return root / "lasot" / "ball" / name


def test_lasot_nan_box_on_a_visible_frame(root, tmp_path):
    gt = lasot(root) / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    lines[2] = "nan,10,20,20"
    gt.write_text("\n".join(lines) + "\n")
    _, rejects = build(root, "lasot", tmp_path)
    (r,) = [r for r in rejects if r["file"] == str(gt)]
    assert r["line"] == 3 and r["reason"] == "box is not finite on a frame flagged visible" and r["frame"] == 2


def test_lasot_absurd_box_on_a_visible_frame(root, tmp_path):
    gt = lasot(root) / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    lines[4] = "10,10,20,1e30"
    gt.write_text("\n".join(lines) + "\n")
    _, rejects = build(root, "lasot", tmp_path)
    (r,) = [r for r in rejects if r["file"] == str(gt)]
    assert r["line"] == 5 and r["frame"] == 4 and r["level"] == "frame"
    assert r["reason"] == "box of 20 x 1e+30 px on a 320 x 240 frame is not a possible box on a frame flagged visible"


def test_an_empty_lasot_sequence_folder_is_a_reject_naming_its_missing_boxes(root, tmp_path):
    empty = lasot(root, "ball-9")
    empty.mkdir()
    summary, rejects = build(root, "lasot", tmp_path)
    r = video_reject(rejects, "ball-9")
    assert r["file"] == str(empty / "groundtruth.txt") and r["reason"] == "bad source file" and "missing" in r["detail"]
    assert summary["sources"]["lasot/train"]["videos_ok"] == 2


def test_lasot_bad_flags(root, tmp_path):
    flags = lasot(root) / "full_occlusion.txt"
    flags.write_text(",".join(["2"] * 60))
    _, rejects = build(root, "lasot", tmp_path)
    r = video_reject(rejects, "ball-1")
    assert r["file"] == str(flags) and "comma-separated 0/1 flags" in r["detail"]


def test_lasot_description_that_is_a_folder(root, tmp_path):
    nlp = lasot(root) / "nlp.txt"
    nlp.unlink()
    nlp.mkdir()
    _, rejects = build(root, "lasot", tmp_path)
    r = video_reject(rejects, "ball-1")
    assert r["file"] == str(nlp) and "is a folder" in r["detail"]


# -- failures that are not the input's fault ------------------------------------------------------

def test_any_failure_of_one_video_is_a_reject(root, tmp_path, monkeypatch):
    import converters.sot as L

    real = L.LasotConverter.load

    def load(self, ref):
        if ref.video_id == "ball-1":
            raise RuntimeError("a library bug\nwith a long second line")
        return real(self, ref)

    monkeypatch.setattr(L.LasotConverter, "load", load)
    _, rejects = build(root, "lasot", tmp_path)
    r = video_reject(rejects, "ball-1")
    assert (r["stage"], r["reason"], r["detail"]) == ("convert", "unexpected error", "RuntimeError: a library bug")


def test_memory_error_while_segmenting(root, tmp_path, monkeypatch):
    import pipeline.stages.frames as frames

    real = frames.read_frames

    def read(video, indices):
        if video.video_id == "SAMPLE-02":
            raise MemoryError()
        return real(video, indices)

    monkeypatch.setattr(frames, "read_frames", read)  # what SampledFrames decodes with
    _, rejects = build(root, "mot", tmp_path)
    r = video_reject(rejects, "SAMPLE-02")
    assert (r["stage"], r["reason"]) == ("segment", "out of memory")
    assert any(x["reason"] == "distractor class 7 (static person)" for x in rejects)  # converter drops kept


def test_transient_errors_are_retried_then_rejected(root, tmp_path, monkeypatch):
    import pipeline.build.runner as R
    from pipeline.errors import TransientError

    calls = []
    real = R.process_ref

    def flaky(ref, cfg):
        calls.append(ref.video_id)
        if ref.video_id == "ball-1":
            raise TransientError("nfs went away")
        return real(ref, cfg)

    monkeypatch.setattr(R, "process_ref", flaky)
    _, rejects = build(root, "lasot", tmp_path)
    assert calls.count("ball-1") == 3 and calls.count("cube-1") == 1
    r = video_reject(rejects, "ball-1")
    assert r["reason"] == "failed after retries" and "nfs went away (tried 3 times)" in r["detail"]


def test_two_videos_with_the_same_id(root, tmp_path):
    other = root / "sav" / "sav_train" / "sav_001"
    other.mkdir()
    shutil.copy(sav_json(root), other / "sav_sample01_manual.json")
    _, rejects = build(root, "sav", tmp_path)
    (r,) = [r for r in rejects if r["reason"] == "duplicate video id"]
    assert r["file"] == str(other) and str(sav_json(root).parent) in r["detail"]


def test_track_ids_too_large_for_the_id_columns(root, tmp_path):
    gt = seq(root, "SAMPLE-01") / "gt" / "gt.txt"
    gt.write_text("\n".join(",".join([f[0], "100000000000000000000"] + f[2:]) if f[1] == "1" else ",".join(f)
                            for f in (line.split(",") for line in gt.read_text().splitlines())) + "\n")
    build(root, "mot", tmp_path)  # no crash at shard writing: the ids fall back to 1..N
    (row,) = pq.read_table(tmp_path / "out" / "AcademicVideoTrack" / "mot" / "train-00000-of-00001.parquet").to_pylist()
    assert row["obj_id"] == [1, 2, 3] and row["anno_id"] == ["2", "3", "100000000000000000000"]
