"""`vgdata audit OUT`: every row of a build checked against its sources, after the fact and apart
from the code that wrote it (rows are read from the shards, objects and masks from the sources).

Checks, each a line of the table it prints:
- files: each shard's size, sha256 and row count match the manifest; the summary reconciles
  (the publish checks);
- ids: row ids unique across all shards;
- grid: timestamps on the sampling grid (k / sampling_fps) and within the clip;
- answer: the Molmo2 text of the answer (and of a single-point-track question) parses back to
  exactly the row's points, and a count answer states the row's count;
- count: a point row's count is the number of its points and the number of the query's objects
  visible on a sampled frame of the clip;
- inside: every visible point lies in its object's mask on that frame; for box sources in the
  stored SAM 2 mask and in the ground-truth box. A point row's points are matched one to one to
  the query's objects (Hungarian, scipy);
- ground: every track row has its grounding row (AcademicVideoGround) and that row holds exactly,
  per object, the track's first and last visible point (time, point, source frame), nothing else.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from pipeline.errors import VgdataError
from pipeline.outputs.manifest import read_manifest
from pipeline.quality.ground_truth import GroundTruth, TruthError, VideoTruth
from pipeline.quality.rows import rows_by_video, shards_by_pair
from pipeline.stages.sampling import video_rate_of
from pipeline.stages.molmo_text import parse
from pipeline.stages.rows import GROUND_DATASET as GROUND
from pipeline.stages.rows import POINT_DATASET as POINT
from pipeline.stages.rows import TRACK_DATASET as TRACK

CHECKS = ("files", "ids", "grid", "answer", "count", "inside", "ground")
SCALE = 1000


@dataclass
class Violation:
    check: str
    row_id: str
    detail: str
    file: str = ""


@dataclass
class AuditReport:
    rows: Counter = field(default_factory=Counter)  # rows checked per check
    violations: list[Violation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No violation, and no source left unread (an unchecked row is not a checked one)."""
        return not self.violations and not self.skipped

    def by_check(self) -> Counter:
        return Counter(v.check for v in self.violations)


def _scaled(v: float, size: float) -> int:
    """Molmo2's 0..1000 coordinate (OUTPUT_FORMATS.md section 1): divide, clamp to [0, 1], Python's
    round(1000 * x) (half to even, as Molmo2's formatter)."""
    return round(SCALE * min(1.0, max(0.0, v / size)))


def _on_grid(t: float, fps: float) -> bool:
    k = t * fps
    return abs(k - round(k)) < 1e-6 and k > -1e-9


def _points_of(text: str) -> Counter:
    """(t, x, y) of every point of every <points>/<tracks> element, as a multiset."""
    return Counter((round(f.time, 1), x, y) for p in parse(text) for f in p.frames for _, x, y in f.points)


def query_objects(truth: VideoTruth, text: str, count: int) -> list[str]:
    """The objects of the query named `text` (of several queries with that text, one whose size
    fits `count`, else the first)."""
    matches = [q for q in truth.queries if q.text == text]
    for q in matches:
        if len(q.object_ids) >= count:
            return list(q.object_ids)
    return list(matches[0].object_ids) if matches else []


