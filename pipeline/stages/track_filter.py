"""Track filter: keep a box-sourced track only when its masks agree with its boxes.

Per sampled frame where the object is annotated visible with a box, the agreement is
`masks.box_mask_agreement` (IoU of the mask's bounding box with the ground-truth box; a missing or
empty mask scores 0). A track whose mean agreement is below `min_iou` (default 0.5, as in the
Molmo2 paper) is dropped; every track's mean is recorded either way.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.stages import masks as M
from pipeline.stages.records import Box


@dataclass(frozen=True)
class TrackScore:
    object_id: str
    mean_iou: float
    n_frames: int
    kept: bool
    per_frame: tuple[float, ...]


def score_track(
    object_id: str, boxes: dict[int, Box], masks: dict[int, dict], min_iou: float = 0.5
) -> TrackScore:
    ious = tuple(M.box_mask_agreement(masks.get(step), box) for step, box in sorted(boxes.items()))
    mean = sum(ious) / len(ious) if ious else 0.0
    return TrackScore(object_id, mean, len(ious), bool(ious) and mean >= min_iou, ious)
