"""`vgdata export molmo2 OUT --to DIR`: the build of every source that fills a Molmo2 name
(tests/molmo2_sources.py, at 1 and 2 fps) laid out where Molmo2's code looks, checked without
Molmo2 (tests/test_molmo2_reads.py reads the same export with Molmo2's own code): every dataset
holds exactly the build's rows of its class, task and split; every video a row names is a hard link
to the build's file; the evaluated splits' masks decode to the true masks of their rows' objects;
bad input is refused with one clear error; a killed export is finished by a rerun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline.ops import molmo2 as M2
from pipeline.ops.export import JOURNAL, MARKER, ExportError, export_molmo2, list_table
from pipeline.stages import masks as MK
from tests.conftest import REPO, link_copy


def _build_rows(out, dataset, source, split) -> list[dict]:
    path = os.path.join(out, dataset, source)
    files = sorted(f for f in os.listdir(path) if f.startswith(f"{split}-")) if os.path.isdir(path) else []
    return [r for f in files for r in pq.read_table(os.path.join(path, f)).to_pylist()]


def _exported(to, rel) -> list[dict]:
    import datasets

    return datasets.load_from_disk(os.path.join(to, rel)).to_list()


def _no_occluded(row: dict) -> dict:
    pairs = [({**f, "points": [p for p in f["points"] if not p["occluded"]]}, s)
             for f, s in zip(row["frame_trajectories"], row["source_frames"])]
    pairs = [(f, s) for f, s in pairs if f["points"]]
    return {**row, "frame_trajectories": [f for f, _ in pairs], "source_frames": [s for _, s in pairs]}


def test_every_name_the_list_fills_gets_exactly_the_builds_rows(molmo2_export):
    out, to, result = molmo2_export
    claimed = {name for name, status, _, _ in list_table() if status != "not filled"}
    assert set(result["names"]) == claimed  # the fixture fills every name the list claims
    for name, by_source in M2.claims().items():
        cls = M2.CLASSES[name]
        ((source, claim),) = by_source.items()  # each Molmo2 class is filled by one built-in source
        for data_split, ours in claim.items():
            for task in cls.tasks:
                rel = f"{M2.TRACK_HOME}/{cls.rows_dir(task, data_split)}"
                dataset = "AcademicVideoGround" if task == "ground" else "AcademicVideoTrack"
                want = [r for split in ours for r in _build_rows(out, dataset, source, split) if r["task"] == task]
                if cls.evaluated(data_split):
                    want = [_no_occluded(r) for r in want]
                got = _exported(to, rel) if want else []
                assert sorted(got, key=lambda r: r["id"]) == sorted(want, key=lambda r: r["id"]), rel
                assert not want or result["datasets"][rel]["rows"] == len(want)
                # every video a row names is the build's file, hard-linked: no video byte copied
                for r in got:
                    mp4 = to / M2.TRACK_HOME / cls.video_dir(data_split) / f"{r['video']}.mp4"
                    assert os.path.samefile(mp4, out / r["video_path"]) and os.stat(mp4).st_nlink >= 2
    # one dataset per class, task and split, every rate in it: the names pick theirs
    # (train: three queries of one video, one query over the two clips of a 72 s video)
    assert result["names"]["mevis_track"] == {"train": 10, "validation": 6, "test": 6}
    assert result["names"]["mevis_track_1fps"] == result["names"]["mevis_track_2fps"] == {"train": 5, "validation": 3,
                                                                                          "test": 3}
    assert result["names"]["lasot_single_point_track"] == {"train": 2}


def test_point_rows_carry_molmo2s_subsets_and_the_video_names_it_joins(molmo2_export):
    out, to, result = molmo2_export
    rows = {s: _exported(to, f"{M2.VIDEO_HOME}/{M2.POINT_REPO}-{s}") for s in M2.POINT_SPLITS}
    assert Counter(r["subset"] for r in rows["train"]) == Counter(
        {"mevis": 5, "refdavis17": 2, "refyoutube": 2, "ovis": 2, "burst": 1})  # revos, lasot...: no subset
    assert Counter(r["subset"] for r in rows["val"]) == Counter({"mevis": 3, "refdavis17": 3})
    for split, found in rows.items():
        for r in found:
            subset = M2.POINT_SUBSETS[r["subset"]]
            if subset.name_is_file:
                assert r["video_name"].endswith(".mp4")
            if subset.by_dataset:  # BURST's <dataset>/<sequence> id: the dataset is a folder of its own
                assert (r["dataset"], r["video_name"]) == ("YFCC100M", "v_123")
            mp4 = to / M2.VIDEO_HOME / subset.video_path(split, r["video_name"], r["dataset"])
            assert os.path.samefile(mp4, out / r["video_path"]), mp4
    # the rest of each row is the build's, untouched
    built = {r["id"]: r for r in _build_rows(out, "AcademicVideoPoint", "mevis", "train")}
    for r in rows["train"]:
        if r["id"] in built:
            assert {k: v for k, v in r.items() if k not in ("subset", "video_name")} == \
                {k: v for k, v in built[r["id"]].items() if k not in ("subset", "video_name")}


def test_evaluated_splits_masks_decode_to_the_true_masks_of_their_rows_objects(molmo2_build, molmo2_export):
    out, truth = molmo2_build
    _, to, result = molmo2_export
    checked = Counter()
    for cls_name, split, source, ours in [("Mevis", "valid_u", "mevis", "valid_u"), ("RefDavis17", "valid", "ref_davis17", "val"),
                                          ("RefYoutubeVOS", "valid", "ref_youtube_vos", "valid"),
                                          ("ReasonVOS", "test", "reasonvos", "test")]:
        cls = M2.CLASSES[cls_name]
        for task in cls.tasks:
            for r in _exported(to, f"{M2.TRACK_HOME}/{cls.rows_dir(task, split)}"):
                with open(to / M2.TRACK_HOME / cls.masks_dir(split) / r["video"] / f"{r['qid']}.json") as f:
                    masks = json.load(f)
                if not r["mask_id"]:  # Ref-YouTube-VOS valid: no public answer, a file that says null
                    assert masks is None and r["answer"] == ""
                    checked["null"] += 1
                    continue
                assert list(masks) == [str(i) for i in range(len(r["mask_id"]))]
                t = truth[(source, ours)][r["source_video"]]
                for fr, src in zip(r["frame_trajectories"], r["source_frames"]):
                    for i, anno in enumerate(r["anno_id"]):
                        rle = masks[str(i)][fr["frame"]]
                        true = t.masks[anno][src]
                        if not true.any():
                            assert rle is None
                            continue
                        got = MK.decode(rle)
                        assert got.shape == (r["height"], r["width"])
                        assert np.array_equal(got[:true.shape[0], :true.shape[1]], true) and not got[true.shape[0]:].any()
                    for p in fr["points"]:  # only visible points in an evaluated split
                        assert not p["occluded"] and MK.decode(masks[str(r["mask_id"].index(str(p["id"])))][fr["frame"]])[
                            int(p["point"][1]), int(p["point"][0])]
                    checked[cls_name] += 1
    assert checked["Mevis"] and checked["RefDavis17"] and checked["ReasonVOS"] and checked["null"] == 6
    assert result["masks"] == len({(p) for p in result["paths"] if p.endswith(".json")})


def test_list_prints_every_name_with_what_fills_it_or_why_not(molmo2_export, capsys):
    from flows.cli import main

    out, _, result = molmo2_export
    assert main(["export", "molmo2", "--list"]) == 0
    text = capsys.readouterr().out
    assert "41 names: 40 filled, 1 exported but not buildable by name in Molmo2, 0 not filled." in text
    assert "MevisChallenge(split='test'" in text
    rows = {name: n for name, _, _, n in list_table(str(out))}
    assert rows["mevis_track_1fps"] == "train 5, validation 3, test 3"
    assert rows["vicas_track"] == "train 4" and rows["reasonvos_track_eval_1fps"] == "test 3"  # 2 queries x 2 rates; 1 fps
    assert rows["latot_single_point_track"] == rows["tnllt_single_point_track"] == "train 2"  # 1 and 2 fps
    assert rows["academic_video_points"] == "train 12, val 6"


# -- what may not be exported, and how it says so ----------------------------------------------------

def test_export_refuses_what_is_not_a_finished_build_or_a_folder_of_other_files(molmo2_build, tmp_path):
    out, _ = molmo2_build
    with pytest.raises(ExportError, match="build_manifest.json: not found"):
        export_molmo2(str(tmp_path), str(tmp_path / "x"), echo=lambda s: None)
    broken = link_copy(out, tmp_path / "broken")
    os.remove(broken / "AcademicVideoTrack" / "mevis" / "train-00000-of-00001.parquet")
    with pytest.raises(ExportError, match="is not a finished build: .*mevis/train-00000-of-00001.parquet: listed in the manifest but missing"):
        export_molmo2(str(broken), str(tmp_path / "y"), echo=lambda s: None)
    other = tmp_path / "molmo_data"
    (other / "torch_datasets").mkdir(parents=True)
    with pytest.raises(ExportError, match="holds other files \\(torch_datasets\\)"):
        export_molmo2(str(out), str(other), echo=lambda s: None)
    assert os.listdir(other) == ["torch_datasets"]  # nothing written there


def test_a_build_without_videos_is_refused_naming_why(tmp_path, sample_dir):
    from pipeline.build import run_build
    from tests.conftest import demo_config

    cfg = demo_config(sample_dir, tmp_path / "out", videos="skip")
    run_build(cfg, echo=lambda s: None)
    with pytest.raises(ExportError, match="built with videos: skip"):
        export_molmo2(cfg.out, str(tmp_path / "x"), echo=lambda s: None)


def test_an_export_killed_half_way_is_finished_by_a_rerun(molmo2_build, molmo2_export, tmp_path):
    """kill -9 while it places files: no dataset folder Molmo2 could open is partial, the rerun
    finishes, and the result is the uninterrupted export's."""
    out, _ = molmo2_build
    _, clean, clean_result = molmo2_export
    to = tmp_path / "data"
    cmd = [sys.executable, "-m", "flows.cli", "export", "molmo2", str(out), "--to", str(to), "--quiet"]
    killed = 0
    for delay_lines in (3, 8, 20, 40, 60):
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None:
            journal = to / JOURNAL
            if journal.exists() and len(journal.read_text().splitlines()) >= delay_lines:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                killed += 1
                break
            time.sleep(0.005)
        if proc.returncode == -signal.SIGKILL:
            assert not (to / MARKER).exists() or (to / JOURNAL).exists()
            for line in (to / JOURNAL).read_text().splitlines():  # what is in place is whole
                if "/tracking/" in line or M2.POINT_REPO in line:
                    assert _exported(to, line) is not None
    assert killed >= 3
    result = export_molmo2(str(out), str(to), echo=lambda s: None)
    assert not (to / JOURNAL).exists() and (to / MARKER).exists()
    assert result["names"] == clean_result["names"] and result["paths"] == clean_result["paths"]
    for rel in clean_result["datasets"]:
        assert sorted(_exported(to, rel), key=lambda r: r["id"]) == sorted(_exported(clean, rel), key=lambda r: r["id"])
    leftovers = [p for p in to.rglob("*") if p.name.endswith(".tmp") or ".vgdata-export-tmp" in str(p)]
    assert leftovers == []


