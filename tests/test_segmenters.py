import numpy as np
import pytest

from pipeline.sample.segmenter_quality import segmenter_quality
from pipeline.stages import masks as M
from pipeline.stages.segmenters import SegmentRequest, get_segmenter
from pipeline.stages.segmenters.base import SegmenterSettings
from pipeline.stages.segmenters.grabcut import grabcut_mask


def test_grabcut_reaches_08_mean_iou_on_the_sample(sample_dir):
    q = segmenter_quality(str(sample_dir), SegmenterSettings(name="grabcut"))
    assert len(q) == 6  # 3 + 1 MOT pedestrians (the oversized-box one excluded), 2 LaSOT targets
    frames = sum(o.n_frames for o in q)
    mean = sum(o.mean_iou * o.n_frames for o in q) / frames
    assert mean >= 0.8, q
    assert min(o.mean_iou for o in q) > 0.6, q


def test_grabcut_degenerate_boxes_give_empty_masks():
    frame = np.full((50, 50, 3), 128, np.uint8)
    assert not grabcut_mask(frame, (10, 10, 11, 30)).any()  # 1 px wide
    assert not grabcut_mask(frame, (0, 0, 50, 50)).any()  # whole frame: no background to model


# -- SAM 2 ----------------------------------------------------------------------------------------

def tiny_sam2_settings(**kw):
    return SegmenterSettings(name="sam2", model_config="configs/sam2.1/sam2.1_hiera_t.yaml", image_size=512,
                             device="cpu", allow_random_weights=True, **kw)


@pytest.mark.slow
def test_sam2_real_predictor_random_weights_shapes_ids_frames(sample_dir):
    pytest.importorskip("sam2")
    from pipeline.sources import get_converter
    from pipeline.stages.frames import read_frames
    from pipeline.stages.sampling import sample_frames

    conv = get_converter("mot")
    record = conv.load(conv.discover(str(sample_dir / "mot"), "train")[0])
    v = record.video
    sampled, _ = sample_frames(v.n_frames, v.fps, record.annotated_frames, v.annotation_fps, 2)
    frames = read_frames(v, [s.frame for s in sampled])
    boxes = {o.object_id: {j: o.frames[s.frame].box for j, s in enumerate(sampled)
                           if s.frame in o.frames and o.frames[s.frame].visible} for o in record.objects}
    boxes["late"] = {5: (100.0, 100.0, 140.0, 160.0), 6: (102.0, 100.0, 142.0, 160.0)}  # appears at step 5
    seg = get_segmenter(tiny_sam2_settings(max_reprompt_rounds=1))
    assert seg.name == "sam2" and seg.device == "cpu"
    res = seg.segment(SegmentRequest(frames, boxes, v.video_id))
    assert set(res.masks) == set(boxes)
    for oid, steps in boxes.items():
        # a mask on every step from the object's first prompt on, none before it
        assert sorted(res.masks[oid]) == list(range(min(steps), len(frames))), oid
        for rle in res.masks[oid].values():
            assert rle["size"] == [v.height, v.width]
            assert M.decode(rle).shape == (v.height, v.width)
        assert len(res.reprompts[oid]) <= 1
        assert all(s in steps for s in res.reprompts[oid])


def test_sam2_without_checkpoint_is_a_clear_error():
    pytest.importorskip("sam2")
    from pipeline.errors import ConfigError
    from pipeline.stages.segmenters.sam2 import Sam2Segmenter

    with pytest.raises(ConfigError, match="needs a checkpoint"):
        Sam2Segmenter(SegmenterSettings(name="sam2"))
    with pytest.raises(ConfigError, match="checkpoint not found"):
        Sam2Segmenter(SegmenterSettings(name="sam2", checkpoint="/nonexistent/sam2.pt"))


class ScriptedPredictor:
    """Stands in for SAM 2's predictor to test the re-prompt loop: its 'mask' for an object on a
    step is the box of the object's latest prompt at or before that step (it never follows motion)."""

    def __init__(self, h, w):
        self.h, self.w = h, w
        self.prompts: dict[int, dict[int, list]] = {}
        self.starts = []

    def add_new_points_or_box(self, state, frame_idx, obj_id, box):
        self.prompts.setdefault(obj_id, {})[frame_idx] = box

    def propagate_in_video(self, state, start_frame_idx):
        import torch

        self.starts.append(start_frame_idx)
        ids = sorted(self.prompts)
        for step in range(start_frame_idx, state["n"]):
            logits = torch.full((len(ids), 1, self.h, self.w), -1.0)
            for k, oid in enumerate(ids):
                past = [f for f in self.prompts[oid] if f <= step]
                if past:
                    x0, y0, x1, y1 = (int(v) for v in self.prompts[oid][max(past)])
                    logits[k, 0, y0:y1, x0:x1] = 1.0
            yield step, ids, logits


