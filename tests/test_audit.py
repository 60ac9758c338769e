"""`vgdata audit`: a clean build passes; a masklet moved away from its points, a changed shard byte,
an answer that no longer says the row's points, and a duplicated id are each found and named."""

import glob
import json
import os
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from flows.cli import main
from pipeline.build import run_build
from pipeline.quality.audit import AuditReport, audit, audit_ground_rows, audit_point_row, audit_track_row
from pipeline.stages import masks as M
from tests.conftest import demo_config


@pytest.fixture(scope="module")
def audited_build(sample_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    shutil.copytree(sample_dir, root / "sample")
    cfg = demo_config(root / "sample", root / "out", videos="skip")
    run_build(cfg, echo=lambda s: None)
    return root


def test_audit_a_clean_build_passes_every_check(audited_build, capsys):
    report = audit(str(audited_build / "out"), echo=lambda s: None)
    assert report.ok, report.violations
    for check in ("files", "ids", "grid", "answer", "inside", "ground"):
        assert report.rows[check] > 0
    assert report.rows["ids"] == 14  # 3 point, 8 track and 3 grounding rows
    assert main(["audit", str(audited_build / "out")]) == 0
    assert "no violation" in capsys.readouterr().out


def _move_masklet(json_path: str, obj: int, dx: int) -> None:
    d = json.load(open(json_path))
    for frame in d["masklet"]:
        m = M.decode(frame[obj])
        frame[obj] = M.encode(np.roll(m, dx, axis=1))
    json.dump(d, open(json_path, "w"))


def test_audit_finds_a_masklet_moved_away_from_its_points(audited_build, tmp_path, capsys):
    moved = tmp_path / "sav"
    shutil.copytree(audited_build / "sample" / "sav", moved)
    _move_masklet(glob.glob(str(moved / "**" / "*_manual.json"), recursive=True)[0], obj=0, dx=120)
    report = audit(str(audited_build / "out"), {"sav": str(moved)}, echo=lambda s: None)
    inside = [v for v in report.violations if v.check == "inside"]
    assert inside and all(v.row_id.startswith("sav/train/sav_sample01/") for v in inside)
    assert any("of object '0' is outside its mask" in v.detail for v in inside)
    # the other sources are untouched
    assert not [v for v in report.violations if not v.row_id.startswith("sav/")]
    code = main(["audit", str(audited_build / "out"), "--source", "sav", "--root", str(moved)])
    out = capsys.readouterr().out
    assert code == 1 and "inside: sav/train/sav_sample01/" in out


def test_audit_finds_a_changed_shard_byte(audited_build, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(audited_build / "out", out)
    shard = sorted(glob.glob(str(out / "AcademicVideoPoint" / "*" / "*.parquet")))[0]
    data = bytearray(open(shard, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(shard, "wb").write(bytes(data))
    report = audit(str(out), echo=lambda s: None)
    files = [v.detail for v in report.violations if v.check == "files"]
    assert any(shard in d and "sha256" in d for d in files), files


def test_audit_point_row_checks_answer_count_and_grid():
    row = {"id": "x/train/v/points/000-000", "clip_start_time": 0.0, "clip_end_time": 2.0, "count": 2,
           "timestamps": [0.0, 0.5], "points": [[{"x": 10.0, "y": 20.0}], [{"x": 50.0, "y": 50.0}]],
           "answer": 'Counting the <points coords="0.0 1 100 200;0.5 2 500 500">cat</points> shows a total of 2.',
           "category": "cat"}
    r = AuditReport()
    audit_point_row(row, None, 2.0, r)
    assert r.ok
    r = AuditReport()
    audit_point_row({**row, "answer": row["answer"].replace("500 500", "500 501")}, None, 2.0, r)
    assert [v.check for v in r.violations] == ["answer"]
    r = AuditReport()
    audit_point_row({**row, "timestamps": [0.0, 0.7]}, None, 2.0, r)
    assert "grid" in [v.check for v in r.violations]
    r = AuditReport()
    audit_point_row({**row, "count": 3}, None, 2.0, r)
    assert {v.check for v in r.violations} == {"count", "answer"}
    # a later 63 s window: timestamps are seconds in the video, the answer's times from the clip's start
    later = {**row, "clip_start_time": 63.0, "clip_end_time": 92.5, "timestamps": [63.0, 92.5]}
    later["answer"] = row["answer"].replace("0.5 2", "29.5 2")
    r = AuditReport()
    audit_point_row(later, None, 2.0, r)
    assert r.ok, r.violations
    r = AuditReport()
    audit_point_row({**later, "timestamps": [62.5, 92.5]}, None, 2.0, r)  # before the clip starts
    assert "grid" in [v.check for v in r.violations]


def test_audit_track_row_answer_must_be_the_visible_points():
    traj = [{"frame": 0, "time": 0.0, "points": [{"id": 1, "point": [32.0, 24.0], "occluded": False}]},
            {"frame": 1, "time": 0.5, "points": [{"id": 1, "point": [64.0, 48.0], "occluded": True}]}]
    row = {"id": "x/train/v/track/000-000", "task": "track", "fps": 2, "sampling_fps": 2, "width": 320, "height": 240,
           "clip_start_time": 0.0, "clip_end_time": 1.0, "frame_trajectories": traj, "source_frames": [0, 12],
           "obj_id": [1], "anno_id": ["a"], "question": "Track cat.",
           "answer": '<tracks coords="0.0 1 100 100">cat</tracks>'}
    r = AuditReport()
    audit_track_row(row, None, r)
    assert r.ok, r.violations
    r = AuditReport()
    audit_track_row({**row, "answer": '<tracks coords="0.0 1 100 100;0.5 1 200 200">cat</tracks>'}, None, r)
    assert [v.check for v in r.violations] == ["answer"]


def test_audit_ground_rows_must_be_the_first_and_last_visible_points_of_their_track_row():
    def pt(i, x, occluded=False):
        return {"id": i, "point": None if occluded else [x, x], "occluded": occluded}
    track = {"id": "x/train/v/track/000-000", "task": "track", "video": "v", "expression": "cat", "mask_id": ["1", "2"],
             "obj_id": [1, 2], "anno_id": ["a", "b"], "fps": 2, "width": 320, "height": 240,
             "source_frames": [0, 1, 2, 3],
             "frame_trajectories": [{"frame": k, "time": k / 2, "points": ps} for k, ps in enumerate(
                 [[pt(1, 10), pt(2, 0, True)], [pt(1, 11), pt(2, 20)], [pt(1, 0, True), pt(2, 21)], [pt(2, 22)]])]}
    good = {**track, "id": "x/train/v/ground/000-000", "task": "ground", "source_frames": [0, 1, 3],
            "frame_trajectories": [{"frame": 0, "time": 0.0, "points": [pt(1, 10)]},
                                   {"frame": 1, "time": 0.5, "points": [pt(1, 11), pt(2, 20)]},
                                   {"frame": 3, "time": 1.5, "points": [pt(2, 22)]}]}
    r = AuditReport()
    audit_ground_rows([track], [good], r)
    assert r.ok and r.rows["ground"] == 1, r.violations
    # object 2's first entry is occluded: a row that keeps it (Molmo2 would drop object 2's start) is wrong
    occluded_start = {**good, "source_frames": [0, 3], "frame_trajectories": [
        {"frame": 0, "time": 0.0, "points": [pt(1, 10), pt(2, 0, True)]}, {"frame": 3, "time": 1.5, "points": [pt(2, 22)]}]}
    for bad in (occluded_start, {**good, "expression": "dog"}):
        r = AuditReport()
        audit_ground_rows([track], [bad], r)
        assert [v.check for v in r.violations] == ["ground"], r.violations
    r = AuditReport()
    audit_ground_rows([track], [], r)
    assert [v.detail for v in r.violations] == ["no grounding row x/train/v/ground/000-000"]
    r = AuditReport()
    audit_ground_rows([], [good], r)
    assert [v.detail for v in r.violations] == ["grounding row without its track row"]


def test_audit_duplicate_ids_and_a_missing_source(audited_build, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(audited_build / "out", out)
    m = json.load(open(out / "build_manifest.json"))
    for spec in m["config"]["sources"]:
        if spec["name"] == "mot":
            spec["root"] = str(tmp_path / "gone")
    json.dump(m, open(out / "build_manifest.json", "w"))
    report = audit(str(out), echo=lambda s: None)
    assert not report.ok and any("mot" in s and "not found" in s for s in report.skipped)
    shard = sorted(glob.glob(str(out / "AcademicVideoTrack" / "sav" / "*.parquet")))[0]
    t = pq.read_table(shard)
    assert t.num_rows >= 2
    ids = t.column("id").to_pylist()
    pq.write_table(t.set_column(0, "id", [[ids[0]] * len(ids)]), os.path.join(tmp_path, "dup.parquet"))
    shutil.copy(os.path.join(tmp_path, "dup.parquet"), shard)
    report = audit(str(out), echo=lambda s: None)
    assert any(v.check == "ids" and v.row_id == ids[0] for v in report.violations)


@pytest.mark.parametrize("source", ["mevis", "revos", "ovis", "lvvis", "burst", "ref_davis17", "mose"])
def test_audit_mask_sources_in_their_release_layouts_pass(source, tmp_path):
    from tests.test_mask_sources import LAYOUTS, convert

    split, write = LAYOUTS[source]
    write(str(tmp_path / "src"))
    assert convert(source, tmp_path / "src", tmp_path / "out", split) == 0
    report = audit(str(tmp_path / "out"), echo=lambda s: None)
    assert report.ok, [(v.check, v.row_id, v.detail) for v in report.violations[:5]] + report.skipped
    assert report.rows["inside"] > 0
