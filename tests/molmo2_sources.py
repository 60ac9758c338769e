"""One small synthetic video (or a few) of every source that fills a Molmo2 name, each in its release
layout, and the build of them all at 1 and 2 fps: what `tests/test_export.py` exports and
`tests/test_molmo2_reads.py` reads with Molmo2's own code.

Mask sources come from `tests/mask_layouts.py` (moving discs with true masks), box sources from
`tests/synthetic.py` (a painted box drifting right; GrabCut turns it into masks)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests import mask_layouts as L
from tests.synthetic import lasot_sequence, paint_boxes, sot_sequence


def _mevis_long_video(root: Path, n: int = 360) -> None:
    """A 72 s MeViS video (5 fps) in the train split: two track clips, a second 63 s point window,
    and a capitalised expression (Molmo2 lower-cases point labels, not track expressions)."""
    import numpy as np

    from pipeline.stages import masks as M

    base = root / "train"
    yy, xx = np.mgrid[:L.H, :L.W]
    masks = []
    for f in range(n):
        cx, cy = 12 + 40 * abs(np.sin(f / 40)), 24
        masks.append((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= 36)
    meta = json.loads((base / "meta_expressions.json").read_text())
    names = [f"{i:05d}" for i in range(n)]
    meta["videos"]["vid_long"] = {"frames": names, "expressions": {"0": {"exp": "The Disc bouncing", "obj_id": [0],
                                                                        "anno_id": [901]}}}
    (base / "meta_expressions.json").write_text(json.dumps(meta))
    mask_dict = json.loads((base / "mask_dict.json").read_text())
    mask_dict["901"] = [M.encode(m) for m in masks]
    (base / "mask_dict.json").write_text(json.dumps(mask_dict))
    L.jpegs(str(base / "JPEGImages" / "vid_long"), [f"{n}.jpg" for n in names])


def _ref_davis17(root: Path) -> dict:
    """DAVIS 2017 with a train video and a val video, and their expressions; the val video's truth."""
    truth = L.write_ref_davis17(str(root))  # classic-car in val
    davis = root / "DAVIS"
    L.write_palette(str(davis / "JPEGImages" / "480p" / "bear"), str(davis / "Annotations_unsupervised" / "480p" / "bear"))
    (davis / "ImageSets" / "2017" / "train.txt").write_text("bear\n")
    text = root / "davis_text_annotations" / "Davis17_annot1_full_video.txt"
    text.write_text(text.read_text() + 'bear 1 "a disc crossing the frame"\nbear 2 "the second disc"\n')
    return truth


def _ref_youtube_vos_valid(root: Path) -> None:
    """The valid split as released: frames and expressions with only `exp` (and a repeat), no masks."""
    vid = "0062f687f1"
    L.jpegs(str(root / "valid" / "JPEGImages" / vid), [f"{i * 5:05d}.jpg" for i in range(30)])
    exps = {"0": {"exp": "a ball rolling right"}, "1": {"exp": "the ball that rolls"}, "2": {"exp": "the ball that rolls"}}
    (root / "meta_expressions" / "valid").mkdir(parents=True, exist_ok=True)
    with open(root / "meta_expressions" / "valid" / "meta_expressions.json", "w") as f:
        json.dump({"videos": {vid: {"expressions": exps, "frames": [f"{i * 5:05d}" for i in range(30)]},
                              "test_only_video": {"expressions": {"0": {"exp": "a cat"}}, "frames": ["00000"]}}}, f)


def _moca(root: Path, n: int = 60) -> None:
    """MoCA's VIA export: nine preamble lines, then file_list / spatial_coordinates rows."""
    boxes = {i: [(1, 20 + i, 30, 60 + i, 70)] for i in range(n)}
    (root / "Annotations").mkdir(parents=True)
    lines = [f"# VIA export preamble line {i}" for i in range(9)] + [",file_list,spatial_coordinates,metadata"]
    lines += [f'{i},/arctic_fox_1/{i:05d}.jpg,"[2,{20 + i},30,40,40]",{{\'1\': \'0\'}}' for i in range(n)]
    (root / "Annotations" / "annotations.csv").write_text("\n".join(lines) + "\n")
    paint_boxes(str(root / "JPEGImages" / "arctic_fox_1"), n, 160, 120, boxes, digits=5, start=0)


