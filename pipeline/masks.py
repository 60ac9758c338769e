"""Masks and boxes: COCO RLE helpers and the IoU measures the track filter uses.

Masks travel as COCO RLE everywhere (a 1080p mask is a few hundred bytes instead of 2 MB), and
are decoded one at a time only where pixels are needed (point sampling).
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils

from .records import Box


def encode(mask: np.ndarray) -> dict:
    """Binary HxW array -> COCO RLE with a str `counts`."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _coco(rle: dict) -> dict:
    """Normalise an RLE for pycocotools: str counts -> bytes, list counts -> compressed."""
    counts = rle["counts"]
    h, w = (int(v) for v in rle["size"])
    if isinstance(counts, list):
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": [h, w], "counts": counts}


def decode(rle: dict) -> np.ndarray:
    """COCO RLE (str, bytes or list counts) -> bool HxW array."""
    return mask_utils.decode(_coco(rle)).astype(bool)


def normalise(rle: dict) -> dict:
    """Any COCO RLE -> compressed RLE with str counts (the form written to disk)."""
    c = _coco(rle)
    return {"size": list(c["size"]), "counts": c["counts"].decode("ascii")}


def area(rle: dict) -> int:
    return int(mask_utils.area(_coco(rle)))


def polygons_to_rle(polygons: list[list[float]], height: int, width: int) -> dict:
    rles = mask_utils.frPyObjects(polygons, height, width)
    merged = mask_utils.merge(rles)
    return {"size": [height, width], "counts": merged["counts"].decode("ascii")}


def mask_box(rle: dict) -> Box | None:
    """Tight bounding box (x0, y0, x1, y1, exclusive) of a mask, or None when it is empty."""
    if area(rle) == 0:
        return None
    x, y, w, h = mask_utils.toBbox(_coco(rle)).tolist()
    return (x, y, x + w, y + h)


def box_iou(a: Box | None, b: Box | None) -> float:
    if a is None or b is None:
        return 0.0
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_rle(box: Box, height: int, width: int) -> dict:
    """The box region as an RLE (pixel (r, c) is inside when its centre lies in the box)."""
    m = np.zeros((height, width), dtype=np.uint8)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    m[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = 1
    return encode(m)


def mask_iou(a: dict, b: dict) -> float:
    return float(mask_utils.iou([_coco(a)], [_coco(b)], [0])[0, 0])


def outside_fraction(rle: dict, box: Box) -> float:
    """Fraction of the mask's pixels that lie outside the box (0 for an empty mask)."""
    total = area(rle)
    if total == 0:
        return 0.0
    h, w = (int(v) for v in rle["size"])
    inside = mask_utils.merge([_coco(rle), _coco(box_rle(box, h, w))], intersect=True)
    return 1.0 - mask_utils.area(inside) / total


def box_mask_agreement(rle: dict | None, box: Box) -> float:
    """The IoU the project uses between a predicted mask and a ground-truth box.

    Chosen measure: IoU between the mask's tight bounding box and the ground-truth box. A correct
    mask of a non-rectangular object (a person, a disc) has a box-region IoU well below 1 (a disc
    fills pi/4 of its box) and a thin diagonal object far less, so the box-region IoU would drop
    good tracks for their shape; the bounding-box IoU is 1 for any correct mask and falls only when
    the mask is misplaced, too small, too big or leaks out of the box.
    """
    if rle is None:
        return 0.0
    return box_iou(mask_box(rle), box)


def clip_box(box: Box, width: int, height: int) -> Box | None:
    """Clip to the frame; None if nothing of the box is left."""
    x0, y0, x1, y1 = box
    x0, x1 = max(0.0, min(x0, width)), max(0.0, min(x1, width))
    y0, y1 = max(0.0, min(y0, height)), max(0.0, min(y1, height))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return (x0, y0, x1, y1)