def audit_point_row(row: dict, truth: VideoTruth | None, fps: float, report: AuditReport) -> None:
    """A point row's `timestamps` are seconds in the video; its answer's times are relative to
    `clip_start_time` (Molmo2's loader subtracts it), so a later 63 s window's first point at 63 s
    is said at 0.0."""
    rid = row["id"]
    start = row["clip_start_time"]
    clip = row["clip_end_time"] - start
    bad = [t for t in row["timestamps"] if not _on_grid(t, fps) or not -1e-6 <= t - start <= clip + 1e-6]
    report.rows["grid"] += 1
    if bad or len(row["timestamps"]) != len(row["points"]):
        report.violations.append(Violation("grid", rid, f"timestamps {bad or row['timestamps']} off the "
                                           f"{1 / fps:g} s grid or past the clip ({clip:g} s)"))
    pts = [(t, p["x"], p["y"]) for t, ps in zip(row["timestamps"], row["points"]) for p in ps]
    report.rows["count"] += 1
    if row["count"] != len(pts):
        report.violations.append(Violation("count", rid, f"count {row['count']} but {len(pts)} points"))
    report.rows["answer"] += 1
    try:
        said = _points_of(row["answer"])
        total = [int(w) for w in row["answer"].replace(".", " ").split() if w.isdigit()]
    except ValueError as e:
        report.violations.append(Violation("answer", rid, f"answer does not parse: {e}"))
        said, total = None, []
    if said is not None:
        want = Counter((round(t - start, 1), _scaled(x, 100), _scaled(y, 100)) for t, x, y in pts)
        if said != want:
            report.violations.append(Violation("answer", rid, f"answer points {sorted(said)} != row points {sorted(want)}"))
        if row["count"] and (not total or total[-1] != row["count"]):
            report.violations.append(Violation("answer", rid, f"answer does not state the count {row['count']}"))
        if row["count"] == 0 and row["answer"] != "There are none.":
            report.violations.append(Violation("answer", rid, "count 0 but the answer is not 'There are none.'"))
    if truth is None:
        return
    objects = query_objects(truth, row["category"], row["count"])
    # Objects of the query visible on a sampled frame of the clip (a box track the filter dropped
    # would have given the query no row at all).
    grid = [row["clip_start_time"] + k / fps for k in range(int(round(clip * fps)) + 1)]
    frames = [f for f in (truth.frame_at(t, fps) for t in grid) if f is not None]
    seen = [o for o in objects if any(truth.visible(o, f) for f in frames)]
    if len(seen) != row["count"]:
        report.violations.append(Violation("count", rid, f"count {row['count']} but {len(seen)} objects of "
                                           f"{row['category']!r} are visible in the clip"))
    if not pts:
        return
    report.rows["inside"] += 1
    owners, where = assign_points(truth, row, objects, fps)
    for i, (t, x, y) in enumerate(pts):
        if owners[i] is None:
            report.violations.append(Violation("inside", rid, f"point ({x:.1f}, {y:.1f}) at t={t:g}s (source frame "
                                               f"{where[i]}) is in no mask of a distinct {row['category']!r} object"))


def assign_points(truth: VideoTruth, row: dict, objects: list[str], fps: float) -> tuple[list, list]:
    """A point row's points matched one to one to `objects` whose mask (and box) holds them
    (Hungarian, scipy): per point its object (None: no distinct object holds it) and source frame."""
    from scipy.optimize import linear_sum_assignment

    pts = [(t, p["x"], p["y"]) for t, ps in zip(row["timestamps"], row["points"]) for p in ps]
    cost = np.ones((len(pts), max(1, len(objects))))
    where = []
    for i, (t, x, y) in enumerate(pts):
        frame = truth.frame_at(t, fps)  # timestamps are seconds in the video
        where.append(frame)
        for j, o in enumerate(objects):
            if frame is not None and truth.inside(o, frame, x / 100 * truth.width, y / 100 * truth.height):
                cost[i, j] = 0
    owners: list = [None] * len(pts)
    if pts:
        for i, j in zip(*linear_sum_assignment(cost)):
            if cost[i, j] == 0:
                owners[i] = objects[j]
    return owners, where