def test_a_rebuild_without_a_source_removes_its_datasets_and_videos_from_the_export(molmo2_build, tmp_path):
    out, _ = molmo2_build
    copy = link_copy(out, tmp_path / "out")
    to = tmp_path / "data"
    first = export_molmo2(str(copy), str(to), echo=lambda s: None)
    assert "moca_track" in first["names"]
    manifest = json.loads((copy / "build_manifest.json").read_text())
    manifest["shards"] = [s for s in manifest["shards"] if s["source"] != "moca"]
    manifest["videos"] = [v for v in manifest["videos"] if v["source"] != "moca"]
    manifest["summary"]["rows"] = {d: sum(s["rows"] for s in manifest["shards"] if s["dataset"] == d)
                                   for d in manifest["summary"]["rows"]}
    (copy / "build_manifest.json").write_text(json.dumps(manifest))
    for d in ("AcademicVideoTrack", "AcademicVideoGround"):  # as a rebuild without it leaves OUT
        os.remove(copy / d / "moca" / "all-00000-of-00001.parquet")
    from pipeline.ops.card import write_card

    write_card(str(copy), manifest)
    second = export_molmo2(str(copy), str(to), echo=lambda s: None)
    assert "moca_track" not in second["names"] and second["removed"] == 3  # two datasets, one video
    assert not (to / M2.TRACK_HOME / "MoCA").exists() and not (to / M2.TRACK_HOME / "tracking" / "moca").exists()


