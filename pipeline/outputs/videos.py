"""The videos the rows name: H.264 mp4 files at `sampling_fps`, written with PyAV (FFmpeg's libx264).

Molmo2 reads videos, not frame folders (docs/MOLMO2.md): AcademicVideoPoint opens
`<source>/<split>/videos-2fps/<video_name>.mp4` with the row's clip, and TrackingDataset opens
`<split>/videos/<video>.mp4`, choosing how many frames a second to show from the file's frame rate.
A video written at exactly `sampling_fps` makes that choice land on the rows' own times, so every
answer frame is shown. Grid frame k of a video is the source frame sampled at k / sampling_fps (the
nearest frame, ties to the earlier one, as `sampling.sample_frames` picks them).

- One decoding pass per source video feeds every output (the whole video for points, one file per
  track clip); outputs with the same frames are encoded once and hard-linked (copied where the
  filesystem has no hard links).
- Odd frame sizes are padded by one black column/row at the right/bottom: H.264 4:2:0 needs even
  sizes. Rows carry the padded size; pixel coordinates are unchanged.
- Deterministic: libx264 with one thread and FFmpeg's bitexact flags gives byte-identical files for
  the same frames on any machine; files are written under a temporary name and renamed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.outputs.shards import sha256_file
from pipeline.stages.frames import read_frames
from pipeline.stages.records import Video

CRF = 20  # visually lossless for training frames; ~10x smaller than crf 0
PRESET = "fast"
KEYFRAME_SECONDS = 10  # a keyframe every 10 s keeps seeking to a clip start cheap
READ_CHUNK = 16  # frames decoded at a time (bounded memory on long 4K videos)


@dataclass(frozen=True)
class VideoOutput:
    path: str  # relative to OUT
    start: int  # grid frames [start, stop)
    stop: int


def grid_source_frames(video: Video, n_grid: int, sampling_fps: int, sampled: dict[int, int]) -> list[int]:
    """The source frame shown at each grid index: the sampled frame where there is one (`sampled`:
    grid index -> frame), else the frame nearest to k / sampling_fps (ties to the earlier)."""
    out = []
    for k in range(n_grid):
        if k in sampled:
            out.append(sampled[k])
            continue
        f = k / sampling_fps * video.fps
        lo = math.floor(f + 1e-9)
        out.append(min(video.n_frames - 1, lo if f - lo <= 0.5 + 1e-9 else lo + 1))
    return out


class _Encoder:
    def __init__(self, path: str, fps: int, width: int, height: int):
        import av

        self.path, self.tmp = path, os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.width, self.height = width, height
        self.container = av.open(self.tmp, "w", format="mp4", options={"fflags": "+bitexact", "movflags": "+faststart"})
        self.stream = self.container.add_stream(
            "libx264", rate=fps, options={"crf": str(CRF), "preset": PRESET, "flags": "+bitexact", "threads": "1"})
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "yuv420p"
        self.stream.codec_context.gop_size = KEYFRAME_SECONDS * fps
        self.frames = 0
        self._av = av

    def add(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        if (h, w) != (self.height, self.width):
            rgb = np.pad(rgb, ((0, self.height - h), (0, self.width - w), (0, 0)))
        for packet in self.stream.encode(self._av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - already failing; the temporary file goes either way
            pass
        if os.path.exists(self.tmp):
            os.remove(self.tmp)


def _link(src: str, dst: str) -> None:
    tmp = os.path.join(os.path.dirname(dst), f".{os.path.basename(dst)}.tmp")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.exists(tmp):
        os.remove(tmp)
    try:
        os.link(src, tmp)
    except OSError:
        import shutil

        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def write_videos(
    video: Video,
    grid: list[int],
    outputs: list[VideoOutput],
    out_root: str,
    fps: int,
    width: int,
    height: int,
    frames_cache: dict[int, np.ndarray] | None = None,
) -> list[dict]:
    """Encode `outputs` (grid ranges of `video`) under `out_root`; returns one manifest entry each:
    {path, frames, fps, width, height, bytes, sha256, mtime_ns}. SourceError if a frame cannot be read."""
    if not outputs:
        return []
    first_of: dict[tuple[int, int], VideoOutput] = {}
    for o in outputs:
        first_of.setdefault((o.start, o.stop), o)
    encode = list(first_of.values())
    paths = {o.path: checks.join_inside(out_root, o.path, "video path") for o in outputs}
    lo, hi = min(o.start for o in encode), max(o.stop for o in encode)
    cache = frames_cache or {}
    open_encoders: dict[str, _Encoder] = {}
    try:
        for chunk_start in range(lo, hi, READ_CHUNK):
            ks = range(chunk_start, min(hi, chunk_start + READ_CHUNK))
            wanted = sorted({grid[k] for k in ks if grid[k] not in cache})
            decoded = dict(zip(wanted, read_frames(video, wanted))) if wanted else {}
            for k in ks:
                frame = cache.get(grid[k])
                if frame is None:
                    frame = decoded[grid[k]]
                for o in encode:
                    if o.start <= k < o.stop:
                        enc = open_encoders.get(o.path)
                        if enc is None:
                            enc = open_encoders[o.path] = _Encoder(paths[o.path], fps, width, height)
                        enc.add(frame)
                        if k == o.stop - 1:
                            open_encoders.pop(o.path).close()
    except Exception:
        for enc in open_encoders.values():
            enc.abort()
        raise
    entries = []
    # the first output of each range -> its file's stat and sha256, which the outputs linked to it
    # share (one file); the stat is taken before the hash, so a later change shows in the mtime
    files: dict[str, tuple[os.stat_result, str]] = {}
    for o in outputs:
        src = first_of[(o.start, o.stop)]
        if src.path != o.path:
            _link(paths[src.path], paths[o.path])
        if src.path not in files:
            st = os.stat(paths[o.path])
            files[src.path] = st, sha256_file(paths[o.path])
        st, digest = files[src.path]
        entries.append({"path": o.path, "frames": o.stop - o.start, "fps": fps, "width": width, "height": height,
                        "bytes": st.st_size, "sha256": digest, "mtime_ns": st.st_mtime_ns})
    return entries


def check_frames_available(video: Video) -> None:
    """SourceError unless the video's pixels can be read (frames or a video file)."""
    if video.frames_dir and video.frame_files:
        if not os.path.isdir(video.frames_dir):
            raise SourceError(video.frames_dir, "frames folder is missing: the rows' videos cannot be written "
                              "(`--videos skip` writes rows without videos)")
        return
    if video.video_file and os.path.exists(video.video_file):
        return
    raise SourceError(video.path or video.video_id, "no frames or video file to write the rows' videos from "
                      "(set `videos: skip` to write rows without videos)")
