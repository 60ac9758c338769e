"""The metrics Molmo2 reports on these tasks (docs: ../shared/docs/OUTPUT_FORMATS.md, section 5), and
`vgdata eval PREDICTIONS --against OUT`, which scores a model's plain-text outputs against a build.

- Counting: exact-match accuracy, and close accuracy: |pred - gt| <= 1 + floor(0.05 * gt).
- Pointing: predicted and true points matched one to one (Hungarian, scipy) on (t, x, y), each
  scaled to 0..100 (t by the clip's length); a matched prediction is a hit when it lies inside the
  true object's mask at the predicted time. Precision = hits / predicted, recall = hits / true.
- Tracking: on each frame, predicted points matched one to one to the objects visible there, a
  pair allowed when the point lies in the object's mask; precision, recall and F1 per frame,
  averaged over the frames of a row, then over rows (videos).
- Grounding (task `ground`): the same per-frame matching over the row's frames, which are each
  object's first and last visible frame (as Molmo2 scores its `point_ground_start_end` outputs
  with its tracking evaluator); a point at any other time is a false positive.
Empty against empty scores 1 (nothing there, nothing said). Every score is per row, then averaged.

Predictions: JSON lines `{"id": ROW_ID, "prediction": TEXT}`, TEXT in Molmo2's plain-text format.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.errors import VgdataError
from pipeline.stages.molmo_text import SCALE, parse
from pipeline.stages.sampling import video_rate_of

# -- the definitions ------------------------------------------------------------------------------


def close_enough(pred: int, gt: int) -> bool:
    return abs(pred - gt) <= 1 + math.floor(0.05 * gt)


def count_scores(pred: int | None, gt: int) -> tuple[float, float]:
    """(exact, close) for one count; an unreadable prediction scores 0 on both."""
    if pred is None:
        return 0.0, 0.0
    return float(pred == gt), float(close_enough(pred, gt))


def prf(hits: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    """Precision, recall, F1; nothing predicted where nothing is true scores 1."""
    if n_pred == 0 and n_true == 0:
        return 1.0, 1.0, 1.0
    p = hits / n_pred if n_pred else 0.0
    r = hits / n_true if n_true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def point_scores(pred: list[tuple[float, float, float]], true: list[tuple[float, float, float]], duration: float,
                 hit: Callable[[int, int], bool]) -> tuple[float, float, float]:
    """`pred`, `true`: (t seconds, x, y on 0..100). Hungarian matching on the 0..100-scaled
    (t, x, y) distance; `hit(i, j)` says whether prediction i lies in true point j's object mask."""
    from scipy.optimize import linear_sum_assignment

    if not pred or not true:
        return prf(0, len(pred), len(true))
    span = max(duration, 1e-9)
    a = np.array([(100 * t / span, x, y) for t, x, y in pred])
    b = np.array([(100 * t / span, x, y) for t, x, y in true])
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    hits = sum(1 for i, j in zip(*linear_sum_assignment(cost)) if hit(int(i), int(j)))
    return prf(hits, len(pred), len(true))


def frame_scores(pred: list[tuple[float, float]], objects: list[str],
                 inside: Callable[[str, float, float], bool]) -> tuple[float, float, float] | None:
    """One frame of a track: predicted points (pixels) against the objects visible there. None
    when neither has anything (the frame does not count)."""
    from scipy.optimize import linear_sum_assignment

    if not pred and not objects:
        return None
    if not pred or not objects:
        return prf(0, len(pred), len(objects))
    cost = np.array([[0.0 if inside(o, x, y) else 1.0 for o in objects] for x, y in pred])
    hits = sum(1 for i, j in zip(*linear_sum_assignment(cost)) if cost[i, j] == 0)
    return prf(hits, len(pred), len(objects))


# -- reading predictions --------------------------------------------------------------------------

_TOTAL = re.compile(r"(?:total of|There are|there are)\s+(\d+)")


