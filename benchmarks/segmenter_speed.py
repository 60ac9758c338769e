"""Box-to-mask speed: frames per second of a segmenter over the sample's box videos.

    python benchmarks/segmenter_speed.py                       # GrabCut, and SAM 2 tiny (random weights) at 512 on CPU
    python benchmarks/segmenter_speed.py --sam2-only --image-size 1024 --model-config configs/sam2.1/sam2.1_hiera_b+.yaml
    python benchmarks/segmenter_speed.py --checkpoint sam2.1_hiera_base_plus.pt --frames 64 --objects 4
    python benchmarks/segmenter_speed.py --vs-bare --sizes 20 80 320 --image-size 1024   # on a GPU

`--vs-bare` measures vgdata's SAM 2 segmenter against the bare SAM 2 video predictor on the same
frames and prompts (the bare one reads them as a JPEG folder, SAM 2's own loader; both prompt each
object with its first box and propagate once), for each number of sampled frames in `--sizes`, each
run in a fresh process: object-frames/s of both, the ratio (target >= 0.9x), and peak memory (CUDA:
max allocated; CPU: the process's peak RSS), which for vgdata should not grow with the length.

Random weights run at the true speed of the architecture (quality is meaningless). Each video is
the sample's MOT SAMPLE-01 scene rendered for `--frames` sampled frames with `--objects` objects
prompted; fps counts sampled frames processed per second, re-prompt rounds included (the
benchmark caps them with --max-reprompt-rounds, default 0, so that the figure is one propagation).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from pipeline.sample.data import Scene, Shape, render  # noqa: E402
from pipeline.stages.segmenters import SegmentRequest, get_segmenter  # noqa: E402
from pipeline.stages.segmenters.base import SegmenterSettings  # noqa: E402


def scene_request(n_frames: int, n_objects: int, width: int, height: int) -> SegmentRequest:
    rng = np.random.default_rng(0)
    shapes = [Shape(i + 1, "person", tuple(int(c) for c in rng.integers(60, 255, 3)), (width // 25, height // 8),
                    (float(rng.uniform(0.15, 0.85) * width), float(rng.uniform(0.3, 0.7) * height)),
                    (float(rng.uniform(-3, 3)), float(rng.uniform(-1, 1))), z=i) for i in range(n_objects)]
    frames, _, full = render(Scene(shapes, n_frames, seed=5), width, height)
    boxes = {}
    for s in shapes:
        boxes[str(s.obj_id)] = {}
        for j in range(n_frames):
            ys, xs = np.nonzero(full[j][s.obj_id])
            if len(xs):
                boxes[str(s.obj_id)][j] = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    return SegmentRequest(frames, boxes, "bench")


def bench(settings: SegmenterSettings, request: SegmentRequest, repeats: int) -> dict:
    t0 = time.perf_counter()
    seg = get_segmenter(settings)
    load = time.perf_counter() - t0
    seg.segment(request)  # warm-up (allocations, kernels)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        seg.segment(request)
        times.append(time.perf_counter() - t0)
    best = min(times)
    n = len(request.frames)
    return {"load_s": load, "best_s": best, "median_s": float(np.median(times)), "fps": n / best,
            "device": getattr(seg, "device", "cpu")}


CHILD = """
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
sys.argv = ["x"] + {argv!r}
from benchmarks.segmenter_speed import one_run
print("RESULT", json.dumps(one_run()))
"""


def one_run() -> dict:
    """One measurement in this process (see --vs-bare): argv = variant n objects w h size config device."""
    import resource
    import tempfile

    import torch
    from PIL import Image

    variant, n, objects, width, height, size, config, device = sys.argv[1:9]
    n, objects, width, height, size = int(n), int(objects), int(width), int(height), int(size)
    request = scene_request(n, objects, width, height)
    settings = SegmenterSettings(name="sam2", model_config=config, image_size=size, allow_random_weights=True,
                                 device=device, max_reprompt_rounds=0, offload_state_to_cpu=variant == "vgdata-offload")
    seg = get_segmenter(settings)
    cuda = seg.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    if variant.startswith("vgdata"):
        t0 = time.perf_counter()
        seg.segment(request)
        seconds = time.perf_counter() - t0
    else:  # the bare predictor: SAM 2's own JPEG loader, first box per object, one propagation
        predictor = seg.predictor
        with tempfile.TemporaryDirectory() as tmp:
            for j, frame in enumerate(request.frames):
                Image.fromarray(frame).save(os.path.join(tmp, f"{j:05d}.jpg"), quality=95)
            autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
            t0 = time.perf_counter()
            with torch.inference_mode(), autocast:
                state = predictor.init_state(video_path=tmp)
                for k, (oid, boxes) in enumerate(request.boxes.items()):
                    first = min(boxes)
                    predictor.add_new_points_or_box(state, frame_idx=first, obj_id=k + 1, box=list(boxes[first]))
                start = min(min(b) for b in request.boxes.values() if b)
                for _, _, logits in predictor.propagate_in_video(state, start_frame_idx=start):
                    (logits[:, 0] > 0).cpu().numpy()
            seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "object_frames_per_s": n * objects / seconds, "peak_mib": peak, "device": seg.device}


def vs_bare(a) -> None:
    import json
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(f"{'frames':>6}  {'variant':15s} {'object-frames/s':>16}  {'peak MiB':>9}  ratio to bare")
    for n in a.sizes:
        results = {}
        for variant in ("bare", "vgdata", "vgdata-offload"):
            argv = [variant, str(n), str(a.objects), str(a.width), str(a.height), str(a.image_size), a.model_config, a.device]
            proc = subprocess.run([sys.executable, "-c", CHILD.format(root=root, argv=argv)], capture_output=True, text=True)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"{variant} at {n} frames failed:\n{proc.stderr[-2000:]}")
            r = results[variant] = json.loads(line[7:])
            ratio = r["object_frames_per_s"] / results["bare"]["object_frames_per_s"]
            print(f"{n:6d}  {variant:15s} {r['object_frames_per_s']:16.2f}  {r['peak_mib']:9.0f}  {ratio:.2f}x  ({r['device']})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--objects", type=int, default=3)
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--model-config", default="configs/sam2.1/sam2.1_hiera_t.yaml")
    p.add_argument("--image-size", type=int, default=512)
    p.add_argument("--checkpoint")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-reprompt-rounds", type=int, default=0)
    p.add_argument("--sam2-only", action="store_true")
    p.add_argument("--grabcut-only", action="store_true")
    p.add_argument("--vs-bare", action="store_true", help="vgdata's SAM 2 segmenter against the bare predictor")
    p.add_argument("--sizes", type=int, nargs="*", default=[20, 80, 320], help="sampled frames per video (--vs-bare)")
    a = p.parse_args()
    if a.vs_bare:
        vs_bare(a)
        return
    request = scene_request(a.frames, a.objects, a.width, a.height)
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus; video {a.width}x{a.height}, "
          f"{a.frames} sampled frames, {a.objects} objects")
    runs = []
    if not a.sam2_only:
        runs.append(("grabcut", SegmenterSettings(name="grabcut")))
    if not a.grabcut_only:
        runs.append((f"sam2 {os.path.basename(a.model_config)} @{a.image_size}"
                     f" ({'checkpoint' if a.checkpoint else 'random weights'})",
                     SegmenterSettings(name="sam2", model_config=a.model_config, image_size=a.image_size,
                                       checkpoint=a.checkpoint, allow_random_weights=a.checkpoint is None,
                                       device=a.device, max_reprompt_rounds=a.max_reprompt_rounds)))
    for name, settings in runs:
        r = bench(settings, request, a.repeats)
        print(f"{name:55s} device {r['device']:5s} load {r['load_s']:6.2f}s  best {r['best_s']:7.2f}s  "
              f"median {r['median_s']:7.2f}s  {r['fps']:8.2f} frames/s ({r['fps'] * a.objects:8.2f} object-frames/s)")


if __name__ == "__main__":
    main()
