"""Mask sources written in their real release layouts from a known scene, and a row checker.

`scene()` draws discs that move, overlap and leave the view; each writer lays the scene out as one
dataset's release does (MeViS, ReVOS, OVIS, LV-VIS, YouTube-VIS, BURST, palette-PNG folders) and
returns the truth: per video, each object's mask on every frame and each query's objects. The
checker then reads the built shards and holds every row to the truth.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from pipeline.stages import masks as M
from pipeline.stages import molmo_text as T

W, H = 64, 48


@dataclass
class Truth:
    fps: float
    masks: dict[str, dict[int, np.ndarray]]  # object key -> frame -> mask (all frames)
    queries: dict[str, set[str]] = field(default_factory=dict)  # text -> object keys


def scene(n: int, objects: list[tuple], occlude: bool = False) -> dict[int, list[np.ndarray]]:
    """Masks of discs: objects = [(id, x0, y0, dx, dy, r, first, last)]. With `occlude`, later
    objects hide earlier ones (as one palette image must); else masks may overlap."""
    yy, xx = np.mgrid[:H, :W]
    out = {}
    for oid, x0, y0, dx, dy, r, first, last in objects:
        out[oid] = []
        for f in range(n):
            cx, cy = x0 + dx * f, y0 + dy * f
            m = ((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r) & (first <= f <= last)
            out[oid].append(m)
    if occlude:
        ids = list(out)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                for f in range(n):
                    out[a][f] = out[a][f] & ~out[b][f]
    return out


DISCS = [(1, 10, 20, 1.0, 0.0, 6, 0, 59), (2, 50, 24, -0.5, 0.2, 7, 5, 59), (3, 30, 10, 0.0, 0.3, 5, 20, 40)]


def jpegs(folder: str, names: list[str]) -> None:
    os.makedirs(folder, exist_ok=True)
    for i, name in enumerate(names):
        Image.fromarray(np.full((H, W, 3), (i * 4) % 255, np.uint8)).save(os.path.join(folder, name), quality=90)


def write_mevis(root: str, split: str = "train", n: int = 60, frames: bool = True, revos: bool = False) -> dict[str, Truth]:
    """MeViS (`<root>/<split>/...`) or ReVOS (`<root>/...`, path-like keys, type_id) layout."""
    base = root if revos else os.path.join(root, split)
    os.makedirs(base, exist_ok=True)
    masks = scene(n, DISCS)
    vid = "UVO/all/-fbscFfkh4M" if revos else "vid_a"
    names = [f"{i:05d}" for i in range(n)]
    anno = {1: "101", 2: "102", 3: "103"}
    mask_dict = {anno[o]: [M.encode(masks[o][f]) if masks[o][f].any() else None for f in range(n)] for o in masks}
    exps = {
        "0": {"exp": "the disc moving right", "obj_id": [0], "anno_id": [101]},
        "1": {"exp": "discs that move", "obj_id": [0, 1], "anno_id": [101, 102]},
        "2": {"exp": "the disc moving right", "obj_id": [0], "anno_id": [101]},  # repeated: kept once
        "3": {"exp": "all the discs", "obj_id": [0, 1, 2], "anno_id": [101, 102, 103]},
    }
    if revos:
        exps["1"]["type_id"] = 1
        exps["4"] = {"exp": "the red elephant", "obj_id": [], "anno_id": [], "type_id": 2}
        names_listed = list(reversed(names))  # ReVOS keeps file order: here not sorted
        mask_dict = {k: list(reversed(v)) for k, v in mask_dict.items()}
    else:
        names_listed = names[::-1]  # MeViS sorts the frames; its mask lists follow the sorted order
    meta = {"videos": {vid: {"frames": names_listed, "expressions": exps}}}
    meta_name = f"meta_expressions_{split}_.json" if revos else "meta_expressions.json"
    with open(os.path.join(base, meta_name), "w") as f:
        json.dump(meta, f)
    with open(os.path.join(base, "mask_dict.json"), "w") as f:
        json.dump(mask_dict, f)
    if frames:
        jpegs(os.path.join(base, "JPEGImages", vid), [f"{n}.jpg" for n in names])
    t = Truth(6.0 if revos else 5.0, {anno[o]: dict(enumerate(masks[o])) for o in masks})
    if revos:  # file order is reversed time: frame i of the record is names_listed[i]
        t.masks = {k: {i: v[n - 1 - i] for i in range(n)} for k, v in t.masks.items()}
    t.queries = {"the disc moving right": {"101"}, "discs that move": {"101", "102"},
                 "all the discs": {"101", "102", "103"}}
    if revos:
        t.queries["the red elephant"] = set()
    return {vid: t}


def write_mevis_challenge(root) -> dict:
    """MeViS valid as released: expressions with only `exp`, no mask_dict.json (`root` a Path)."""
    write_mevis(str(root), split="valid")
    meta_path = root / "valid" / "meta_expressions.json"
    meta = json.loads(meta_path.read_text())
    for entry in meta["videos"].values():
        for e in entry["expressions"].values():
            del e["obj_id"], e["anno_id"]
    meta_path.write_text(json.dumps(meta))
    (root / "valid" / "mask_dict.json").unlink()
    return meta


def write_video_coco(root: str, json_path: str, frames_root: str, name_of, n: int = 30,
                     list_counts: bool = False, polygon: bool = False, backslash: bool = False) -> dict[str, Truth]:
    masks = scene(n, DISCS[:2] + [(3, 30, 10, 0.0, 0.3, 5, 0, 29)])
    vid = "85aa3b0e"
    files = [name_of(vid, i) for i in range(n)]
    anns = []
    for k, (o, per) in enumerate(sorted(masks.items())):
        segs = []
        for f, m in enumerate(per):
            if not m.any():
                segs.append(None)
                continue
            rle = M.encode(m)
            if list_counts:
                segs.append({"size": [H, W], "counts": [int(c) for c in uncompressed_counts(m)]})
            else:
                segs.append(rle)
        if polygon and o == 3:  # a square polygon instead of an RLE on every frame of object 3
            segs = [[[20.0, 20.0, 30.0, 20.0, 30.0, 30.0, 20.0, 30.0]] for _ in range(n)]
            masks[o] = [np.zeros((H, W), bool) for _ in range(n)]
            for m in masks[o]:
                m[20:30, 20:30] = True
        anns.append({"id": 11 + k, "video_id": 1, "category_id": 1 if o < 3 else 2, "segmentations": segs,
                     "bboxes": [None] * n, "areas": [None] * n, "iscrowd": 0, "length": 1})
    data = {"info": {}, "videos": [{"id": 1, "width": W, "height": H, "length": n,
                                    "file_names": [f.replace("/", "\\") if backslash else f for f in files]}],
            "annotations": anns, "categories": [{"id": 1, "name": "Disc", "supercategory": "object"},
                                                {"id": 2, "name": "square", "supercategory": "object"}]}
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(data, f)
    for i, name in enumerate(files):
        jpegs(os.path.join(frames_root, os.path.dirname(name)), [os.path.basename(name)])
    t = Truth(4.0 if "lvvis" in json_path else 6.0, {str(11 + k): dict(enumerate(masks[o])) for k, o in enumerate(sorted(masks))})
    t.queries = {"Disc": {"11", "12"}, "square": {"13"}}
    return {vid: t}


def uncompressed_counts(mask: np.ndarray) -> list[int]:
    """Uncompressed COCO RLE counts (column-major runs starting with background)."""
    flat = np.asarray(mask, np.uint8).flatten(order="F")
    runs, current, count = [], 0, 0
    for v in flat:
        if v != current:
            runs.append(count)
            current, count = v, 0
        count += 1
    runs.append(count)
    return runs


def write_burst(root: str, split: str = "val", n: int = 60, fps: int = 6) -> dict[str, Truth]:
    """BURST: 6 fps sequence annotated once a second (every 6th frame)."""
    masks = scene(n, DISCS)
    paths = [f"frame{i:04d}.jpg" for i in range(n)]
    annotated = paths[::fps]
    segs = []
    for p in annotated:
        f = paths.index(p)
        segs.append({str(o): {"rle": M.encode(masks[o][f])["counts"], "is_gt": True, "score": 1.0}
                     for o in masks if masks[o][f].any()})
    seq = {"id": 7, "width": W, "height": H, "dataset": "YFCC100M", "seq_name": "v_123", "fps": fps,
           "all_image_paths": paths, "annotated_image_paths": annotated, "neg_category_ids": [],
           "not_exhaustive_category_ids": [805], "track_category_ids": {"1": 95, "2": 95, "3": 805},
           "segmentations": segs}
    path = os.path.join(root, "annotations", split, "all_classes.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"sequences": [seq], "categories": [{"id": 95, "name": "bird"}, {"id": 805, "name": "person"}],
                   "split": split}, f)
    jpegs(os.path.join(root, "frames", split, "YFCC100M", "v_123"), paths)
    t = Truth(float(fps), {str(o): dict(enumerate(masks[o])) for o in masks})
    t.queries = {"bird": {"1", "2"}, "person": {"3"}}
    return {"YFCC100M/v_123": t}


def write_palette(frames_dir: str, masks_dir: str, n: int = 60, digits: int = 5, start: int = 0,
                  panoptic: dict[int, int] | None = None, every: int = 1) -> Truth:
    """One video's JPEG and palette (or panoptic, value per object from `panoptic`) PNG folders."""
    masks = scene(n, DISCS, occlude=True)
    names = [f"{start + i:0{digits}d}" for i in range(n)]
    jpegs(frames_dir, [f"{x}.jpg" for x in names])
    os.makedirs(masks_dir, exist_ok=True)
    for f in range(0, n, every):
        label = np.zeros((H, W), np.uint16 if panoptic else np.uint8)
        for o in masks:
            label[masks[o][f]] = panoptic[o] if panoptic else o
        if panoptic:
            Image.fromarray(label.astype(np.uint16)).save(os.path.join(masks_dir, f"{names[f]}.png"))
        else:
            im = Image.fromarray(label, mode="P")
            im.putpalette([0, 0, 0, 200, 0, 0, 0, 200, 0, 0, 0, 200] + [0] * 756)
            im.save(os.path.join(masks_dir, f"{names[f]}.png"))
    keys = {o: str(panoptic[o]) if panoptic else str(o) for o in masks}
    return Truth(5.0 if "mose" in frames_dir else 6.0, {keys[o]: {f: masks[o][f] for f in range(0, n, every)} for o in masks})