def predicted_count(text: str) -> int | None:
    """The count a point/count answer states: 'a total of N', 'There are N', a bare N, 'There are
    none.' (0), else the number of points it gives; None if it says nothing countable."""
    text = text.strip()
    if re.fullmatch(r"\d+\.?", text):
        return int(text.rstrip("."))
    m = _TOTAL.search(text)
    if m:
        return int(m.group(1))
    if re.search(r"\bnone\b", text, re.IGNORECASE):
        return 0
    try:
        elements = parse(text)
    except ValueError:
        return None
    return sum(len(f.points) for p in elements for f in p.frames) if elements else None


def predicted_points(text: str) -> list[tuple[float, int, float, float]]:
    """(t, id, x, y) of every point the text gives, x and y on 0..1000; [] if it does not parse."""
    try:
        return [(f.time, i, x, y) for p in parse(text) for f in p.frames for i, x, y in f.points]
    except ValueError:
        return []


def read_predictions(path: str) -> tuple[dict[str, str], list[str]]:
    """id -> prediction text, and one message per bad line (naming the file and line)."""
    preds, bad = {}, []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise VgdataError(f"{path}: cannot be read ({e.strerror or e})") from None
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not isinstance(d.get("prediction"), str):
                    raise ValueError('expected {"id": ROW_ID, "prediction": TEXT}')
            except ValueError as e:
                bad.append(f"{path}:{n}: {e}")
                continue
            if d["id"] in preds:
                bad.append(f"{path}:{n}: id {d['id']!r} predicted twice (the first is kept)")
                continue
            preds[d["id"]] = d["prediction"]
    return preds, bad


# -- scoring a build ------------------------------------------------------------------------------

@dataclass
class EvalResult:
    tasks: dict[str, dict]
    overall: dict
    problems: list[str]

    def to_dict(self) -> dict:
        return {"tasks": self.tasks, "overall": self.overall, "problems": self.problems}


def _mean(xs: list[float]) -> float | None:
    return round(float(np.mean(xs)), 6) if xs else None


def score_point_row(row: dict, text: str, truth, fps: float) -> dict:
    from pipeline.quality.audit import assign_points, query_objects

    exact, close = count_scores(predicted_count(text), row["count"])
    # the row's timestamps are seconds in the video, the answer's (and a prediction's) from the clip's start
    true = [(t - row["clip_start_time"], p["x"], p["y"]) for t, ps in zip(row["timestamps"], row["points"]) for p in ps]
    owners, _ = assign_points(truth, row, query_objects(truth, row["category"], row["count"]), fps)
    pred = [(t, x / SCALE * 100, y / SCALE * 100) for t, _, x, y in predicted_points(text)]

    def hit(i: int, j: int) -> bool:
        t, x, y = pred[i]
        frame = truth.frame_at(row["clip_start_time"] + t, fps)
        return owners[j] is not None and frame is not None and truth.inside(
            owners[j], frame, x / 100 * truth.width, y / 100 * truth.height)

    p, r, f1 = point_scores(pred, true, row["clip_end_time"] - row["clip_start_time"], hit)
    return {"count_accuracy": exact, "count_close_accuracy": close, "point_precision": p, "point_recall": r,
            "point_f1": f1}


def score_track_row(row: dict, text: str, truth) -> dict:
    w, h = row["width"], row["height"]
    ids = dict(zip(row["obj_id"], row["anno_id"]))
    traj = row["frame_trajectories"]
    given = traj[0]["time"] if row["task"] == "single_point_track" and traj else None  # in the question
    frames = {round(f["time"], 1): (f, src) for f, src in zip(traj, row["source_frames"]) if f["time"] != given}
    pred: dict[float, list] = defaultdict(list)
    for t, _, x, y in predicted_points(text):
        pred[round(t, 1)].append((x / SCALE * w, y / SCALE * h))
    scores = []
    for t in sorted(set(frames) | set(pred)):
        if t not in frames:  # a time the clip does not have: all its points are wrong
            scores.append(prf(0, len(pred[t]), 0))
            continue
        f, src = frames[t]
        objects = [ids[p["id"]] for p in f["points"] if not p["occluded"] and p["id"] in ids]
        s = frame_scores(pred.get(t, []), objects, lambda o, x, y, src=src: truth.inside(o, src, x, y))
        if s is not None:
            scores.append(s)
    if not scores:
        return {"track_precision": 1.0, "track_recall": 1.0, "track_f1": 1.0}
    p, r, f1 = (float(np.mean([s[k] for s in scores])) for k in range(3))
    return {"track_precision": p, "track_recall": r, "track_f1": f1}


