"""A bad setting is exit 2 with one line naming the setting or path, before any work starts."""

import os

import pytest
import yaml

from flows.cli import main


def run_yaml(tmp_path, capsys, text, *extra):
    path = tmp_path / "build.yaml"
    path.write_text(text)
    code = main(["build", str(path), "--runner", "local", *extra])
    err = capsys.readouterr().err
    return code, err


def base(sample_dir, tmp_path, **extra):
    cfg = {"out": str(tmp_path / "out"), "segmenter": "grabcut",
           "sources": [{"name": "lasot", "root": str(sample_dir / "lasot")}]}
    cfg.update(extra)
    return yaml.safe_dump(cfg)


def one_line(code, err):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("vgdata: error: ") and "Traceback" not in err, err
    return err


BAD = {
    "workers: two": ({"workers": "two"}, "workers: must be a whole number from 1 to 256, or auto (got 'two')"),
    "workers: 2.5": ({"workers": 2.5}, "workers: must be a whole number from 1 to 256, or auto (got 2.5)"),
    "workers: 0": ({"workers": 0}, "workers: must be a whole number from 1 to 256, or auto (got 0)"),
    "sampling_fps as text": ({"sampling_fps": "2"},
                             "sampling_fps: Input should be a valid integer or a list of them (got '2')"),
    "sampling_fps 0": ({"sampling_fps": [0, 2]}, "sampling_fps: a rate must be 1 to 10 frames a second, got 0"),
    "rates that do not nest": ({"sampling_fps": [2, 3]}, "sampling_fps: every rate must divide the highest (3); 2 does not"),
    "unknown key": ({"sampling_rate": 2}, "sampling_rate: Unexpected keyword argument"),
    "clip over 63 s": ({"max_clip_seconds": 100}, "max_clip_seconds: Input should be less than or equal to 63"),
    "nan iou": ({"min_track_iou": float("nan")}, "min_track_iou: Input should be a finite number"),
    "videos mode": ({"videos": "link"}, "videos: Input should be 'encode' or 'skip'"),
    "segmenter number": ({"segmenter": 3}, "segmenter must be a name or a mapping"),
    "segmenter key": ({"segmenter": {"name": "grabcut", "iters": 3}}, "segmenter: iters: Unexpected keyword argument"),
    "track clip too long": ({"max_track_seconds": 90}, "max_track_seconds 90 at sampling_fps 2 is more than the 128 frames"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_settings(case, sample_dir, tmp_path, capsys):
    extra, expected = BAD[case]
    err = one_line(*run_yaml(tmp_path, capsys, base(sample_dir, tmp_path, **extra)))
    assert expected in err, err
    assert not os.path.exists(tmp_path / "out")  # nothing was started


SOURCE_BAD = {
    "option typo": ({"options": {"min_visiblity": 0.3}}, "mot",
                    "source 'mot': unknown option 'min_visiblity' (options: min_visibility)"),
    "option type": ({"options": {"min_visibility": "high"}}, "mot", "option 'min_visibility' must be float or int, got 'high'"),
    "split escapes": ({"split": "../../../x"}, "lasot", "split: split '../../../x' is not a plain name"),
    "split with dash": ({"split": "val-2"}, "lasot", "is not a plain name"),
    "no root": ({"root": None}, "lasot", "sources[0]: root: Input should be a valid string"),
    "limit zero": ({"limit": 0}, "lasot", "limit: Input should be greater than or equal to 1"),
    "unknown source": ({"name": "mevis2"}, "lasot", "unknown source 'mevis2'"),
}


@pytest.mark.parametrize("case", sorted(SOURCE_BAD))
def test_bad_source_entries(case, sample_dir, tmp_path, capsys):
    extra, name, expected = SOURCE_BAD[case]
    source = {"name": name, "root": str(sample_dir / name), **extra}
    text = yaml.safe_dump({"out": str(tmp_path / "out"), "segmenter": "grabcut", "sources": [source]})
    err = one_line(*run_yaml(tmp_path, capsys, text))
    assert expected in err, err


def test_yaml_that_is_not_a_config(tmp_path, capsys):
    assert "not valid YAML" in one_line(*run_yaml(tmp_path, capsys, "out: [unclosed"))
    assert "expected a mapping at the top level" in one_line(*run_yaml(tmp_path, capsys, "- a\n- b\n"))
    assert "'sources' must be a non-empty list" in one_line(*run_yaml(tmp_path, capsys, "out: x\nsources: {}\n"))


def test_convert_split_and_option_are_checked(sample_dir, tmp_path, capsys):
    args = ["convert", "mot", "--root", str(sample_dir / "mot"), "--out", str(tmp_path / "o"), "--segmenter", "grabcut",
            "--runner", "local"]
    assert "split '../../../X' is not a plain name" in one_line(main(args + ["--split", "../../../X"]), capsys.readouterr().err)
    assert "unknown option 'min_visiblity'" in one_line(main(args + ["--option", "min_visiblity=0.3"]), capsys.readouterr().err)
    assert not os.path.exists(tmp_path / "o")


@pytest.mark.parametrize("runner", ["local", "prefect"])
def test_out_that_is_a_file(sample_dir, tmp_path, capsys, runner):
    out = tmp_path / "out"
    out.write_text("not a folder")
    code = main(["convert", "lasot", "--root", str(sample_dir / "lasot"), "--out", str(out), "--segmenter", "grabcut",
                 "--runner", runner])
    assert f"out: {out} is a file, not a folder" in one_line(code, capsys.readouterr().err)
    assert out.read_text() == "not a folder"


def test_checkpoint_that_is_a_folder_or_garbage(sample_dir, tmp_path, capsys):
    pytest.importorskip("sam2")
    args = ["convert", "mot", "--root", str(sample_dir / "mot"), "--out", str(tmp_path / "o"), "--runner", "local",
            "--model-config", "configs/sam2.1/sam2.1_hiera_t.yaml", "--checkpoint"]
    folder = tmp_path / "ckpt"
    folder.mkdir()
    assert f"SAM 2 checkpoint {folder} is a folder" in one_line(main(args + [str(folder)]), capsys.readouterr().err)
    garbage = tmp_path / "sam2.pt"
    garbage.write_bytes(b"this is not a torch checkpoint")
    err = one_line(main(args + [str(garbage)]), capsys.readouterr().err)
    assert "SAM 2 could not be built" in err and str(garbage) in err
