"""Molmo2's metrics by hand-worked examples, and `vgdata eval`: the dataset's own answers score 1.0;
the same answers with one point removed lose exactly what that point was worth."""

import glob
import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest

from flows.cli import main
from pipeline import metrics as MX
from pipeline.build import run_build
from tests.conftest import demo_config


def test_metrics_close_accuracy_allows_one_plus_five_percent():
    assert MX.close_enough(22, 20) and not MX.close_enough(23, 20)  # 1 + floor(0.05 * 20) = 2
    assert MX.close_enough(1, 0) and not MX.close_enough(2, 0)
    assert MX.close_enough(105, 100) + MX.close_enough(107, 100) == 1  # 1 + 5 = 6
    assert MX.count_scores(3, 3) == (1.0, 1.0) and MX.count_scores(4, 3) == (0.0, 1.0)
    assert MX.count_scores(None, 3) == (0.0, 0.0)


def test_metrics_precision_recall_f1_by_hand():
    assert MX.prf(1, 2, 1) == pytest.approx((0.5, 1.0, 2 / 3))
    assert MX.prf(0, 0, 0) == (1.0, 1.0, 1.0)
    assert MX.prf(0, 3, 0) == (0.0, 0.0, 0.0)


def test_metrics_points_matched_by_hungarian_on_scaled_time_and_position():
    # Two predictions, one true point near the first: Hungarian pairs prediction 0 with it.
    pred = [(0.0, 10.0, 10.0), (1.0, 90.0, 90.0)]
    true = [(0.0, 12.0, 10.0)]
    pairs = []
    assert MX.point_scores(pred, true, 2.0, lambda i, j: pairs.append((i, j)) or True) == pytest.approx((0.5, 1.0, 2 / 3))
    assert pairs == [(0, 0)]
    # Time is scaled by the clip: 1 s of a 2 s clip is 50 units, farther than 30 units in x.
    pred = [(1.0, 40.0, 50.0), (0.0, 80.0, 50.0)]
    true = [(0.0, 50.0, 50.0)]
    pairs.clear()
    MX.point_scores(pred, true, 2.0, lambda i, j: pairs.append((i, j)) or True)
    assert pairs == [(1, 0)]
    # A matched prediction outside the mask is no hit.
    assert MX.point_scores([(0.0, 1.0, 1.0)], [(0.0, 1.0, 1.0)], 2.0, lambda i, j: False) == (0.0, 0.0, 0.0)


def test_metrics_track_frame_matching_is_one_to_one_inside_masks():
    left = np.zeros((10, 10), bool)
    left[:, :5] = True
    masks = {"a": left, "b": ~left}

    def inside(o, x, y):
        return bool(masks[o][int(y), int(x)])

    # both predictions on the left: only one can be object a's; object b is missed
    assert MX.frame_scores([(1, 1), (2, 2)], ["a", "b"], inside) == pytest.approx((0.5, 0.5, 0.5))
    assert MX.frame_scores([(1, 1), (8, 8)], ["a", "b"], inside) == (1.0, 1.0, 1.0)
    assert MX.frame_scores([], [], inside) is None
    assert MX.frame_scores([(1, 1)], [], inside) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("text, n", [
    ('Counting the <points coords="0.0 1 100 200 2 300 400">cat</points> shows a total of 2.', 2),
    ("There are 4 <points coords=\"0.0 1 100 200\">cat</points>", 4), ("7", 7), ("There are none.", 0),
    ('<points coords="0.0 1 100 200;0.5 2 300 400">cat</points>', 2), ("I cannot tell", None)])
def test_metrics_predicted_count_reads_every_answer_form(text, n):
    assert MX.predicted_count(text) == n


