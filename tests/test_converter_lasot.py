import shutil

import pytest

from pipeline.sources import get_converter
from pipeline.errors import SourceError


def test_sample_sequences(sample_dir):
    conv = get_converter("lasot")
    refs = conv.discover(str(sample_dir / "lasot"), "train")
    assert [r.video_id for r in refs] == ["ball-1", "cube-1"]
    ball = conv.load(refs[0])
    (obj,) = ball.objects
    assert obj.category == "ball"
    (query,) = ball.queries  # the sentence is the question, over the sequence's one object
    assert query.text == "red ball rolling behind a grey wall" and query.object_ids == (obj.object_id,)
    occluded = open(f"{refs[0].location}/full_occlusion.txt").read().split(",")
    for i, flag in enumerate(occluded):
        assert obj.frames[i].visible == (flag == "0"), i
    assert ball.video.n_frames == 60 and (ball.video.width, ball.video.height) == (320, 240)
    cube = conv.load(refs[1])
    assert not cube.objects[0].frames[59].visible  # out of view at the end


def test_split_list_file_selects_sequences(sample_dir, tmp_path):
    root = tmp_path / "lasot"
    shutil.copytree(sample_dir / "lasot", root)
    (root / "testing_set.txt").write_text("cube-1\n")
    assert [r.video_id for r in get_converter("lasot").discover(str(root), "test")] == ["cube-1"]


def test_length_mismatch_names_file(sample_dir, tmp_path):
    root = tmp_path / "lasot"
    shutil.copytree(sample_dir / "lasot", root)
    gt = root / "ball" / "ball-1" / "groundtruth.txt"
    gt.write_text("\n".join(gt.read_text().splitlines()[:-3]) + "\n")
    conv = get_converter("lasot")
    with pytest.raises(SourceError) as e:
        conv.load(conv.discover(str(root), "train")[0])
    assert str(gt) in str(e.value) and "57 boxes for 60 frames" in str(e.value)