def audit_track_row(row: dict, truth: VideoTruth | None, report: AuditReport) -> None:
    rid = row["id"]
    fps, w, h = row["sampling_fps"], row["width"], row["height"]
    clip = row["clip_end_time"] - row["clip_start_time"]
    traj = row["frame_trajectories"]
    report.rows["grid"] += 1
    # Times on the row's grid; frames count the row's video, written at `fps` (a lower rate's rows
    # name the videos of the highest).
    bad = [f["time"] for f in traj if not _on_grid(f["time"], fps) or abs(f["time"] - f["frame"] / row["fps"]) > 1e-6
           or f["time"] > clip + 1e-6]
    if bad or len(row["source_frames"]) != len(traj):
        report.violations.append(Violation("grid", rid, f"times {bad} off the {1 / fps:g} s grid or past the clip "
                                           f"({clip:g} s), or source_frames do not match the trajectory"))
    visible = Counter((round(f["time"], 1), _scaled(p["point"][0], w), _scaled(p["point"][1], h))
                      for f in traj for p in f["points"] if not p["occluded"])
    report.rows["answer"] += 1
    try:
        said = _points_of(row["answer"])
        if row["task"] == "single_point_track":
            said += _points_of(row["question"])
    except ValueError as e:
        report.violations.append(Violation("answer", rid, f"answer does not parse: {e}"))
        said = None
    if said is not None and said != visible:
        missing, extra = visible - said, said - visible
        report.violations.append(Violation("answer", rid, f"answer and row points differ: row only {sorted(missing)[:5]}, "
                                           f"answer only {sorted(extra)[:5]}"))
    ids = dict(zip(row["obj_id"], row["anno_id"]))
    if len(ids) != len(row["obj_id"]) or len(row["anno_id"]) != len(row["obj_id"]):
        report.violations.append(Violation("ids", rid, "obj_id and anno_id do not pair one to one"))
    if truth is None:
        return
    report.rows["inside"] += 1
    for f, src in zip(traj, row["source_frames"]):
        for p in f["points"]:
            if p["occluded"]:
                continue
            obj = ids.get(p["id"])
            if obj is None:
                report.violations.append(Violation("inside", rid, f"t={f['time']:g}s: point id {p['id']} not in obj_id"))
            elif not truth.inside(obj, src, p["point"][0], p["point"][1]):
                what = "mask and box" if truth.is_box(obj) else "mask"
                report.violations.append(Violation("inside", rid, f"t={f['time']:g}s: point ({p['point'][0]:.1f}, "
                                                   f"{p['point'][1]:.1f}) of object {obj!r} is outside its {what} "
                                                   f"on source frame {src}"))


def _ends(row: dict) -> set[tuple]:
    """(object, time, x, y, source frame) of each object's first and last visible point."""
    seen: dict[int, list[tuple]] = {}
    for f, src in zip(row["frame_trajectories"], row["source_frames"]):
        for p in f["points"]:
            if not p["occluded"]:
                seen.setdefault(p["id"], []).append((p["id"], f["time"], *p["point"], src))
    return {e for pts in seen.values() for e in (pts[0], pts[-1])}


def audit_ground_rows(track: list[dict], ground: list[dict], report: AuditReport) -> None:
    """A video's grounding rows against its track rows (same clip and query, ids `/ground/` for
    `/track/`)."""
    by_id = {r["id"]: r for r in ground}
    for t in track:
        if t["task"] != "track" or not t["mask_id"]:  # a query with no public answer has no grounding row
            continue
        report.rows["ground"] += 1
        gid = t["id"].replace("/track/", "/ground/", 1)
        g = by_id.pop(gid, None)
        if g is None:
            report.violations.append(Violation("ground", t["id"], f"no grounding row {gid}"))
            continue
        got = {(p["id"], f["time"], *p["point"], src) for f, src in zip(g["frame_trajectories"], g["source_frames"])
               for p in f["points"] if not p["occluded"]}
        extra = [p for f in g["frame_trajectories"] for p in f["points"] if p["occluded"]]
        same = all(g[k] == t[k] for k in ("video", "expression", "mask_id", "obj_id", "anno_id", "fps", "width", "height"))
        want = _ends(t)
        if got != want or extra or not same or g["task"] != "ground":
            report.violations.append(Violation("ground", gid, f"not the first and last visible points of {t['id']}: "
                                               f"missing {sorted(want - got)[:3]}, extra {sorted(got - want)[:3]}"
                                               + (f", {len(extra)} occluded entries" if extra else "")
                                               + ("" if same else ", video/query columns differ")))
    for gid in sorted(by_id):
        report.rows["ground"] += 1
        report.violations.append(Violation("ground", gid, "grounding row without its track row"))