def write_ref_youtube_vos(root: str, split: str = "train") -> dict[str, Truth]:
    """Ref-YouTube-VOS: every 5th frame (names 00000, 00005, ...), meta.json, meta_expressions."""
    vid = "003234408d"
    t = write_palette(os.path.join(root, split, "JPEGImages", vid), os.path.join(root, split, "Annotations", vid))
    for folder in ("JPEGImages", "Annotations"):  # rename 00001 -> 00005 ...: every 5th frame of 30 fps
        d = os.path.join(root, split, folder, vid)
        for name in sorted(os.listdir(d), reverse=True):
            stem, ext = os.path.splitext(name)
            os.rename(os.path.join(d, name), os.path.join(d, f"{int(stem) * 5:05d}{ext}"))
    frames = [f"{i * 5:05d}" for i in range(60)]
    meta = {"videos": {vid: {"objects": {"1": {"category": "ball", "frames": frames},
                                         "2": {"category": "ball", "frames": frames},
                                         "3": {"category": "frisbee", "frames": frames}}}}}
    exps = {"videos": {vid: {"expressions": {"0": {"exp": "a ball rolling right", "obj_id": "1"},
                                             "1": {"exp": "a  ball rolling right", "obj_id": "1"},
                                             "2": {"exp": "the frisbee", "obj_id": "3"}}, "frames": frames}}}
    with open(os.path.join(root, split, "meta.json"), "w") as f:
        json.dump(meta, f)
    os.makedirs(os.path.join(root, "meta_expressions", split), exist_ok=True)
    with open(os.path.join(root, "meta_expressions", split, "meta_expressions.json"), "w") as f:
        json.dump(exps, f)
    t.queries = {"a ball rolling right": {"1"}, "the frisbee": {"3"}}
    return {vid: t}


