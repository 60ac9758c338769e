import json
import os
import shutil

import pytest

from pipeline.sources import get_converter
from pipeline.errors import SourceError
from pipeline.stages import masks as M
from pipeline.stages import points as P
from pipeline.stages.rows import RowSettings, make_layout, object_tracks, track_rows
from pipeline.stages.sampling import sample_frames

from .conftest import real_fixture


@pytest.fixture
def real_sav(tmp_path):
    src = real_fixture("sav_000001_manual.json")
    folder = tmp_path / "sav_train" / "sav_000"
    folder.mkdir(parents=True)
    shutil.copy(src, folder / src.name)  # copied to a temp dir for the test only, never into the repo
    return tmp_path


def test_real_sav_one_track_per_masklet_points_inside_own_mask(real_sav):
    conv = get_converter("sav")
    (ref,) = conv.discover(str(real_sav), "train")
    record = conv.load(ref)
    raw = json.loads(open(ref.files[0]).read())
    v = record.video
    assert (v.width, v.height, v.n_frames) == (480, 848, 483)
    assert v.fps == pytest.approx(24.0) and v.annotation_fps == pytest.approx(6.0)
    assert not os.path.exists(v.video_file)  # no mp4 beside the JSON: masks need no frames (videos do)
    assert [o.object_id for o in record.objects] == [str(i) for i in raw["masklet_id"]]
    assert len(record.annotated_frames) == len(raw["masklet"]) == 121

    sampled, dropped = sample_frames(v.n_frames, v.fps, record.annotated_frames, v.annotation_fps, 2)
    assert not dropped and len(sampled) == 41  # 0.0 .. 20.0 s
    tracks, _ = object_tracks(record, sampled)
    settings = RowSettings(tasks=("single_point_track",))
    rows, _ = track_rows(record, sampled, tracks, settings, make_layout(record, sampled, settings))
    assert len(rows) == len(raw["masklet_id"])  # one single_point_track row per masklet
    assert {r["task"] for r in rows} == {"single_point_track"}
    k_of = {str(m): k for k, m in enumerate(raw["masklet_id"])}
    n_points = 0
    for row in rows:
        (obj,) = row["anno_id"]
        k = k_of[obj]
        for fr, source_frame in zip(row["frame_trajectories"], row["source_frames"]):
            (pt,) = fr["points"]
            annotated_index = source_frame // 4
            mask = M.decode(raw["masklet"][annotated_index][k])  # the masklet's own RLE, straight from the file
            if pt["occluded"]:
                assert not mask.any()
                continue
            n_points += 1
            assert P.inside(mask, *pt["point"]), (row["id"], fr["frame"])
            # ... and not inside any other masklet's mask unless they overlap there
    assert n_points > 100


def test_sav_sample_matches_truth(sample_dir):
    from pipeline.sample.data import load_truth

    conv = get_converter("sav")
    (ref,) = conv.discover(str(sample_dir / "sav"), "train")
    record = conv.load(ref)
    truth = load_truth(str(sample_dir), "sav", ref.video_id)
    assert record.video.video_file and record.video.video_file.endswith(".mp4")
    for obj in record.objects:
        for frame, ann in obj.frames.items():
            assert (M.decode(ann.rle) == M.decode(truth[frame][obj.object_id])).all()
            assert ann.visible == bool(M.decode(truth[frame][obj.object_id]).any())
    hidden = [f for f, a in record.objects[1].frames.items() if not a.visible]
    assert hidden, "the sample hides masklet 1 for a stretch"


def test_malformed_sav_names_file_and_problem(tmp_path):
    bad = tmp_path / "x_manual.json"
    bad.write_text('{"video_height": 10, "video_width": 10, "video_frame_count": 8, "video_duration": 0.333,'
                   ' "masklet_id": [0], "masklet": [[{"size": [10, 12], "counts": "0"}]]}')
    conv = get_converter("sav")
    (ref,) = conv.discover(str(tmp_path), "train")
    with pytest.raises(SourceError) as e:
        conv.load(ref)
    assert str(bad) in str(e.value) and "mask size" in str(e.value) and "masklet[0][0]" in str(e.value)
    bad.write_text("{not json")
    with pytest.raises(SourceError, match="not valid JSON"):
        conv.load(ref)
