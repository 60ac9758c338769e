import os

import pyarrow.parquet as pq
import pytest

from flows.cli import main


@pytest.mark.parametrize("cmd", [[], ["sample"], ["convert"], ["build"]])
def test_help_says_what_each_command_does(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main(cmd + ["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: vgdata" in out
    if cmd == ["convert"]:
        for flag in ("--root", "--out", "--split", "--segmenter", "--checkpoint", "--model-config", "--sampling-fps"):
            assert flag in out


def test_convert_missing_root_names_the_path(tmp_path, capsys):
    code = main(["convert", "lasot", "--root", str(tmp_path / "nope"), "--out", str(tmp_path / "o"),
                 "--segmenter", "grabcut", "--runner", "local"])
    assert code == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nope") in err and "LaSOT root folder not found" in err


def test_sam2_box_source_without_checkpoint_is_refused(sample_dir, tmp_path, capsys):
    code = main(["convert", "mot", "--root", str(sample_dir / "mot"), "--out", str(tmp_path), "--runner", "local"])
    assert code == 2 and "--checkpoint" in capsys.readouterr().err


def test_sampling_above_the_annotation_rate_drops_the_times_it_cannot_serve(sample_dir, tmp_path):
    code = main(["convert", "sav", "--root", str(sample_dir / "sav"), "--out", str(tmp_path), "--sampling-fps", "8",
                 "--runner", "local", "--videos", "skip"])
    assert code == 0
    rejects = pq.read_table(tmp_path / "rejects.parquet").to_pylist()
    dropped = [r for r in rejects if r["reason"] == "no annotated frame"]
    # 6 fps annotation on an 8 fps grid: t = 0.25 s is 1/12 s from the nearest annotation, further
    # than half a grid step (1/16 s): dropped, never shifted
    assert any(r["detail"].startswith("t=0.2s") for r in dropped)


def test_convert_one_source_locally(sample_dir, tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["convert", "lasot", "--root", str(sample_dir / "lasot"), "--out", str(out), "--segmenter", "grabcut",
                 "--runner", "local", "--limit", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "GrabCut" in printed and "lasot/train: 1/1 videos ok" in printed
    assert os.path.exists(out / "AcademicVideoTrack" / "lasot" / "train-00000-of-00001.parquet")
    assert os.path.exists(out / "AcademicVideoPoint" / "lasot" / "train-00000-of-00001.parquet")


def test_sample_command(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "s")]) == 0
    assert os.path.exists(tmp_path / "s" / "mot" / "train" / "SAMPLE-01" / "seqinfo.ini")
    assert "true masks" in capsys.readouterr().out


def test_sample_is_not_rewritten_unless_forced(tmp_path):
    from pipeline.sample.data import write_sample

    write_sample(str(tmp_path))
    gt = tmp_path / "mot" / "train" / "SAMPLE-01" / "gt" / "gt.txt"
    stamp = os.stat(gt).st_mtime_ns
    write_sample(str(tmp_path))
    assert os.stat(gt).st_mtime_ns == stamp
    gt.write_text("edited")
    write_sample(str(tmp_path), force=True)
    assert gt.read_text() != "edited"