def write_ref_davis17(root: str) -> dict[str, Truth]:
    """Ref-DAVIS17: DAVIS 480p folders, ImageSets, latin-1 annot2 with a misspelled video name."""
    davis = os.path.join(root, "DAVIS")
    t = write_palette(os.path.join(davis, "JPEGImages", "480p", "classic-car"),
                      os.path.join(davis, "Annotations_unsupervised", "480p", "classic-car"))
    t.fps = 24.0
    os.makedirs(os.path.join(davis, "ImageSets", "2017"), exist_ok=True)
    with open(os.path.join(davis, "ImageSets", "2017", "val.txt"), "w") as f:
        f.write("classic-car\n")
    text = os.path.join(root, "davis_text_annotations")
    os.makedirs(text, exist_ok=True)
    with open(os.path.join(text, "Davis17_annot1_full_video.txt"), "w") as f:
        f.write('clasic-car 1 "a disc moving right"\nclasic-car 2 "the disc on the right"\n')
    with open(os.path.join(text, "Davis17_annot2_full_video.txt"), "wb") as f:
        f.write('clasic-car 3 "a small disc, caf\u00e9 colour"\n'.encode("latin-1"))
    t.queries = {"a disc moving right": {"1"}, "the disc on the right": {"2"}, "a small disc, caf\u00e9 colour": {"3"}}
    return {"classic-car": t}


