"""Sources on real files kept in this repository (`tests/fixtures/real/`, see its PROVENANCE.md):
each converted with `vgdata convert` in its release layout, every row checked against the real
masks it came from (points inside their own object, counts, one track row per query, times on the
grid, grounding rows at each object's first and last visible point), and `vgdata audit` passes.

Real files from `../shared/fixtures/real/` are exercised by the per-family test modules
(test_converter_*, test_box_sources, test_mask_sources)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from pycocotools import mask as cocomask

from flows.cli import main
from tests import mask_layouts as L

HERE = Path(__file__).resolve().parent / "fixtures" / "real"


def convert(source: str, root, out, split: str, *extra) -> None:
    """`vgdata convert` (GrabCut turns box sources' boxes into masks: no weights here), then `vgdata audit`."""
    assert main(["convert", source, "--root", str(root), "--out", str(out), "--split", split, "--runner", "local",
                 "--videos", "skip", "--segmenter", "grabcut", *extra]) == 0
    assert main(["audit", str(out)]) == 0


def read(out, dataset: str, source: str) -> list[dict]:
    folder = Path(out) / dataset / source
    return [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()] if folder.exists() else []


def check_tracks(tracks: list[dict], masks: dict[str, dict[int, np.ndarray]], queries: dict[str, set[str]]) -> None:
    """Every visible point inside its own object's real mask on its source frame; every occluded
    one where the object has no pixel; each query's objects only (mask_layouts' checker, over the
    real masks), and every time on the 0.5 s grid."""
    for video in {r["source_video"] for r in tracks}:
        L.check_track_rows([r for r in tracks if r["source_video"] == video], {video: L.Truth(0.0, masks, queries)})
    assert all(fr["time"] * 2 == round(fr["time"] * 2) for r in tracks for fr in r["frame_trajectories"])


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


# -- real files from ../shared/fixtures/real (skipped without it) -------------------------------------

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real"


@pytest.fixture
def shared():
    if not SHARED.is_dir():
        pytest.skip("../shared/fixtures/real is not present")
    return SHARED


def check_boxes(tracks: list[dict], boxes: dict[str, dict[int, tuple]]) -> int:
    """Every visible track point inside its object's ground-truth box (0-based x0, y0, x1, y1) on its
    source frame, and no visible point where the object has no box."""
    n = 0
    for r in tracks:
        key_of = dict(zip(r["obj_id"], r["anno_id"]))
        for fr, src in zip(r["frame_trajectories"], r["source_frames"]):
            for p in fr["points"]:
                if p["occluded"]:
                    continue
                x0, y0, x1, y1 = boxes[key_of[p["id"]]][src]
                x, y = p["point"]
                assert max(0, x0) - 0.5 <= x <= x1 + 0.5 and max(0, y0) - 0.5 <= y <= y1 + 0.5, (r["id"], p, src)
                n += 1
    return n


def test_real_mot17_sequence_converts_and_holds_to_its_boxes(shared, tmp_path):
    """MOT17-09's real gt.txt (10,411 rows sorted by track, distractor and ignore rows, boxes past the
    image) and seqinfo.ini, frames painted from its boxes (the sampled ones only)."""
    from tests.synthetic import mot_boxes, paint_boxes

    real = shared / "mot17" / "MOT17-train" / "MOT17-09-FRCNN"
    seq = tmp_path / "MOT17" / "train" / "MOT17-09-FRCNN"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_bytes((real / "gt" / "gt.txt").read_bytes())
    (seq / "seqinfo.ini").write_bytes((real / "seqinfo.ini").read_bytes())
    per_frame = mot_boxes(str(seq / "gt" / "gt.txt"))
    paint_boxes(str(seq / "img1"), 525, 1920, 1080, per_frame, every=15)
    convert("mot", tmp_path / "MOT17", tmp_path / "out", "train")
    pedestrians, boxes = set(), {}
    for line in (seq / "gt" / "gt.txt").read_text().splitlines():
        f, t, x, y, w, h, conf, cls, _ = (float(v) for v in line.split(","))
        boxes.setdefault(str(int(t)), {})[int(f) - 1] = (x - 1, y - 1, x - 1 + w, y - 1 + h)
        if cls == 1 and conf == 1:
            pedestrians.add(str(int(t)))
    tracks = read(tmp_path / "out", "AcademicVideoTrack", "mot")
    assert tracks and {a for r in tracks for a in r["anno_id"]} <= pedestrians
    assert check_boxes(tracks, boxes) > 200  # 35 sampled frames, ~7 visible pedestrians each
    check_ground(tracks, read(tmp_path / "out", "AcademicVideoGround", "mot"))
    (point,) = read(tmp_path / "out", "AcademicVideoPoint", "mot")
    assert point["category"] == "person" and 0 < point["count"] <= len(pedestrians)


@pytest.mark.parametrize("seq", ["airplane-1", "fox-20"])
def test_real_lasot_sequence_converts_and_holds_to_its_boxes(shared, tmp_path, seq):
    """LaSOT's real groundtruth.txt, absence flags, attributes and sentence (the official toolkit's
    copies), laid out as the release: the toolkit's one-flag-per-line `absent` file becomes the
    release's one-line full_occlusion.txt (out_of_view.txt all 0); frames painted from the boxes."""
    from tests.synthetic import paint_boxes

    annos = shared / "lasot" / "annos"
    folder = tmp_path / "LaSOT" / seq.split("-")[0] / seq
    folder.mkdir(parents=True)
    (folder / "groundtruth.txt").write_bytes((annos / f"{seq}.txt").read_bytes())
    absent = [line.strip() for line in (annos / "absent" / f"{seq}.txt").read_text().splitlines() if line.strip()]
    (folder / "full_occlusion.txt").write_text(",".join(absent))
    (folder / "out_of_view.txt").write_text(",".join("0" for _ in absent))
    (folder / "nlp.txt").write_bytes((annos / "nlp" / f"{seq}.txt").read_bytes())
    rows = [[float(v) for v in line.split(",")] for line in (folder / "groundtruth.txt").read_text().splitlines()]
    width = int(max(1280, max(x + w for x, y, w, h in rows) + 1))
    height = int(max(720, max(y + h for x, y, w, h in rows) + 1))
    boxes = {i: (x - 1, y - 1, x - 1 + w, y - 1 + h) for i, (x, y, w, h) in enumerate(rows)}
    paint_boxes(str(folder / "img"), len(rows), width, height,
                {i: [(1, *b)] for i, b in boxes.items() if absent[i] == "0" and rows[i][2] > 0}, digits=8, every=15)
    convert("lasot", tmp_path / "LaSOT", tmp_path / "out", "train")
    tracks = read(tmp_path / "out", "AcademicVideoTrack", "lasot")
    sentence = (annos / "nlp" / f"{seq}.txt").read_text().strip()
    assert {(r["task"], r["expression"]) for r in tracks} >= {("track", sentence), ("single_point_track", "object")}
    for r in tracks:  # no visible point on a frame the flags mark absent
        assert all(p["occluded"] for f, src in zip(r["frame_trajectories"], r["source_frames"])
                   for p in f["points"] if absent[src] == "1")
    assert check_boxes(tracks, {r["anno_id"][0]: boxes for r in tracks}) > 20
    check_ground(tracks, read(tmp_path / "out", "AcademicVideoGround", "lasot"))


def test_real_ovis_excerpt_converts_and_holds_to_its_masks(shared, tmp_path):
    """OVIS's real annotations_train excerpt (video 85aa3b0e, 3 frames, 10 objects, 7-digit `img_`
    names, box areas) converts; every point inside its object's real mask."""
    src = shared / "ovis" / "annotations_train.excerpt.json"
    root = tmp_path / "ovis"
    root.mkdir()
    (root / "annotations_train.json").write_bytes(src.read_bytes())
    convert("ovis", root, tmp_path / "out", "train")
    data = json.loads(src.read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    masks, queries = {}, {}
    for a in data["annotations"]:
        masks[str(a["id"])] = {t: cocomask.decode(s).astype(bool) for t, s in enumerate(a["segmentations"]) if s}
        queries.setdefault(names[a["category_id"]], set()).add(str(a["id"]))
    tracks = read(tmp_path / "out", "AcademicVideoTrack", "ovis")
    assert {r["expression"] for r in tracks} == set(queries)
    check_tracks(tracks, masks, queries)
    check_ground(tracks, read(tmp_path / "out", "AcademicVideoGround", "ovis"))
    for p in read(tmp_path / "out", "AcademicVideoPoint", "ovis"):
        assert p["count"] == len({o for o in queries[p["category"]] if masks[o].get(0) is not None and masks[o][0].any()})


def test_real_sav_manual_masklets_convert_and_hold_to_their_masks(shared, tmp_path):
    """SA-V's real manual masklet file (sav_000001, 5 masklets, 121 annotated frames at 6 fps)."""
    folder = tmp_path / "sav" / "sav_train" / "sav_000"
    folder.mkdir(parents=True)
    src = shared / "sav_000001_manual.json"
    (folder / src.name).write_bytes(src.read_bytes())
    convert("sav", tmp_path / "sav", tmp_path / "out", "train")
    raw = json.loads(src.read_text())
    masks = {str(m): {4 * t: cocomask.decode(frame[k]).astype(bool) for t, frame in enumerate(raw["masklet"])}
             for k, m in enumerate(raw["masklet_id"])}
    tracks = read(tmp_path / "out", "AcademicVideoTrack", "sav")
    assert sorted(r["anno_id"][0] for r in tracks) == sorted(masks)
    check_tracks(tracks, masks, {})


def test_real_ref_youtube_vos_expressions_in_the_train_layout(shared, tmp_path):
    """Ref-YouTube-VOS's real Codalab valid meta_expressions (video 0062f687f1: six expressions over
    19 frames named 00000, 00005, ...) with each expression's obj_id and category from the URVOS
    object layout of the same video, laid out as a train split (valid has no masks and its
    expressions no obj_id); the masks are drawn (palette PNGs, one value per object)."""
    from PIL import Image

    data = json.loads((shared / "ref_youtube_vos" / "valid_meta_expressions.json").read_text())
    layout = json.loads((shared / "ref_youtube_vos" / "valid_meta_expressions_objects_layout_URVOS.json").read_text())
    vid = "0062f687f1"
    entry, objects = data["videos"][vid], layout["videos"][vid]["objects"]
    obj_of = {text: oid for oid, o in objects.items() for text in o["expressions"]}
    for e in entry["expressions"].values():
        e["obj_id"] = obj_of[e["exp"]]
    frames = entry["frames"]
    root = tmp_path / "rytvos"
    discs = [(int(oid), 10 + 14 * k, 20, 0.6, 0.1, 6, 0, len(frames) - 1) for k, oid in enumerate(sorted(objects, key=int))]
    masks = L.scene(len(frames), discs, occlude=True)
    L.jpegs(str(root / "train" / "JPEGImages" / vid), [f"{f}.jpg" for f in frames])
    (root / "train" / "Annotations" / vid).mkdir(parents=True)
    for i, name in enumerate(frames):
        label = np.zeros((L.H, L.W), np.uint8)
        for oid, per in masks.items():
            label[per[i]] = oid
        im = Image.fromarray(label, mode="P")
        im.putpalette([0, 0, 0] + [200, 0, 0] * 3 + [0] * 756)
        im.save(root / "train" / "Annotations" / vid / f"{name}.png")
    meta = {"videos": {vid: {"objects": {oid: {"category": o["category"], "frames": o["frames"]} for oid, o in objects.items()}}}}
    (root / "train" / "meta.json").write_text(json.dumps(meta))
    (root / "meta_expressions" / "train").mkdir(parents=True)
    (root / "meta_expressions" / "train" / "meta_expressions.json").write_text(json.dumps({"videos": {vid: entry}}))
    convert("ref_youtube_vos", root, tmp_path / "out", "train")
    # every 5th frame of 30 fps video: frame i of the list is source frame i at 6 fps
    truth = {str(oid): dict(enumerate(per)) for oid, per in masks.items()}
    queries = {" ".join(e["exp"].split()): {e["obj_id"]} for e in entry["expressions"].values()}
    tracks = read(tmp_path / "out", "AcademicVideoTrack", "ref_youtube_vos")
    assert {r["expression"] for r in tracks} == set(queries)
    check_tracks(tracks, truth, queries)
    check_ground(tracks, read(tmp_path / "out", "AcademicVideoGround", "ref_youtube_vos"))
    points = read(tmp_path / "out", "AcademicVideoPoint", "ref_youtube_vos")
    assert {p["category"] for p in points} == set(queries) and all(p["count"] == 1 for p in points)
