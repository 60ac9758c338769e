"""Reading the sampled frames of a video (only box sources need pixels).

Frames come from a folder of images (MOTChallenge, LaSOT) or a video file (mp4 via decord, with
OpenCV as a fallback). Only the requested indices are decoded.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from PIL import Image

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages.records import Video


def read_frames(video: Video, indices: list[int]) -> list[np.ndarray]:
    """RGB uint8 HxWx3 arrays for `indices` (0-based). SourceError names the file that failed."""
    if video.frames_dir and video.frame_files:
        return [_read_image(video, i) for i in indices]
    if video.video_file:
        return _read_video_file(video, indices)
    raise SourceError(video.path or video.video_id, "video has neither frame files nor a video file")


class SampledFrames(Sequence):
    """The sampled frames of a video, decoded on first use and kept only `keep` at a time.

    A segmenter reads frame j of the request as `frames[j]`; a 320-step video at 1080p would be
    2 GB held at once, so frames are read in chunks of `chunk` consecutive steps (one decoder seek
    per chunk for video files) and the least recently used are forgotten beyond `keep`. Within
    `keep`, every frame is decoded once; SAM 2 walks the steps in order, so it decodes each once per
    propagation pass at most."""

    def __init__(self, video: Video, indices: list[int], keep: int = 64, chunk: int = 16):
        self.video, self.indices, self.keep, self.chunk = video, list(indices), max(keep, chunk), chunk
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self.decoded = 0  # frames decoded so far (tests and benchmarks read it)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[i] for i in range(*j.indices(len(self)))]
        if j < 0:
            j += len(self)
        if not 0 <= j < len(self):
            raise IndexError(j)
        if j not in self._cache:
            start = j - j % self.chunk
            steps = [k for k in range(start, min(len(self), start + self.chunk)) if k not in self._cache]
            for k, frame in zip(steps, read_frames(self.video, [self.indices[k] for k in steps])):
                self._cache[k] = frame
            self.decoded += len(steps)
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        self._cache.move_to_end(j)
        return self._cache[j]

    def held(self) -> dict[int, np.ndarray]:
        """{source frame: pixels} of the frames still in memory (video writing reuses them)."""
        return {self.indices[k]: f for k, f in self._cache.items()}


def _inside_root(video: Video, path: str) -> None:
    try:
        checks.inside_root(path, video.root)
    except ValueError as e:
        raise SourceError(path, str(e)) from None


def _read_image(video: Video, i: int) -> np.ndarray:
    if not 0 <= i < len(video.frame_files):
        raise SourceError(video.frames_dir, f"frame {i} requested but only {len(video.frame_files)} frames exist")
    path = os.path.join(video.frames_dir, video.frame_files[i])
    if os.path.lexists(path):
        _inside_root(video, path)
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise SourceError(path, "frame file is missing" + (" (dangling link)" if os.path.islink(path) else "")) from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise SourceError(path, f"frame file cannot be decoded ({e})") from None
    if arr.shape[:2] != (video.height, video.width):
        raise SourceError(path, f"frame is {arr.shape[1]}x{arr.shape[0]}, expected {video.width}x{video.height}")
    return arr


def _read_video_file(video: Video, indices: list[int]) -> list[np.ndarray]:
    path = video.video_file
    if not os.path.exists(path):
        raise SourceError(path, "video file is missing")
    _inside_root(video, path)
    try:
        import decord

        reader = decord.VideoReader(path)
        if indices and max(indices) >= len(reader):
            raise SourceError(path, f"frame {max(indices)} requested but the file has {len(reader)} frames")
        batch = reader.get_batch(list(indices)).asnumpy()
        return [np.ascontiguousarray(f) for f in batch]
    except ImportError:
        pass
    except SourceError:
        raise
    except Exception as e:  # decord raises its own error types for broken files
        raise SourceError(path, f"video file cannot be decoded ({e})") from None
    return _read_video_opencv(path, indices)


def _read_video_opencv(path: str, indices: list[int]) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(path)
    wanted = set(indices)
    got: dict[int, np.ndarray] = {}
    i = 0
    while len(got) < len(wanted):
        ok, frame = cap.read()
        if not ok:
            break
        if i in wanted:
            got[i] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        i += 1
    cap.release()
    missing = wanted - got.keys()
    if missing:
        raise SourceError(path, f"could not decode frames {sorted(missing)[:5]}")
    return [got[i] for i in indices]