@pytest.fixture(scope="module")
def eval_build(sample_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    cfg = demo_config(sample_dir, root / "out", videos="skip")
    run_build(cfg, echo=lambda s: None)
    rows = {}
    for shard in glob.glob(str(root / "out" / "AcademicVideo*" / "*" / "*.parquet")):
        for r in pq.read_table(shard).to_pylist():
            rows[r["id"]] = r
    return root, rows


def _write(path, preds: dict[str, str]) -> str:
    with open(path, "w") as f:
        for rid, text in preds.items():
            f.write(json.dumps({"id": rid, "prediction": text}) + "\n")
    return str(path)


def test_eval_the_datasets_own_answers_score_one(eval_build, tmp_path, capsys):
    root, rows = eval_build
    path = _write(tmp_path / "own.jsonl", {rid: r["answer"] for rid, r in rows.items()})
    assert main(["eval", path, "--against", str(root / "out"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["tasks"]) == {"point_count", "track", "single_point_track", "ground"}
    for task, m in result["tasks"].items():
        assert m["rows"] > 0
        for k, v in m.items():
            if k != "rows":
                assert v == 1.0, (task, k, v)
    assert result["overall"]["mean_f1"] == 1.0 and result["overall"]["rows"] == len(rows)


def _drop_one_point(answer: str, frame: int, index: int) -> str:
    coords = re.search(r'coords="([^"]*)"', answer).group(1)
    frames = coords.split(";")
    parts = frames[frame].split()
    del parts[1 + 3 * index: 4 + 3 * index]
    frames[frame] = " ".join(parts)
    return answer.replace(coords, ";".join(frames))


def test_eval_one_point_removed_costs_exactly_its_share(eval_build, tmp_path):
    root, rows = eval_build
    preds = {rid: r["answer"] for rid, r in rows.items()}
    point_ids = sorted(rid for rid, r in rows.items() if "count" in r)
    three = next(rid for rid in point_ids if rows[rid]["count"] == 3)
    preds[three] = _drop_one_point(preds[three], 0, 1)  # the text still says "a total of 3"
    track = next(rid for rid, r in rows.items() if r.get("task") == "track" and len(r["obj_id"]) == 3)
    preds[track] = _drop_one_point(preds[track], 0, 2)  # first frame: 2 of its 3 objects
    result = MX.evaluate(_write(tmp_path / "p.jsonl", preds), str(root / "out")).to_dict()
    pc = result["tasks"]["point_count"]
    n = len(point_ids)
    assert pc["count_accuracy"] == 1.0
    assert pc["point_precision"] == 1.0
    assert pc["point_recall"] == pytest.approx((n - 1 + 2 / 3) / n, abs=1e-6)
    assert pc["point_f1"] == pytest.approx((n - 1 + 0.8) / n, abs=1e-6)
    tr = result["tasks"]["track"]
    frames = len({f["time"] for f in rows[track]["frame_trajectories"]
                  if any(not p["occluded"] for p in f["points"])})
    n_track = tr["rows"]
    assert tr["track_precision"] == 1.0
    assert tr["track_recall"] == pytest.approx((n_track - 1 + (frames - 1 + 2 / 3) / frames) / n_track, abs=1e-6)
    assert tr["track_f1"] == pytest.approx((n_track - 1 + (frames - 1 + 0.8) / frames) / n_track, abs=1e-6)


def test_eval_ground_rows_score_only_first_and_last_appearances(eval_build, tmp_path):
    """A grounding prediction that gives the whole track (every frame): on a start/end frame it
    finds every object that starts or ends there (plus the others visible, false positives); every
    other frame is a time the row does not have, all wrong."""
    root, rows = eval_build
    ground = {rid: r for rid, r in rows.items() if r.get("task") == "ground"}
    assert ground
    preds = {rid: rows[rid.replace("/ground/", "/track/")]["answer"] for rid in ground}
    result = MX.evaluate(_write(tmp_path / "g.jsonl", preds), str(root / "out")).to_dict()
    g = result["tasks"]["ground"]
    precision, recall = [], []
    for rid, r in ground.items():
        track = rows[rid.replace("/ground/", "/track/")]
        visible = {f["time"]: sum(not p["occluded"] for p in f["points"]) for f in track["frame_trajectories"]}
        visible = {t: n for t, n in visible.items() if n}
        ends = {f["time"]: len(f["points"]) for f in r["frame_trajectories"]}
        precision.append(sum(ends.get(t, 0) / n for t, n in visible.items()) / len(visible))
        recall.append(len(ends) / len(visible))
    assert g["rows"] == len(ground) and g["ground_recall"] < 1.0
    assert g["ground_precision"] == pytest.approx(sum(precision) / len(precision), abs=1e-6)
    assert g["ground_recall"] == pytest.approx(sum(recall) / len(recall), abs=1e-6)
    own = MX.evaluate(_write(tmp_path / "own.jsonl", {rid: r["answer"] for rid, r in ground.items()}),
                      str(root / "out")).to_dict()
    assert own["tasks"]["ground"]["ground_f1"] == 1.0


def test_eval_names_bad_lines_and_unknown_ids(eval_build, tmp_path, capsys):
    root, rows = eval_build
    rid = sorted(rows)[0]
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": rid, "prediction": rows[rid]["answer"]}) + "\n{not json\n"
                    + json.dumps({"id": "nope/x", "prediction": "3"}) + "\n")
    assert main(["eval", str(path), "--against", str(root / "out")]) == 0
    err = capsys.readouterr().err
    assert f"{path}:2:" in err and "'nope/x' is not a row" in err
    empty = tmp_path / "none.jsonl"
    empty.write_text(json.dumps({"id": "nope/x", "prediction": "3"}) + "\n")
    assert main(["eval", str(empty), "--against", str(root / "out")]) == 2