def _sot(root: Path) -> dict[str, dict]:
    """One sequence of each single-object-track release Molmo2 names; {source: spec}."""
    specs = {}
    lasot_sequence(str(root / "lasot"), "fox", "fox-3", 2.0, "a red fox behind a wall")
    specs["lasot"] = {"root": root / "lasot", "split": "train"}
    for source, folder, frames, digits, gt, extra in [
        ("uw_cot220", "UW-COT220/crab_1", "imgs", 8, "groundtruth_rect.txt", {"language.txt": "a crab"}),
        ("webuot1m", "WebUOT-1M/Train/video_0001", "imgs", 8, "groundtruth_rect.txt",
         {"language.txt": "a yellow fish", "absent.txt": "0\n" * 60}),
        ("tnl2k", "TNL2K/train/advSamp_Baseball_game_002-Done", "imgs", 5, "groundtruth.txt",
         {"language.txt": "the baseball player "}),
        ("webuav3m", "WebUAV-3M/Train/car_001", "img", 6, "groundtruth_rect.txt",
         {"language.txt": "a white car", "absent.txt": "0\n" * 60}),
        ("vasttrack", "VastTrack/train/Aerial Drone/Aerial Drone-1", "imgs", 8, "Groundtruth.txt",
         {"nlp.txt": "a drone"}),
    ]:
        seq = root / folder
        sot_sequence(seq, n=60, frames=frames, digits=digits, gt=gt)
        for name, text in extra.items():
            (seq / name).write_text(text)
        specs[source] = {"root": root / folder.split("/")[0], "split": {"uw_cot220": "test"}.get(source, "train")}
    seq = root / "TNLLT" / "frames" / "JE_Bike_001"  # where Molmo2's TNLLT class opens its frames
    sot_sequence(seq, n=60, frames="imgs", digits=5)
    (seq / "language.txt").write_text("the man riding a bike")
    (seq / "absent_label.txt").write_text("1\n" * 60)  # 1 = visible, as the authors' toolkit reads it
    specs["tnllt"] = {"root": root / "TNLLT", "split": "train"}
    seq = root / "LaTOT" / "boat2"  # the box file named after the sequence, frames from 01110.jpg
    sot_sequence(seq, n=60, frames="img", digits=5, start=1110, gt="boat2.txt")
    (root / "LaTOT" / "train.txt").write_text("boat2.txt\n")
    specs["latot"] = {"root": root / "LaTOT", "split": "train"}
    got = root / "GOT-10k" / "train"
    sot_sequence(got / "GOT-10k_Train_000001", n=60, frames="", digits=8)
    (got / "list.txt").write_text("GOT-10k_Train_000001\n")
    (got / "GOT-10k_Train_000001" / "absence.label").write_text("0\n" * 60)
    (got / "GOT-10k_Train_000001" / "cover.label").write_text("8\n" * 60)
    (got / "GOT-10k_Train_000001" / "meta_info.ini").write_text("[METAINFO]\nobject_class: jellyfish\n")
    specs["got10k"] = {"root": root / "GOT-10k", "split": "train"}
    tn = root / "TrackingNet" / "TRAIN_0"
    boxes = sot_sequence(tn / "frames" / "abc_xyz-1", n=60, frames="", digits=1, start=0)
    os.replace(tn / "frames" / "abc_xyz-1" / "groundtruth.txt", tn / "anno.txt")
    (tn / "anno").mkdir()
    os.replace(tn / "anno.txt", tn / "anno" / "abc_xyz-1.txt")
    assert boxes
    specs["trackingnet"] = {"root": root / "TrackingNet", "split": "TRAIN_0"}
    return specs


