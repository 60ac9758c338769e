"""SAM 2 video predictor as a box-to-mask segmenter (Molmo2 paper, appendix F.2).

Per video, all objects share one inference state over the *sampled* frames only:
1. prompt each object with its first visible ground-truth box;
2. propagate forward through the sampled frames;
3. find, per object, the first frame (not yet prompted) where the mask disagrees with the
   ground-truth box: IoU(mask bounding box, box) < `reprompt_iou`, or more than
   `reprompt_outside` of the mask outside the box; re-prompt there with the box and propagate again
   from the earliest such frame; repeat up to `max_reprompt_rounds` times.

Frames are handed to SAM 2 from memory: its `init_state` only takes a JPEG folder or an mp4, so
the frame loader it calls is swapped, for the duration of the call, for one that returns the
sampled frames (no JPEG round trip, no decoding of unsampled frames). SAM 2 reads
`images[frame_idx]` one frame at a time, so what it gets is a lazy sequence (`_ModelFrames`) that
resizes and normalises a frame when asked: no stack of every frame at model resolution (320 steps
at 1024 would be 4 GB of float32). GPU memory then holds the model and SAM 2's per-frame memory
features; `offload_state_to_cpu` moves those to the host, so GPU memory stays flat in video length.
`vos_optimized` builds SAM 2's compiled video predictor where the installed sam2 has it.
"""

from __future__ import annotations

import contextlib
import threading
from contextlib import contextmanager

import numpy as np
from PIL import Image

from pipeline.errors import ConfigError
from pipeline.stages import masks as M
from pipeline.stages.segmenters.base import (
    Segmenter,
    SegmenterSettings,
    SegmentRequest,
    SegmentResult,
    check_sam2_settings,
)

IMG_MEAN = (0.485, 0.456, 0.406)
IMG_STD = (0.229, 0.224, 0.225)


def _memory_to_query_dtype(module, args, kwargs):
    """Forward pre-hook on SAM 2's memory attention: cast the (bfloat16) stored memory to the dtype
    of the current frame's features, so that a float32 CPU run does not mix dtypes."""
    curr = kwargs.get("curr")
    dtype = (curr[0] if isinstance(curr, (list, tuple)) else curr).dtype
    for key in ("memory", "memory_pos"):
        if kwargs.get(key) is not None and kwargs[key].dtype != dtype:
            kwargs[key] = kwargs[key].to(dtype)
    return args, kwargs


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