def test_reprompt_where_iou_falls_then_propagate_from_there():
    pytest.importorskip("torch")
    from pipeline.stages.segmenters.base import SegmentResult
    from pipeline.stages.segmenters.sam2 import Sam2Segmenter

    seg = object.__new__(Sam2Segmenter)
    seg.settings = SegmenterSettings(name="sam2", reprompt_iou=0.5, reprompt_outside=1.0, max_reprompt_rounds=10)
    seg.predictor = ScriptedPredictor(60, 200)
    # a 20 px box moving 2 px per step: the stale mask's IoU drops below 0.5 after 4 steps
    boxes = {"a": {j: (10.0 + 2 * j, 20.0, 30.0 + 2 * j, 40.0) for j in range(12)}}
    result = SegmentResult(masks={"a": {}}, reprompts={"a": []})
    seg._track({"n": 12}, boxes, result)
    assert result.reprompts["a"] == [4, 8]
    assert seg.predictor.starts == [0, 4, 8]  # each round re-propagates from the new prompt only
    ious = [M.box_mask_agreement(result.masks["a"][j], boxes["a"][j]) for j in range(12)]
    assert min(ious) >= 0.5 and ious[4] == ious[8] == 1.0
    # with the outside-the-box rule on as well, 6 px of drift (30% of the mask outside) re-prompts earlier
    seg.settings = SegmenterSettings(name="sam2", reprompt_iou=0.5, reprompt_outside=0.2, max_reprompt_rounds=10)
    seg.predictor = ScriptedPredictor(60, 200)
    result = SegmentResult(masks={"a": {}}, reprompts={"a": []})
    seg._track({"n": 12}, boxes, result)
    assert result.reprompts["a"] == [3, 6, 9]


def test_reprompt_when_mask_leaks_out_of_the_box():
    pytest.importorskip("torch")
    from pipeline.stages.segmenters.base import SegmentResult
    from pipeline.stages.segmenters.sam2 import Sam2Segmenter

    seg = object.__new__(Sam2Segmenter)
    seg.settings = SegmenterSettings(name="sam2", reprompt_iou=0.0, reprompt_outside=0.2, max_reprompt_rounds=10)
    seg.predictor = ScriptedPredictor(60, 200)
    # the box shrinks: from step 3 on, more than 20% of the stale mask lies outside it
    boxes = {"a": {0: (10.0, 10.0, 50.0, 50.0), 1: (10.0, 10.0, 48.0, 50.0), 2: (10.0, 10.0, 46.0, 50.0),
                   3: (10.0, 10.0, 30.0, 50.0), 4: (10.0, 10.0, 30.0, 50.0)}}
    result = SegmentResult(masks={"a": {}}, reprompts={"a": []})
    seg._track({"n": 5}, boxes, result)
    assert result.reprompts["a"] == [3]


def test_sampled_frames_are_decoded_on_demand_and_held_bounded(tmp_path):
    """A long video's sampled frames are never all in memory: SampledFrames keeps at most `keep`,
    and GrabCut walks frame by frame, so each frame is decoded once however many objects it has."""
    from pipeline.sources import get_converter
    from pipeline.stages.frames import SampledFrames, read_frames
    from pipeline.stages.segmenters import get_segmenter
    from pipeline.stages.segmenters.base import SegmenterSettings, SegmentRequest
    from tests.synthetic import mot_sequence

    mot_sequence(str(tmp_path), "LONG", fps=10, seconds=12)
    conv = get_converter("mot")
    record = conv.load(conv.discover(str(tmp_path), "train")[0])
    indices = list(range(0, 120, 5))  # 24 sampled steps
    frames = SampledFrames(record.video, indices, keep=8, chunk=4)
    assert len(frames) == 24 and frames.decoded == 0
    for j in range(24):
        assert (frames[j] == read_frames(record.video, [indices[j]])[0]).all()
        assert len(frames.held()) <= 8
    assert frames.decoded == 24
    boxes = {str(o.object_id): {j: o.frames[f].box for j, f in enumerate(indices) if f in o.frames and o.frames[f].visible}
             for o in record.objects}
    once = SampledFrames(record.video, indices, keep=8, chunk=4)
    result = get_segmenter(SegmenterSettings(name="grabcut")).segment(SegmentRequest(once, boxes))
    assert once.decoded == 24 and set(result.masks) == set(boxes)