def write_all(root: Path) -> tuple[list[dict], dict]:
    """Every source and split that fills a Molmo2 name, written under `root`: the build's sources,
    and {(source, split): {video: mask_layouts.Truth}} of the evaluated splits."""
    mask = root / "masks"
    L.write_mevis(str(mask / "mevis"), "train")
    _mevis_long_video(mask / "mevis")
    truth = {("mevis", "valid_u"): L.write_mevis(str(mask / "mevis"), "valid_u")}
    L.write_mevis_challenge(mask / "mevis")
    L.write_mevis(str(mask / "revos"), revos=True)
    L.write_ref_youtube_vos(str(mask / "rytvos"), "train")
    _ref_youtube_vos_valid(mask / "rytvos")
    truth[("ref_davis17", "val")] = _ref_davis17(mask / "rdavis")
    L.write_burst(str(mask / "burst"), "train")
    r = str(mask / "lvvis")
    L.write_video_coco(r, f"{r}/Annotations/train_instances.json", f"{r}/JPEGImages/train", lambda v, i: f"{v}/{i:05d}.jpg")
    r = str(mask / "ytvis")
    L.write_video_coco(r, f"{r}/train/instances.json", f"{r}/train/JPEGImages", lambda v, i: f"{v}/{i * 5:05d}.jpg")
    r = str(mask / "ovis")
    L.write_video_coco(r, f"{r}/annotations_train.json", f"{r}/train", lambda v, i: f"{v}/img_{i + 1:07d}.jpg")
    L.write_lvos(str(mask / "lvos"))
    L.write_lvos(str(mask / "lvos_v2"))
    os.remove(mask / "lvos_v2" / "train" / "train_expression_meta.json")  # v2 has no captions
    _moca(root / "MoCA")
    truth[("reasonvos", "test")] = L.write_reasonvos(str(mask / "ReasonVOS"))
    L.write_vicas(str(mask / "vicas"), "train", seconds=3)
    sources = [
        {"name": "mevis", "root": mask / "mevis", "split": "train"},
        {"name": "mevis", "root": mask / "mevis", "split": "valid_u"},
        {"name": "mevis", "root": mask / "mevis", "split": "valid"},
        {"name": "revos", "root": mask / "revos", "split": "train"},
        {"name": "ref_youtube_vos", "root": mask / "rytvos", "split": "train"},
        {"name": "ref_youtube_vos", "root": mask / "rytvos", "split": "valid"},
        {"name": "ref_davis17", "root": mask / "rdavis", "split": "train"},
        {"name": "ref_davis17", "root": mask / "rdavis", "split": "val"},
        {"name": "burst", "root": mask / "burst", "split": "train"},
        {"name": "lvvis", "root": mask / "lvvis", "split": "train"},
        {"name": "ytvis", "root": mask / "ytvis", "split": "train"},
        {"name": "ovis", "root": mask / "ovis", "split": "train"},
        {"name": "lvos", "root": mask / "lvos", "split": "train"},
        {"name": "lvos_v2", "root": mask / "lvos_v2", "split": "train"},
        {"name": "moca", "root": root / "MoCA", "split": "all"},
        {"name": "reasonvos", "root": mask / "ReasonVOS", "split": "test"},
        {"name": "vicas", "root": mask / "vicas", "split": "train"},
    ]
    sources += [{"name": name, **spec} for name, spec in _sot(root / "sot").items()]
    return [{**s, "root": str(s["root"])} for s in sources], truth


def build_all(root: Path, out: Path, **settings) -> dict:
    """The build of `write_all(root)` at 1 and 2 fps, videos encoded; returns the truth of its
    evaluated splits (`write_all`)."""
    from pipeline.build import run_build
    from pipeline.config import config_from_dict

    sources, truth = write_all(root)
    raw = {"out": str(out), "segmenter": {"name": "grabcut"}, "sampling_fps": [1, 2], "workers": 2,
           "sources": sources, **settings}
    run_build(config_from_dict(raw), echo=lambda s: None)
    return truth