def test_a_video_the_build_wrote_anew_replaces_the_exports_link(molmo2_build, tmp_path):
    """A new path is linked straight; a path that holds an older file (a rebuild re-encoded the
    video) is replaced through a rename, and nothing is left beside it."""
    out, _ = molmo2_build
    copy = link_copy(out, tmp_path / "out")
    to = tmp_path / "data"
    first = export_molmo2(str(copy), str(to), echo=lambda s: None)
    n = first["videos"]["linked"]
    video = sorted((copy / "AcademicVideoTrack").rglob("*.mp4"))[0]
    data = video.read_bytes()
    video.unlink()
    video.write_bytes(data)  # the same bytes in a new file, as a rebuild writes it
    second = export_molmo2(str(copy), str(to), echo=lambda s: None)
    placed = [p for p in to.rglob(video.name) if os.path.samefile(p, video)]
    assert placed and second["videos"] == {"kept": n - len(placed), "linked": len(placed)}
    assert not [p for p in to.rglob("*") if p.name.endswith(".tmp")]


def test_across_file_systems_the_videos_are_symbolic_links_never_copies(molmo2_build, tmp_path, monkeypatch):
    import errno

    from pipeline.ops import export as E

    out, _ = molmo2_build
    real_link = os.link

    def cross_device(src, dst, *a, **k):
        if str(src).endswith(".mp4"):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_link(src, dst, *a, **k)

    monkeypatch.setattr(E.os, "link", cross_device)
    result = export_molmo2(str(out), str(tmp_path / "data"), echo=lambda s: None)
    n = sum(1 for p in result["paths"] if p.endswith(".mp4"))
    assert result["videos"] == {"symlinked": n} and n > 30
    videos = [p for p in (tmp_path / "data").rglob("*.mp4")]
    assert len(videos) == n and all(p.is_symlink() and os.path.samefile(p, os.readlink(p)) for p in videos)
    assert all(os.path.realpath(p).startswith(str(out)) for p in videos)
