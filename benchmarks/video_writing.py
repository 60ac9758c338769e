"""What writing the rows' videos costs: grid frames per second of `pipeline.outputs.videos.write_videos`
(decode the source frames + H.264 encode) next to a bare baseline measured in the same run (decode
the same frames only, with PIL), and the ratio.

    python benchmarks/video_writing.py                      # 1280x720, 60 s of a 30 fps frame folder
    python benchmarks/video_writing.py --width 1920 --height 1080 --seconds 30

The frames are the sample's renderer (moving shapes over a textured background) saved as JPEG, so
the encoder sees real motion and texture rather than noise.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from pipeline.outputs.videos import VideoOutput, grid_source_frames, write_videos  # noqa: E402
from pipeline.sample.data import Scene, Shape, render  # noqa: E402
from pipeline.stages.records import Video  # noqa: E402
from pipeline.stages.rows import even, grid_length  # noqa: E402


def make_frames(folder: str, width: int, height: int, fps: int, seconds: float) -> Video:
    n = int(fps * seconds)
    rng = np.random.default_rng(0)
    shapes = [Shape(i + 1, kind, tuple(int(c) for c in rng.integers(60, 255, 3)), (width // 20, height // 8),
                    (float(rng.uniform(0.2, 0.8) * width), float(rng.uniform(0.3, 0.7) * height)),
                    (float(rng.uniform(-2, 2)), float(rng.uniform(-1, 1))), z=i)
              for i, kind in enumerate(["person", "disc", "rect", "person"])]
    # Render a short loop and reuse it: rendering every frame at 720p would dominate the setup.
    frames, _, _ = render(Scene(shapes, 30, seed=3), width, height)
    names = []
    for i in range(n):
        name = f"{i + 1:08d}.jpg"
        Image.fromarray(frames[i % len(frames)]).save(os.path.join(folder, name), quality=90)
        names.append(name)
    return Video("bench", "train", "v", width, height, n, float(fps), float(fps), frames_dir=folder, frame_files=tuple(names))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--sampling-fps", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        video = make_frames(tmp, args.width, args.height, args.fps, args.seconds)
        n_grid = grid_length(video.n_frames, video.fps, args.sampling_fps)
        grid = grid_source_frames(video, n_grid, args.sampling_fps, {})

        t = time.perf_counter()
        for f in grid:
            with Image.open(os.path.join(video.frames_dir, video.frame_files[f])) as im:
                np.asarray(im.convert("RGB"))
        baseline = time.perf_counter() - t

        out = os.path.join(tmp, "out")
        t = time.perf_counter()
        (entry,) = write_videos(video, grid, [VideoOutput("v.mp4", 0, n_grid)], out, args.sampling_fps,
                                even(args.width), even(args.height))
        ours = time.perf_counter() - t
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus; {args.width}x{args.height} frames, "
          f"{args.seconds:g} s at {args.fps} fps -> {n_grid} grid frames at {args.sampling_fps} fps")
    print(f"baseline  decode only (PIL)           {n_grid / baseline:8.1f} frames/s")
    print(f"vgdata    decode + H.264 (write_videos) {n_grid / ours:6.1f} frames/s   "
          f"({entry['bytes'] / 2**20:.2f} MiB, {entry['bytes'] * 8 / (n_grid / args.sampling_fps) / 1e6:.2f} Mbit/s)")
    print(f"ratio     {ours / baseline:.2f}x the time of decoding alone")


if __name__ == "__main__":
    main()