def write_lvos(root: str, split: str = "train") -> dict[str, Truth]:
    vid = "0tCWPOrc"
    t = write_palette(os.path.join(root, split, "JPEGImages", vid), os.path.join(root, split, "Annotations", vid),
                      digits=8, start=1)
    objects = {o: {"frame_range": {"start": "00000001", "end": "00000060", "frame_nums": 60}} for o in ("1", "2", "3")}
    with open(os.path.join(root, split, f"{split}_meta.json"), "w") as f:
        json.dump({"videos": {vid: {"objects": objects}}}, f)
    captions = {"1": {**objects["1"], "caption": "a disc moving to the right"}}
    with open(os.path.join(root, split, f"{split}_expression_meta.json"), "w") as f:
        json.dump({"videos": {vid: {"objects": captions}}}, f)
    t.queries = {"a disc moving to the right": {"1"}}
    return {vid: t}


def write_reasonvos(root: str) -> dict[str, Truth]:
    """ReasonVOS: a binary mask folder per object (`<source>_<video>_<obj_id>`, a PNG on every frame,
    empty where the object is not seen), expressions as a list with an exp_id repeated."""
    vid, n = "4c2d2e0a", 30
    masks = scene(n, DISCS)
    names = [f"{i:05d}" for i in range(n)]
    jpegs(os.path.join(root, "JPEGImages", vid), [f"{x}.jpg" for x in names])
    for o, per in masks.items():
        folder = os.path.join(root, "Annotations", f"mose_{vid}_{o}")
        os.makedirs(folder, exist_ok=True)
        for f, m in enumerate(per):
            Image.fromarray((m * 255).astype(np.uint8), mode="L").save(os.path.join(folder, f"{names[f]}.png"))
    exps = [{"obj_id": "1", "exp_id": "0", "exp_text": "the disc that leaves the frame first", "is_sent": False},
            {"obj_id": "2", "exp_id": "1", "exp_text": "what drifts left and down", "is_sent": False},
            {"obj_id": "3", "exp_id": "1", "exp_text": "the object that shows up last", "is_sent": True}]
    with open(os.path.join(root, "meta_expressions.json"), "w") as f:
        json.dump({"videos": {vid: {"source": "mose", "frames": names, "expressions": exps}}}, f)
    t = Truth(6.0, {f"mose_{vid}_{o}": dict(enumerate(per)) for o, per in masks.items()})
    t.queries = {e["exp_text"]: {f"mose_{vid}_{e['obj_id']}"} for e in exps}
    return {vid: t}


def write_vicas(root: str, split: str = "train", seconds: int = 5) -> dict[str, Truth]:
    """ViCaS: a JSON per video with COCO RLEs per track on every frame of a 30 fps video (is_gt once
    a second, SAM 2's masks on the others), the split list, the frames decoded at 30 fps."""
    vid, n = 9505, 30 * seconds
    masks = scene(n, [(1, 4, 20, 0.35, 0.0, 6, 0, n - 1), (2, 60, 24, -0.3, 0.05, 7, 15, n - 1)])
    jpegs(os.path.join(root, "video_frames", f"{vid:06d}"), [f"{i:05d}.jpg" for i in range(n)])
    segs = []
    for f in range(n):
        ids = [o for o in masks if masks[o][f].any()]
        segs.append({"filename": f"{f:05d}.jpg", "is_gt": f % 30 == 0, "track_ids": ids,
                     "mask_rles": [M.encode(masks[o][f]) for o in ids]})
    data = {"video_id": vid, "src_dataset": "oops", "filename": f"{vid:06d}_Some_Fails.mp4", "image_size": [H, W],
            "caption_raw_en": "Two discs move.", "object_referrals": [
                {"prompt": "the disc moving right", "track_ids": [1]}, {"prompt": "both discs", "track_ids": [1, 2]}],
            "segmentations": segs, "all_track_ids": [1, 2]}
    for folder, name, content in (("annotations/v1.0", f"{vid:06d}.json", data), ("splits/v1.0", f"{split}.json", [vid])):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        with open(os.path.join(root, folder, name), "w") as f:
            json.dump(content, f)
    t = Truth(30.0, {str(o): dict(enumerate(per)) for o, per in masks.items()})
    t.queries = {"the disc moving right": {"1"}, "both discs": {"1", "2"}}
    return {f"{vid:06d}": t}


