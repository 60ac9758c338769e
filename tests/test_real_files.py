"""Sources on real files kept in this repository (`tests/fixtures/real/`, see its PROVENANCE.md):
each converted with `vgdata convert` in its release layout, every row checked against the real
masks it came from (points inside their own object, counts, one track row per query, times on the
grid, grounding rows at each object's first and last visible point), and `vgdata audit` passes.

Real files from `../shared/fixtures/real/` are exercised by the per-family test modules
(test_converter_*, test_box_sources, test_mask_sources)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from pycocotools import mask as cocomask

from flows.cli import main

HERE = Path(__file__).resolve().parent / "fixtures" / "real"


def convert(source: str, root, out, split: str, *extra) -> None:
    assert main(["convert", source, "--root", str(root), "--out", str(out), "--split", split, "--runner", "local",
                 "--videos", "skip", *extra]) == 0
    assert main(["audit", str(out)]) == 0


def read(out, dataset: str, source: str) -> list[dict]:
    folder = Path(out) / dataset / source
    return [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()] if folder.exists() else []


def inside(mask: np.ndarray, x: float, y: float) -> bool:
    r, c = int(np.floor(y)), int(np.floor(x))
    return 0 <= r < mask.shape[0] and 0 <= c < mask.shape[1] and bool(mask[r, c])


def check_tracks(tracks: list[dict], masks: dict[str, dict[int, np.ndarray]], queries: dict[str, set[str]]) -> None:
    """Every visible point inside its own object's real mask on its source frame; every occluded
    one where the object has no pixel; each query's objects only."""
    for r in tracks:
        key_of = dict(zip(r["obj_id"], r["anno_id"]))
        if r["task"] != "single_point_track":
            assert set(r["anno_id"]) <= queries[r["expression"]], (r["id"], r["anno_id"])
        for fr, src in zip(r["frame_trajectories"], r["source_frames"]):
            assert fr["frame"] == round(fr["time"] * r["fps"]) and fr["time"] * 2 == round(fr["time"] * 2)
            for p in fr["points"]:
                m = masks[key_of[p["id"]]].get(src)
                if p["occluded"]:
                    assert m is None or not m.any(), (r["id"], p, src)
                else:
                    assert m is not None and inside(m, *p["point"]), (r["id"], p, src)


def check_ground(tracks: list[dict], ground: list[dict]) -> None:
    """One grounding row per track row: each object's first and last visible point of it."""
    by_id = {g["id"]: g for g in ground}
    track = [t for t in tracks if t["task"] == "track"]
    assert len(ground) == len(track)
    for t in track:
        g = by_id[t["id"].replace("/track/", "/ground/")]
        seen: dict[int, list] = {}
        for fr in t["frame_trajectories"]:
            for p in fr["points"]:
                if not p["occluded"]:
                    seen.setdefault(p["id"], []).append((fr["time"], p["id"], tuple(p["point"])))
        want = {e for pts in seen.values() for e in (pts[0], pts[-1])}
        assert {(fr["time"], p["id"], tuple(p["point"])) for fr in g["frame_trajectories"] for p in fr["points"]} == want


# -- YouTube-VIS 2019: a real training video (0043f083b5) --------------------------------------------

def ytvis_release(root: Path) -> tuple[dict[str, dict[int, np.ndarray]], dict[str, set[str]]]:
    """The YouTube-VIS 2019 `train.json` of video 0043f083b5, laid back out from mmtracking's CocoVID
    copy (whose masks, boxes and areas are the release's, per frame): one annotation per instance
    with per-frame `segmentations` / `bboxes` / `areas` lists, null where the object is not
    annotated. Returns the decoded masks per object and frame, and the objects of each category."""
    coco = json.loads((HERE / "ytvis" / "ann.json").read_text())
    (video,) = coco["videos"]
    images = sorted(coco["images"], key=lambda im: im["frame_id"])
    n = len(images)
    frame_of = {im["id"]: im["frame_id"] for im in images}
    anns: dict[int, dict] = {}
    for a in coco["annotations"]:
        e = anns.setdefault(a["instance_id"], {"id": a["instance_id"], "video_id": video["id"], "category_id": a["category_id"],
                                               "iscrowd": a["iscrowd"], "height": video["height"], "width": video["width"],
                                               "length": 1, "segmentations": [None] * n, "bboxes": [None] * n,
                                               "areas": [None] * n})
        t = frame_of[a["image_id"]]
        e["segmentations"][t], e["bboxes"][t], e["areas"][t] = a["segmentation"], a["bbox"], a["area"]
    release = {"info": {}, "licenses": [], "categories": coco["categories"],
               "videos": [{"id": video["id"], "width": video["width"], "height": video["height"], "length": n,
                           "file_names": [im["file_name"] for im in images]}],
               "annotations": list(anns.values())}
    (root / "train").mkdir(parents=True)
    (root / "train.json").write_text(json.dumps(release))
    names = {c["id"]: c["name"] for c in coco["categories"]}
    masks, queries = {}, {}
    for e in anns.values():
        per = {}
        for t, seg in enumerate(e["segmentations"]):
            if seg is not None:
                rle = cocomask.frPyObjects(seg, seg["size"][0], seg["size"][1])
                per[t] = cocomask.decode(rle).astype(bool)
        masks[str(e["id"])] = per
        queries.setdefault(names[e["category_id"]], set()).add(str(e["id"]))
    return masks, queries


def test_ytvis_real_training_video_converts_and_holds_to_its_masks(tmp_path):
    masks, queries = ytvis_release(tmp_path / "src")
    convert("ytvis", tmp_path / "src", tmp_path / "out", "train")
    tracks, ground = read(tmp_path / "out", "AcademicVideoTrack", "ytvis"), read(tmp_path / "out", "AcademicVideoGround", "ytvis")
    assert {(r["source_video"], r["expression"]) for r in tracks} == {("0043f083b5", q) for q in queries}
    check_tracks(tracks, masks, queries)
    check_ground(tracks, ground)
    # the listed frames are every 5th of 30 fps (6 fps): 20 frames span 3.17 s, sampled at 0.0 .. 3.0 s;
    # both objects are null on the first two frames (absent there: annotated, not visible)
    for r in tracks:
        first = r["frame_trajectories"][0]
        assert first["time"] == 0.0 and all(p["occluded"] for p in first["points"])
        assert min(f["time"] for f in r["frame_trajectories"] if any(not p["occluded"] for p in f["points"])) == 0.5
        assert max(f["time"] for f in r["frame_trajectories"]) == 3.0
        assert r["width"] == 1280 and r["height"] == 720
