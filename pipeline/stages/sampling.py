"""Temporal sampling: which source frames the datasets look at.

Timestamps lie on the grid k / sampling_fps (k = 0, 1, ...) up to the last annotated frame's time
(a video tail past its last annotation is not sampled). Each is mapped to the nearest *annotated*
frame. A timestamp whose nearest annotated frame is further than half an interval away (half the
annotation interval, or half the grid step when the annotation is sparser than the grid) is dropped
and reported, never shifted: a gap in the annotation, or the grid times between the annotations of
a source annotated more sparsely than `sampling_fps` (BURST's 1 fps on the 2 fps grid keeps the
whole seconds and drops the half seconds, each with its reason).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from pipeline.errors import SamplingError

_EPS = 1e-6


@dataclass(frozen=True)
class SampledFrame:
    time: float  # seconds on the sampling grid
    frame: int  # 0-based source frame index


@dataclass(frozen=True)
class DroppedTime:
    time: float
    reason: str


def rates_of(value) -> tuple[int, ...]:
    """The sampling rates of a build config's `sampling_fps` (an int or a list, as a manifest holds it)."""
    if isinstance(value, (int, float)):
        return (int(value),)
    return tuple(sorted(int(v) for v in value)) if value else (2,)


def video_rate_of(value) -> int:
    """The rate a build's videos and point rows are written at: its highest sampling rate."""
    return rates_of(value)[-1]


def rates_text(value) -> str:
    """"2 fps", or "1, 2 fps" for several rates."""
    return ", ".join(str(r) for r in rates_of(value)) + " fps"


def check_rate(sampling_fps: float, annotation_fps: float, where: str = "") -> None:
    """Raise SamplingError when either rate is not a positive number."""
    if not sampling_fps > 0:
        raise SamplingError(f"sampling_fps must be positive, got {sampling_fps}")
    if not annotation_fps > 0:
        raise SamplingError(f"{where + ': ' if where else ''}annotation rate must be positive, got {annotation_fps}")


def sample_frames(
    n_frames: int,
    fps: float,
    annotated_frames: list[int] | tuple[int, ...],
    annotation_fps: float,
    sampling_fps: float,
    where: str = "",
) -> tuple[list[SampledFrame], list[DroppedTime]]:
    """Return the sampled frames and the grid timestamps that had no annotated frame near them."""
    if not all(math.isfinite(x) for x in (n_frames, fps, annotation_fps, sampling_fps)):
        raise SamplingError(f"{where}: frame count and rates must be finite numbers "
                            f"(n_frames={n_frames}, fps={fps}, annotation fps={annotation_fps})")
    check_rate(sampling_fps, annotation_fps, where)
    if n_frames <= 0 or fps <= 0:
        raise SamplingError(f"{where}: video has {n_frames} frames at {fps} fps")
    annotated = sorted(set(int(f) for f in annotated_frames if 0 <= f < n_frames))
    tolerance = 0.5 / max(annotation_fps, sampling_fps) + _EPS
    times = [annotated_f / fps for annotated_f in annotated]
    last_time = min((n_frames - 1) / fps, times[-1] + tolerance) if times else (n_frames - 1) / fps
    sampled: list[SampledFrame] = []
    dropped: list[DroppedTime] = []
    used: set[int] = set()
    k = 0
    while True:
        t = round(k / sampling_fps, 6)
        if t > last_time + _EPS:
            break
        k += 1
        if not annotated:
            dropped.append(DroppedTime(t, "no annotated frame in the video"))
            continue
        i = bisect.bisect_left(times, t)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(times)]
        best = min(candidates, key=lambda j: (abs(times[j] - t), j))
        if abs(times[best] - t) > tolerance:
            dropped.append(
                DroppedTime(t, f"nearest annotated frame is {abs(times[best] - t):.3f}s away")
            )
            continue
        frame = annotated[best]
        if frame in used:  # only possible with irregular annotation; never sample a frame twice
            dropped.append(DroppedTime(t, f"nearest annotated frame {frame} already sampled"))
            continue
        used.add(frame)
        sampled.append(SampledFrame(t, frame))
    return sampled, dropped
