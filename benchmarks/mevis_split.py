"""A MeViS split of N short videos in the release layout, for the benchmarks that need frames a
Molmo2 name reads (benchmarks/export_molmo2.py, benchmarks/rates.py): each video has `frames`
JPEGs of 160x120 at 5 fps (hard links to one set of template frames, so 10,000 videos cost
seconds to lay out), two moving discs (COCO RLEs in mask_dict.json) and three expressions."""

from __future__ import annotations

import json
import os

import numpy as np


def write_mevis(root: str, n: int, frames: int = 10, split: str = "train") -> str:
    """`root/<split>/{JPEGImages, meta_expressions.json, mask_dict.json}`; returns root."""
    from PIL import Image

    from pipeline.stages import masks as M

    base = os.path.join(root, split)
    template = os.path.join(root, "_template")
    os.makedirs(template, exist_ok=True)
    names = [f"{i:05d}" for i in range(frames)]
    for i, name in enumerate(names):
        Image.fromarray(np.full((120, 160, 3), (40 + 15 * i) % 256, np.uint8)).save(os.path.join(template, f"{name}.jpg"))
    yy, xx = np.mgrid[:120, :160]
    discs = {}
    for k, (x0, dx) in enumerate(((20, 8), (140, -6))):
        discs[k] = [M.encode((xx + 0.5 - (x0 + dx * (f % 15))) ** 2 + (yy + 0.5 - 60) ** 2 <= 144) for f in range(frames)]
    videos, mask_dict = {}, {}
    for v in range(n):
        vid = f"v{v:06d}"
        a, b = str(2 * v), str(2 * v + 1)
        mask_dict[a], mask_dict[b] = discs[0], discs[1]
        videos[vid] = {"frames": names, "expressions": {
            "0": {"exp": "the disc moving right", "obj_id": [0], "anno_id": [int(a)]},
            "1": {"exp": "the disc moving left", "obj_id": [1], "anno_id": [int(b)]},
            "2": {"exp": "both discs", "obj_id": [0, 1], "anno_id": [int(a), int(b)]}}}
        folder = os.path.join(base, "JPEGImages", vid)
        os.makedirs(folder, exist_ok=True)
        for name in names:
            os.link(os.path.join(template, f"{name}.jpg"), os.path.join(folder, f"{name}.jpg"))
    with open(os.path.join(base, "meta_expressions.json"), "w") as f:
        json.dump({"videos": videos}, f)
    with open(os.path.join(base, "mask_dict.json"), "w") as f:
        json.dump(mask_dict, f)
    return root