def write_vipseg(root: str, split: str = "train") -> dict[str, Truth]:
    """VIPSeg: things 1 and 2 are category 61 instances, object 3 is stuff (category 5)."""
    vid = "12_n-ytHkMceew"
    t = write_palette(os.path.join(root, "imgs", vid), os.path.join(root, "panomasks", vid),
                      panoptic={1: 6101, 2: 6102, 3: 5})
    with open(os.path.join(root, "panoVIPSeg_categories.json"), "w") as f:
        # JSON ids are 0-based, PNG category values 1-based: PNG 61 is JSON id 60
        json.dump([{"id": 60, "name": "car", "isthing": 1}, {"id": 4, "name": "grass", "isthing": 0}], f)
    with open(os.path.join(root, f"{split}.txt"), "w") as f:
        f.write(vid + "\n")
    t.queries = {"car": {"6101", "6102"}}
    return {vid: t}


def write_vipseg_release(root: str, split: str = "train") -> dict[str, Truth]:
    """VIPSeg as released (README figure and label_num_dic_final.json's structure, from
    VIPSeg-Dataset/VIPSeg-Dataset@92e1459): `imgs/` and `panomasks/` with 8-digit names from 1,
    `{name: "id"}` categories 1-based with `"others": "0"`, no categories JSON. Person instances
    6100 (instance 0) and 6101, stuff 'grass' value 5."""
    vid = "1000_TI-3Jlujxlk"
    t = write_palette(os.path.join(root, "imgs", vid), os.path.join(root, "panomasks", vid),
                      panoptic={1: 6100, 2: 6101, 3: 5}, digits=8, start=1)
    with open(os.path.join(root, "label_num_dic_final.json"), "w") as f:
        json.dump({"others": "0", "wall": "1", "grass": "5", "person": "61", "car": "62"}, f)
    with open(os.path.join(root, f"{split}.txt"), "w") as f:
        f.write(vid + "\n")
    t.queries = {"person": {"6100", "6101"}}
    return {vid: t}


# -- checking built rows against the truth ---------------------------------------------------------

def read_rows(out: str, dataset: str, source: str) -> list[dict]:
    files = sorted(glob.glob(os.path.join(out, dataset, source, "*.parquet")))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def inside(mask: np.ndarray, x: float, y: float) -> bool:
    r, c = int(np.floor(y)), int(np.floor(x))
    return 0 <= r < mask.shape[0] and 0 <= c < mask.shape[1] and bool(mask[r, c])


def check_point_rows(rows: list[dict], truth: dict[str, Truth]) -> int:
    """Every row: its points inside its query's objects, one per object seen, count right."""
    for r in rows:
        t = truth[r["video_name"]]
        objs = t.queries[r["category"]]
        assert all(abs(ts * 2 - round(ts * 2)) < 1e-9 for ts in r["timestamps"]), r["timestamps"]
        seen = set()
        for ts, pts in zip(r["timestamps"], r["points"]):
            frame = int(round(ts * t.fps))
            for p in pts:
                x, y = p["x"] / 100 * W, p["y"] / 100 * H
                owners = {o for o in objs if frame in t.masks[o] and inside(t.masks[o][frame], x, y)}
                assert owners - seen, f"{r['id']}: point {p} at {ts}s is inside none of {sorted(objs)} (new)"
                seen.add(sorted(owners - seen)[0])
        visible = {o for o in objs if any(m.any() for f, m in t.masks[o].items()
                                          if r["clip_start_time"] <= f / t.fps < r["clip_start_time"] + 63)}
        assert r["count"] == len(seen) <= len(visible), (r["id"], r["count"], seen, visible)
        if not objs:
            assert r["count"] == 0 and r["answer"] == "There are none."
        else:
            parsed = T.parse(r["answer"])[0]
            assert sum(len(f.points) for f in parsed.frames) == r["count"]
    return len(rows)


def check_track_rows(rows: list[dict], truth: dict[str, Truth]) -> int:
    """Every track row: exactly its query's objects, each visible point inside its own mask."""
    for r in rows:
        t = truth[r["source_video"]]
        key_of = dict(zip(r["obj_id"], r["anno_id"]))
        if r["task"] == "track":
            assert set(r["anno_id"]) <= t.queries[r["expression"]], (r["id"], r["anno_id"])
        for fr, source_frame in zip(r["frame_trajectories"], r["source_frames"]):
            assert fr["frame"] == round(fr["time"] * r["fps"])
            for p in fr["points"]:
                mask = t.masks[key_of[p["id"]]].get(source_frame)
                if p["occluded"]:
                    assert mask is None or not mask.any()
                else:
                    assert mask is not None and inside(mask, *p["point"]), (r["id"], p, source_frame)
    return len(rows)
