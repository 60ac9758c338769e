"""GrabCut inside each ground-truth box: box-to-mask without a GPU or model weights.

Each visible box is segmented on its own frame (no temporal model). GrabCut runs on a crop around
the box (the box plus a margin) so that its colour models see nearby background only and its cost
does not grow with the frame size. The largest connected component is kept.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.stages import masks as M
from pipeline.stages.records import Box
from pipeline.stages.segmenters.base import Segmenter, SegmenterSettings, SegmentRequest, SegmentResult

MARGIN_FRACTION = 0.3
MARGIN_MIN_PX = 8


class GrabCutSegmenter(Segmenter):
    name = "grabcut"

    def __init__(self, settings: SegmenterSettings):
        self.iterations = settings.grabcut_iterations

    def segment(self, request: SegmentRequest) -> SegmentResult:
        masks: dict[str, dict[int, dict]] = {obj_id: {} for obj_id in request.boxes}
        steps = sorted({step for boxes in request.boxes.values() for step in boxes})
        for step in steps:  # frame by frame: each frame is decoded once however many objects it has
            frame = request.frames[step]
            for obj_id, boxes in request.boxes.items():
                if step in boxes:
                    masks[obj_id][step] = M.encode(grabcut_mask(frame, boxes[step], self.iterations))
        return SegmentResult(masks=masks)


def grabcut_mask(frame_rgb: np.ndarray, box: Box, iterations: int = 5) -> np.ndarray:
    """Binary mask of the object in `box` (empty when GrabCut cannot run, e.g. a tiny box)."""
    h, w = frame_rgb.shape[:2]
    out = np.zeros((h, w), dtype=bool)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    bw, bh = x1 - x0, y1 - y0
    if bw < 3 or bh < 3:
        return out
    mx = max(MARGIN_MIN_PX, int(MARGIN_FRACTION * bw))
    my = max(MARGIN_MIN_PX, int(MARGIN_FRACTION * bh))
    cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
    crop = cv2.cvtColor(np.ascontiguousarray(frame_rgb[cy0:cy1, cx0:cx1]), cv2.COLOR_RGB2BGR)
    rect = (x0 - cx0, y0 - cy0, bw, bh)
    gc = np.zeros(crop.shape[:2], dtype=np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut seeds its colour models with k-means on OpenCV's (per-thread) global RNG: reseed it
    # so the same frame and box always give the same mask, whatever ran before.
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(crop, gc, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        # No background pixels around the box (it covers the whole frame): nothing to model.
        return out
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return out
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    out[cy0:cy1, cx0:cx1] = labels == largest
    return out
