"""Box-to-mask segmenters behind one interface.

`get_segmenter(settings)` returns a `Segmenter` by name: `sam2` (the real SAM 2 video predictor,
GPU when available) or `grabcut` (OpenCV GrabCut per box, no weights, CPU). Instances are cached
per process so a model is loaded once, not once per video.
"""

from __future__ import annotations

import threading

from pipeline.stages.segmenters.base import Segmenter, SegmenterSettings, SegmentRequest

_CACHE: dict[SegmenterSettings, Segmenter] = {}
_LOCK = threading.Lock()


def get_segmenter(settings: SegmenterSettings) -> Segmenter:
    with _LOCK:
        seg = _CACHE.get(settings)
        if seg is None:
            if settings.name == "grabcut":
                from pipeline.stages.segmenters.grabcut import GrabCutSegmenter

                seg = GrabCutSegmenter(settings)
            elif settings.name == "sam2":
                from pipeline.stages.segmenters.sam2 import Sam2Segmenter

                seg = Sam2Segmenter(settings)
            else:
                from pipeline.errors import ConfigError

                raise ConfigError(f"unknown segmenter {settings.name!r}; choose 'sam2' or 'grabcut'")
            _CACHE[settings] = seg
        return seg


def release_segmenters() -> None:
    """Forget this process's models (a build whose videos run in worker processes, each with its
    own, lets go of the one its preflight loaded), and give their GPU memory back."""
    import sys

    with _LOCK:
        _CACHE.clear()
    if "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
        sys.modules["torch"].cuda.empty_cache()


__all__ = ["Segmenter", "SegmentRequest", "SegmenterSettings", "get_segmenter", "release_segmenters"]