def audit(out: str, overrides: dict[str, str] | None = None, echo=print, check_files: bool = True) -> AuditReport:
    """Audit the build in `out`; `overrides` maps a source name to a root to read instead of the
    manifest's. `check_files=False` leaves out the shard hashes and counts (`check_build`) for a
    caller that has just run it (publish). Rows are read a batch at a time, each source video
    once for both datasets (`rows_by_video`), and ids are checked for repeats within their
    (source, split), the prefix every id starts with."""
    from pipeline.progress import progress
    from pipeline.quality.files import check_build

    manifest = read_manifest(out)
    report = AuditReport()
    if check_files:
        report.rows["files"] += len(manifest.get("shards", []))
        report.violations += [Violation("files", "", p) for p in check_build(out, manifest)]
    truth = GroundTruth(out, manifest, overrides)
    fps = float(video_rate_of((manifest.get("config") or {}).get("sampling_fps") or 2))  # the point rows' rate
    total = sum(s["rows"] for s in manifest.get("shards", []))

    def unreadable_shard(s: dict, e: Exception) -> None:
        report.violations.append(Violation("files", "", f"{os.path.join(out, s['path'])}: cannot be read ({e})"))

    with progress(total, "audit", unit="rows", echo=echo) as bar:
        for (source, split), shards in shards_by_pair(manifest).items():
            ids: Counter = Counter()
            readable = True
            grounded = GROUND in shards  # builds before grounding rows have none to check
            for video_id, by_dataset in rows_by_video(out, shards, on_error=unreadable_shard):
                vt = None
                if readable:
                    try:
                        vt = truth.video(source, split, video_id)
                    except TruthError as e:
                        readable = False
                        report.skipped.append(f"{source}/{split}: {e}; mask checks skipped")
                for dataset, rows in by_dataset.items():
                    for row in rows:
                        ids[row["id"]] += 1
                        if dataset == POINT:
                            audit_point_row(row, vt, fps, report)
                        else:
                            audit_track_row(row, vt, report)
                    bar.advance(n=len(rows))
                if grounded or by_dataset.get(GROUND):
                    audit_ground_rows(by_dataset.get(TRACK, []), by_dataset.get(GROUND, []), report)
            report.rows["ids"] += len(ids)
            report.violations += [Violation("ids", rid, f"id appears {n} times") for rid, n in sorted(ids.items()) if n > 1]
    return report


def format_report(report: AuditReport, limit: int = 50):
    """A rich Table of the checks and a list of the first `limit` violations."""
    from rich.table import Table

    table = Table(title="vgdata audit")
    for col in ("check", "rows checked", "violations"):
        table.add_column(col, justify="right" if col != "check" else "left")
    counts = report.by_check()
    for c in CHECKS:
        table.add_row(c, str(report.rows.get(c, 0)), str(counts.get(c, 0)))
    lines = [f"{v.check}: {v.row_id}: {v.detail}" if v.row_id else f"{v.check}: {v.detail}"
             for v in report.violations[:limit]]
    if len(report.violations) > limit:
        lines.append(f"... and {len(report.violations) - limit} more")
    return table, lines


def parse_overrides(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out = {}
    for name, root in pairs:
        if not os.path.isdir(root):
            raise VgdataError(f"--root {root}: not a folder")
        out[name] = root
    return out


def audit_command(out: str, overrides: dict[str, str] | None = None) -> int:
    """`vgdata audit`: the table and each violation; 0 when every row is checked and agrees, else 1."""
    from rich.console import Console

    report = audit(out, overrides)
    table, lines = format_report(report)
    Console(width=120).print(table)
    for line in report.skipped + lines:
        print(line)
    print(f"audit of {out}: " + ("every row checked, no violation" if report.ok else f"{len(report.violations)} violations"))
    return 0 if report.ok else 1