def evaluate(predictions: str, out: str, overrides: dict[str, str] | None = None) -> EvalResult:
    """Score `predictions` (JSON lines) against the build in `out`, reading masks from its sources:
    the rows a prediction names, each source video read once for both datasets."""
    from pipeline.outputs.manifest import read_manifest
    from pipeline.quality.ground_truth import GroundTruth
    from pipeline.quality.rows import rows_by_video, shards_by_pair

    manifest = read_manifest(out)
    preds, problems = read_predictions(predictions)
    bad_lines = len(problems)
    truth = GroundTruth(out, manifest, overrides)
    fps = float(video_rate_of((manifest.get("config") or {}).get("sampling_fps") or 2))
    per_task: dict[str, list[dict]] = defaultdict(list)
    seen: set[str] = set()
    for (source, split), shards in shards_by_pair(manifest).items():
        for video_id, by_dataset in rows_by_video(out, shards, keep=lambda r: r["id"] in preds):
            vt = truth.video(source, split, video_id)
            for dataset, rows in by_dataset.items():
                for row in rows:
                    seen.add(row["id"])
                    if dataset == "AcademicVideoPoint":
                        per_task["point_count"].append(score_point_row(row, preds[row["id"]], vt, fps))
                    elif not row["mask_id"] and not row["answer"]:
                        problems.append(f"{row['id']}: its split has no public answers (a benchmark server "
                                        "scores it); not scored")
                    else:
                        scores = score_track_row(row, preds[row["id"]], vt)
                        if row["task"] == "ground":
                            scores = {k.replace("track_", "ground_"): v for k, v in scores.items()}
                        per_task[row["task"]].append(scores)
    unknown = sorted(set(preds) - seen)
    problems += [f"{predictions}: id {rid!r} is not a row of {out}" for rid in unknown[:20]]
    if len(unknown) > 20:
        problems.append(f"{predictions}: ... and {len(unknown) - 20} more ids not in {out}")
    tasks = {}
    for task, rows in sorted(per_task.items()):
        tasks[task] = {"rows": len(rows), **{k: _mean([r[k] for r in rows]) for k in rows[0]}}
    f1s = [r[k] for rows in per_task.values() for r in rows for k in ("point_f1", "track_f1", "ground_f1") if k in r]
    overall = {"rows": sum(len(v) for v in per_task.values()), "mean_f1": _mean(f1s),
               "predictions_not_in_build": len(unknown), "bad_lines": bad_lines}
    return EvalResult(tasks, overall, problems)


def eval_command(predictions: str, against: str, as_json: bool = False, overrides: dict[str, str] | None = None) -> int:
    """`vgdata eval`: the metrics as a table (or one JSON object); 2 when no prediction names a row."""
    import sys

    from rich.console import Console
    from rich.table import Table

    result = evaluate(predictions, against, overrides)
    for p in result.problems:
        print(f"vgdata: warning: {p}", file=sys.stderr)
    if as_json:
        print(json.dumps(result.to_dict(), indent=None, sort_keys=True))
    else:
        table = Table(title=f"vgdata eval {predictions} against {against}")
        for col in ("task", "metric", "value"):
            table.add_column(col)
        for task, metrics in result.tasks.items():
            for k, v in metrics.items():
                table.add_row(task, k, str(v))
        for k, v in result.overall.items():
            table.add_row("overall", k, str(v))
        Console(width=120).print(table)
    if not result.overall["rows"]:
        print(f"vgdata: error: no prediction matches a row of {against}", file=sys.stderr)
        return 2
    return 0
