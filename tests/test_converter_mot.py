import os

import pytest

from pipeline.sources import get_converter
from converters.mot import parse_gt
from pipeline.errors import SourceError


def motmetrics_gt(name: str) -> str:
    motmetrics = pytest.importorskip("motmetrics")
    return os.path.join(os.path.dirname(motmetrics.__file__), "data", name, "gt.txt")


@pytest.mark.parametrize("seq", ["TUD-Campus", "TUD-Stadtmitte"])
def test_parses_real_motchallenge_gt(seq):
    path = motmetrics_gt(seq)
    lines = [l for l in open(path).read().splitlines() if l.strip()]
    rows, dropped = parse_gt(path)
    assert len(rows) == len(lines) and not dropped
    first = lines[0].split(",")
    assert (rows[0].frame, rows[0].track) == (int(first[0]), int(first[1]))
    assert (rows[0].left, rows[0].top, rows[0].width, rows[0].height) == tuple(float(x) for x in first[2:6])
    # MOT15-style 10-column rows: no class column, so every row is a pedestrian, fully visible
    assert {r.cls for r in rows} == {1} and {r.visibility for r in rows} == {1.0}
    assert len({r.track for r in rows}) == len({l.split(",")[1] for l in lines})
    assert min(r.frame for r in rows) >= 1


def test_sample_pedestrians_only(sample_dir):
    conv = get_converter("mot")
    refs = conv.discover(str(sample_dir / "mot"), "train")
    assert [r.video_id for r in refs] == ["SAMPLE-01", "SAMPLE-02"]
    record = conv.load(refs[0])
    v = record.video
    assert (v.width, v.height, v.n_frames, v.fps) == (320, 240, 40, 10.0)
    assert [o.object_id for o in record.objects] == ["1", "2", "3"]
    assert all(o.category == "person" and o.kind == "box" for o in record.objects)
    reasons = {d.object_id: d.reason for d in record.dropped}
    assert reasons["4"].startswith("distractor class 7")
    assert reasons["5"] == "ignore rows (conf 0)"
    # frames and boxes are 0-based: object 1 starts at x = left - 1
    gt_first = [l for l in open(os.path.join(refs[0].location, "gt", "gt.txt")) if l.startswith("1,1,")][0].split(",")
    assert record.objects[0].frames[0].box[:2] == (float(gt_first[2]) - 1, float(gt_first[3]) - 1)
    # object 2 is hidden for frames 16..21: annotated (it is there) but not visible
    hidden = [f for f, a in record.objects[1].frames.items() if not a.visible]
    assert hidden and set(hidden) <= set(range(14, 24))


def test_bad_gt_line_names_file_and_line(tmp_path, sample_dir):
    import shutil

    root = tmp_path / "mot"
    shutil.copytree(sample_dir / "mot", root)
    gt = root / "train" / "SAMPLE-01" / "gt" / "gt.txt"
    gt.write_text(gt.read_text() + "41,1,10,10,oops,20,1,1,1\n")
    conv = get_converter("mot")
    with pytest.raises(SourceError) as e:
        conv.load(conv.discover(str(root), "train")[0])
    assert str(gt) in str(e.value) and "not a list of numbers" in str(e.value)


def test_missing_split_folder_is_clear(tmp_path):
    with pytest.raises(SourceError, match="MOTChallenge split 'train' folder not found"):
        get_converter("mot").discover(str(tmp_path), "train")
