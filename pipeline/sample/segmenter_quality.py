"""Segmenter quality on the bundled sample: IoU of predicted masks with the true masks.

Used by the tests (GrabCut must reach a mean IoU of 0.8) and by `benchmarks/segmenter_quality.py`.
Only box sources count, on their sampled frames where the object is visible; tracks whose boxes
were deliberately corrupted in the sample (oversized boxes) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.sources import get_converter
from pipeline.build.video import sampled_boxes
from pipeline.sample.data import load_truth, mot_scenes
from pipeline.stages import masks as M
from pipeline.stages.frames import read_frames
from pipeline.stages.sampling import sample_frames
from pipeline.stages.segmenters import SegmentRequest, get_segmenter
from pipeline.stages.segmenters.base import SegmenterSettings


@dataclass(frozen=True)
class ObjectQuality:
    source: str
    video_id: str
    object_id: str
    mean_iou: float
    n_frames: int


def corrupted_objects() -> set[tuple[str, str, str]]:
    return {("mot", seq, str(obj)) for seq, (_, quirks) in mot_scenes().items()
            for obj, q in quirks.items() if q[0] == "oversize"}


def segmenter_quality(sample_dir: str, settings: SegmenterSettings, sampling_fps: int = 2) -> list[ObjectQuality]:
    seg = get_segmenter(settings)
    bad = corrupted_objects()
    out = []
    for source in ("mot", "lasot"):
        conv = get_converter(source)
        for ref in conv.discover(f"{sample_dir}/{source}", "train"):
            record = conv.load(ref)
            v = record.video
            sampled, _ = sample_frames(v.n_frames, v.fps, record.annotated_frames, v.annotation_fps, sampling_fps)
            boxes = {oid: b for oid, b in sampled_boxes(record, sampled).items() if (source, v.video_id, oid) not in bad}
            frames = read_frames(v, [s.frame for s in sampled])
            result = seg.segment(SegmentRequest(frames, boxes, v.video_id))
            truth = load_truth(sample_dir, source, v.video_id)
            truth_id = {o.object_id: ("1" if source == "lasot" else o.object_id) for o in record.objects}
            for oid, steps in boxes.items():
                ious = [M.mask_iou(result.masks[oid][j], truth[sampled[j].frame][truth_id[oid]]) for j in steps]
                if ious:
                    out.append(ObjectQuality(source, v.video_id, oid, sum(ious) / len(ious), len(ious)))
    return out
