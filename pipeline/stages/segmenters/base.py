"""The segmenter contract.

A segmenter gets the sampled frames of one video (a list indexed 0..N-1; entry j is the source
frame sampled at step j) and, per object, its ground-truth boxes on the steps where it is visible.
It returns, per object, a COCO RLE mask for at least every step that has a box. All objects of a
video come in one request so a video model can share one image-encoder pass per frame.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as checked_dataclass

from pipeline.errors import ConfigError
from pipeline.stages.records import Box

# Settings are validated when built: a wrong type or an unknown key is a ConfigError naming it.
STRICT = ConfigDict(extra="forbid", strict=True)
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


@checked_dataclass(frozen=True, config=STRICT)
class SegmenterSettings:
    name: Literal["grabcut", "sam2"] = "grabcut"
    # sam2
    checkpoint: str | None = None
    model_config: str = "configs/sam2.1/sam2.1_hiera_b+.yaml"
    image_size: Annotated[int, Field(ge=64, le=4096)] | None = None  # None: the model config's own (1024)
    device: str = "auto"  # auto = cuda if available, else cpu
    reprompt_iou: Fraction = 0.5  # re-prompt where IoU(mask box, gt box) falls below this
    reprompt_outside: Fraction = 0.2  # ... or where more than this fraction of the mask is outside the box
    max_reprompt_rounds: Annotated[int, Field(ge=0, le=1000)] = 10
    offload_video_to_cpu: bool = False
    offload_state_to_cpu: bool = False  # SAM 2 keeps each frame's memory features on the host: GPU memory flat in length
    vos_optimized: bool = False  # SAM 2's compiled video predictor (SAM2VideoPredictorVOS), where sam2 has it
    allow_random_weights: bool = False  # tests and speed benchmarks only
    # grabcut
    grabcut_iterations: Annotated[int, Field(ge=1, le=100)] = 5


@dataclass
class SegmentRequest:
    frames: Sequence[np.ndarray]  # RGB uint8 HxWx3, one per sampled step (a list, or frames.SampledFrames)
    boxes: dict[str, dict[int, Box]]  # object id -> {step: box}
    video_id: str = ""


@dataclass
class SegmentResult:
    masks: dict[str, dict[int, dict]]  # object id -> {step: RLE}
    reprompts: dict[str, list[int]] = field(default_factory=dict)  # object id -> steps re-prompted


def check_sam2_settings(settings: SegmenterSettings) -> None:
    """ConfigError unless SAM 2 has weights to load (or random weights were asked for, in tests)."""

    if settings.checkpoint is None and not settings.allow_random_weights:
        raise ConfigError("the sam2 segmenter needs a checkpoint: pass --checkpoint PATH (SAM 2 weights) with "
                          "--model-config, or use --segmenter grabcut")
    if settings.checkpoint is not None:
        if not os.path.exists(settings.checkpoint):
            raise ConfigError(f"SAM 2 checkpoint not found: {settings.checkpoint}")
        if not os.path.isfile(settings.checkpoint):
            raise ConfigError(f"SAM 2 checkpoint {settings.checkpoint} is a folder, not a .pt file")


class Segmenter(ABC):
    name: str

    @abstractmethod
    def segment(self, request: SegmentRequest) -> SegmentResult:
        """Masks for every object of one video."""