class Sam2Segmenter(Segmenter):
    name = "sam2"

    def __init__(self, settings: SegmenterSettings):
        try:
            import torch
            from sam2.build_sam import build_sam2_video_predictor
        except ImportError as e:
            raise ConfigError(f"the sam2 segmenter needs the `sam2` package and torch ({e}); run `make install`") from None
        check_sam2_settings(settings)
        self.settings = settings
        self.device = resolve_device(settings.device)
        overrides = [f"++model.image_size={settings.image_size}"] if settings.image_size else []
        extra = {}
        if settings.vos_optimized:
            import inspect

            if "vos_optimized" not in inspect.signature(build_sam2_video_predictor).parameters:
                raise ConfigError("vos_optimized: the installed sam2 has no compiled video predictor (needs sam2 >= 1.1)")
            extra["vos_optimized"] = True
        try:
            self.predictor = build_sam2_video_predictor(
                settings.model_config, ckpt_path=settings.checkpoint, device=self.device, hydra_overrides_extra=overrides,
                **extra,
            )
        except Exception as e:  # noqa: BLE001 - hydra, torch.load and state-dict errors all mean "unusable"
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise ConfigError(f"SAM 2 could not be built from model config {settings.model_config!r} and checkpoint "
                              f"{settings.checkpoint!r}: {type(e).__name__}: {first}") from None
        # SAM 2 draws a tqdm bar per propagation; the build prints its own per-video progress.
        import sam2.sam2_video_predictor as vp

        vp.tqdm = lambda iterable, *args, **kwargs: iterable
        # SAM 2 stores each frame's memory features in bfloat16 whatever the device. On CUDA it runs
        # under bfloat16 autocast, as SAM 2 intends. On the CPU, bfloat16 is emulated on most
        # processors (measured here: a 512x512 matmul 35x and a 3x3 conv 160x slower than float32),
        # so the CPU runs in float32 and the stored memory is cast back to float32 where it is read.
        self._autocast = self.device.startswith("cuda")
        if not self._autocast:
            self.predictor.memory_attention.register_forward_pre_hook(_memory_to_query_dtype, with_kwargs=True)
        self._torch = torch
        self._lock = threading.Lock()  # one video at a time per predictor

    # -- state from in-memory frames -------------------------------------------------------------
    @contextmanager
    def _frames_loader(self, frames):
        import sam2.sam2_video_predictor as vp

        height, width = frames[0].shape[:2]
        images = _ModelFrames(frames, self.predictor.image_size, self._torch)
        original = vp.load_video_frames
        vp.load_video_frames = lambda **_: (images, height, width)
        try:
            yield
        finally:
            vp.load_video_frames = original

    # -- segmentation ----------------------------------------------------------------------------
    def segment(self, request: SegmentRequest) -> SegmentResult:
        torch = self._torch
        objects = {oid: boxes for oid, boxes in request.boxes.items() if boxes}
        result = SegmentResult(masks={oid: {} for oid in request.boxes}, reprompts={oid: [] for oid in request.boxes})
        if not objects:
            return result
        autocast = (torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16) if self._autocast
                    else contextlib.nullcontext())
        with self._lock, torch.inference_mode(), autocast:
            with self._frames_loader(request.frames):
                state = self.predictor.init_state(
                    video_path="<in-memory frames>", offload_video_to_cpu=self.settings.offload_video_to_cpu,
                    offload_state_to_cpu=self.settings.offload_state_to_cpu,
                )
            try:
                self._track(state, objects, result)
            finally:
                del state
                if self.device.startswith("cuda"):
                    torch.cuda.empty_cache()
        return result

    def _track(self, state, objects: dict, result: SegmentResult) -> None:
        s = self.settings
        sam_id = {oid: i + 1 for i, oid in enumerate(objects)}
        our_id = {v: k for k, v in sam_id.items()}
        first = {oid: min(boxes) for oid, boxes in objects.items()}
        prompted = {oid: {first[oid]} for oid in objects}
        for oid, step in first.items():
            self.predictor.add_new_points_or_box(state, frame_idx=step, obj_id=sam_id[oid], box=list(objects[oid][step]))
        start, rounds = min(first.values()), 0
        while True:
            for step, obj_ids, logits in self.predictor.propagate_in_video(state, start_frame_idx=start):
                binary = (logits[:, 0] > 0.0).cpu().numpy()
                for k, sid in enumerate(obj_ids):
                    oid = our_id[sid]
                    if step >= first[oid]:
                        result.masks[oid][step] = M.encode(binary[k])
            if rounds >= s.max_reprompt_rounds:
                break
            new = {}
            for oid, boxes in objects.items():
                for step in sorted(boxes):
                    if step in prompted[oid]:
                        continue
                    rle = result.masks[oid].get(step)
                    if (M.box_mask_agreement(rle, boxes[step]) < s.reprompt_iou
                            or (rle is not None and M.outside_fraction(rle, boxes[step]) > s.reprompt_outside)):
                        new[oid] = step
                        break
            if not new:
                break
            for oid, step in new.items():
                self.predictor.add_new_points_or_box(state, frame_idx=step, obj_id=sam_id[oid], box=list(objects[oid][step]))
                prompted[oid].add(step)
                result.reprompts[oid].append(step)
            start, rounds = min(new.values()), rounds + 1


class _ModelFrames:
    """What SAM 2 stores as `inference_state["images"]`: `len()` and `[i]` -> the i-th sampled frame
    as a normalised 3 x S x S float tensor, made when SAM 2 asks (it moves it to the device itself),
    so that no more than the frame in use exists at model resolution."""

    def __init__(self, frames, size: int, torch):
        self.frames, self.size, self.torch = frames, size, torch
        self.mean = torch.tensor(IMG_MEAN)[:, None, None]
        self.std = torch.tensor(IMG_STD)[:, None, None]

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int):
        arr = np.asarray(Image.fromarray(self.frames[i]).resize((self.size, self.size)))
        image = self.torch.from_numpy(arr).permute(2, 0, 1).float().div_(255.0)
        return (image - self.mean) / self.std
