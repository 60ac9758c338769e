"""Split-wide annotation files at real size, in bounded memory: a generated MeViS-layout split whose
`mask_dict.json` is 2 GB and an OVIS-layout split whose `annotations_train.json` is 1 GB (real COCO
RLEs of moving ellipses at 1280x720, thousands of videos), each converted with
`vgdata convert NAME --runner local --workers 2 --videos skip`. Printed per file: its size, the
conversion's peak RSS (the whole process tree, sampled from /proc) and videos/s, next to a bare
baseline measured in the same run: the peak RSS of `json.load` of the same file (what every worker
paid before the per-video index), and the ratio.

Then the same on a small split of each layout, against today's path (`--baseline COMMIT`, the
commit before the index, run from a `git worktree`): the shards must be the same bytes, and
videos/s is compared.

    python benchmarks/split_files.py                      # 2 GB MeViS, 1 GB OVIS, small splits
    python benchmarks/split_files.py --mevis-gb 0.33 --ovis-gb 0.2 --data /tmp/splits   # quicker; keep the files

Targets (issue 17): peak RSS at most 0.25x the file's size + 300 MiB; the same rows, byte for
byte, as today's path on a small split; videos/s on a small split at least 0.9x today's.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BASELINE = "a309ede"  # the last commit that parsed split-wide files whole (before the per-video index)
W, H = 1280, 720
CHILD = "import sys; sys.path.insert(0, {root!r}); from flows.cli import main; sys.exit(main({argv!r}))"
BARE_LOAD = ("import json, resource, sys, time; t = time.perf_counter(); d = json.load(open({path!r})); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


# -- generated splits -------------------------------------------------------------------------------

class MaskPool:
    """COCO RLEs (compressed counts) of irregular shapes (a jagged outline with a hole, as real
    object masks have) on a grid of centres and sizes, encoded once: an object's track walks over
    the grid, so every video's masks are real RLEs of moving shapes, about 1-2 KB a frame as a
    person's mask at 720p is."""

    GX, GY, RADII = 40, 24, (40, 70, 110, 160)

    def __init__(self):
        import cv2
        from pycocotools import mask as mask_utils

        self.rles, self.boxes = {}, {}
        canvas = np.zeros((H, W), np.uint8)
        rng = np.random.default_rng(7)
        for ri, r in enumerate(self.RADII):
            for gx in range(self.GX):
                for gy in range(self.GY):
                    canvas[:] = 0
                    cx, cy = (gx + 0.5) * W / self.GX, (gy + 0.5) * H / self.GY
                    angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
                    radius = r * (1 + 0.45 * rng.uniform(-1, 1, angles.size))
                    outline = np.stack([cx + radius * np.cos(angles), cy + 0.8 * radius * np.sin(angles)], 1)
                    cv2.fillPoly(canvas, [outline.round().astype(np.int32)], 1)
                    cv2.circle(canvas, (int(cx), int(cy)), r // 5, 0, -1)
                    rle = mask_utils.encode(np.asfortranarray(canvas))
                    self.rles[(gx, gy, ri)] = rle["counts"].decode()
                    self.boxes[(gx, gy, ri)] = [float(v) for v in mask_utils.toBbox(rle)]

    def track(self, rng: np.random.Generator, n: int) -> list[tuple | None]:
        """An object's per-frame pool keys (None where it is absent)."""
        gx, gy, ri = rng.uniform(0, self.GX), rng.uniform(0, self.GY), int(rng.integers(len(self.RADII)))
        vx, vy = rng.uniform(-0.4, 0.4), rng.uniform(-0.25, 0.25)
        first = int(rng.integers(0, max(1, n // 4)))
        last = int(rng.integers(min(n - 1, first + n // 2), n))
        keys = []
        for f in range(n):  # bouncing off the frame's edges
            x, y = _bounce(gx + vx * f, self.GX), _bounce(gy + vy * f, self.GY)
            keys.append((int(x), int(y), ri) if first <= f <= last else None)
        return keys


def _bounce(x: float, size: int) -> float:
    x = x % (2 * size)
    return min(size - 1e-6, x if x < size else 2 * size - x)


NOUNS = ("car", "dog", "person", "bird", "boat", "horse", "cat", "cyclist", "cow", "sheep")
VERBS = ("moving left", "moving right", "turning around", "standing still", "walking away", "coming closer")


def write_mevis_split(root: str, target_bytes: int, seed: int = 0, pool: MaskPool | None = None) -> int:
    """`<root>/train/{meta_expressions.json, mask_dict.json}` (no frames: built with --videos skip),
    videos added until mask_dict.json reaches `target_bytes`. Returns the number of videos."""
    pool = pool or MaskPool()
    rng = np.random.default_rng(seed)
    base = os.path.join(root, "train")
    os.makedirs(base, exist_ok=True)
    videos, anno, written = {}, 0, 0
    with open(os.path.join(base, "mask_dict.json"), "w") as f:
        f.write("{")
        while written < target_bytes:
            i = len(videos)
            vid = f"{i:05d}_{hashlib.sha1(str(i).encode()).hexdigest()[:8]}"
            n = int(rng.integers(60, 121))
            objects = []
            for _ in range(int(rng.integers(2, 7))):
                anno += 1
                masks = [{"size": [H, W], "counts": pool.rles[k]} if k else None for k in pool.track(rng, n)]
                text = ("," if anno > 1 else "") + json.dumps(str(anno)) + ":" + json.dumps(masks)
                f.write(text)
                written += len(text)
                objects.append(anno)
            expressions = {}
            for e in range(int(rng.integers(3, 9))):
                chosen = sorted(rng.choice(len(objects), size=int(rng.integers(1, len(objects) + 1)), replace=False))
                expressions[str(e)] = {"exp": f"the {NOUNS[e % len(NOUNS)]} {VERBS[int(rng.integers(len(VERBS)))]} ({e})",
                                       "obj_id": [int(c) for c in chosen], "anno_id": [objects[c] for c in chosen]}
            videos[vid] = {"frames": [f"{k:05d}" for k in range(n)], "expressions": expressions}
        f.write("}")
    with open(os.path.join(base, "meta_expressions.json"), "w") as f:
        json.dump({"videos": videos}, f)
    return len(videos)


def write_ovis_split(root: str, target_bytes: int, seed: int = 1, pool: MaskPool | None = None) -> int:
    """`<root>/annotations_train.json` (video-COCO: videos, annotations with RLE segmentations, box
    lists and areas, categories), videos added until it reaches `target_bytes`."""
    pool = pool or MaskPool()
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(NOUNS)]
    videos, ann_id = [], 0
    parts = os.path.join(root, ".annotations.part")
    with open(parts, "w") as f:
        written = 0
        while written < target_bytes:
            vid_id = len(videos) + 1
            n = int(rng.integers(30, 81))
            name = hashlib.sha1(str(vid_id).encode()).hexdigest()[:8]
            videos.append({"id": vid_id, "width": W, "height": H, "length": n,
                           "file_names": [f"{name}/img_{k + 1:07d}.jpg" for k in range(n)]})
            for _ in range(int(rng.integers(2, 8))):
                ann_id += 1
                keys = pool.track(rng, n)
                a = {"id": ann_id, "video_id": vid_id, "category_id": int(rng.integers(1, len(NOUNS) + 1)),
                     "segmentations": [{"size": [H, W], "counts": pool.rles[k]} if k else None for k in keys],
                     "bboxes": [pool.boxes[k] if k else None for k in keys],
                     "areas": [float(pool.boxes[k][2] * pool.boxes[k][3]) if k else None for k in keys],
                     "iscrowd": 0}
                text = ("," if ann_id > 1 else "") + json.dumps(a)
                f.write(text)
                written += len(text)
    with open(os.path.join(root, "annotations_train.json"), "w") as out:
        out.write('{"info": {"description": "generated by benchmarks/split_files.py"}, "videos": ')
        json.dump(videos, out)
        out.write(', "annotations": [')
        with open(parts) as f:
            shutil.copyfileobj(f, out, 1 << 20)
        out.write('], "categories": ')
        json.dump(categories, out)
        out.write("}")
    os.remove(parts)
    return len(videos)


# -- measuring ----------------------------------------------------------------------------------------

def tree_rss_kib(root_pid: int) -> int:
    from benchmarks.scale import tree_rss_kib as rss

    return rss(root_pid)


def convert(code_root: str, source: str, root: str, out: str, workers: int = 2) -> tuple[float, int, dict]:
    """(seconds, peak RSS of the process tree in KiB, summary) of one `vgdata convert` process run
    from the code at `code_root`."""
    argv = ["convert", source, "--root", root, "--out", out, "--runner", "local", "--workers", str(workers),
            "--videos", "skip", "--no-resume", "--quiet"]
    env = {**os.environ, "PYTHONPATH": code_root}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(root=code_root, argv=argv)], env=env, cwd=code_root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - t0
    t.join()
    if proc.returncode != 0:
        sys.exit(f"conversion failed ({code_root}):\n{stderr[-3000:]}")
    with open(os.path.join(out, "summary.json")) as f:
        return seconds, peak[0], json.load(f)


def bare_load(path: str) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of json.load of the whole file in a fresh process."""
    out = subprocess.run([sys.executable, "-c", BARE_LOAD.format(path=path)], capture_output=True, text=True, check=True)
    seconds, rss = out.stdout.split()
    return float(seconds), int(rss)


def shard_digests(out: str) -> dict[str, str]:
    found = {}
    for path in sorted(glob.glob(os.path.join(out, "AcademicVideo*", "**", "*.parquet"), recursive=True)):
        with open(path, "rb") as f:
            found[os.path.relpath(path, out)] = hashlib.sha256(f.read()).hexdigest()
    return found


def baseline_tree(commit: str, where: str) -> str:
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "-f", where, commit], check=True,
                   capture_output=True)
    return where


def big(name: str, source: str, root: str, path: str, tmp: str) -> None:
    size = os.path.getsize(path)
    n = len(glob.glob(os.path.join(tmp, "*")))  # a fresh out folder per run
    seconds, rss, summary = convert(ROOT, source, root, os.path.join(tmp, f"out-{name}-{n}"))
    videos = sum(s["videos"] for s in summary["sources"].values())
    bare_s, bare_rss = bare_load(path)
    target = 0.25 * size / 2**20 + 300
    print(f"{name}: {os.path.relpath(path, root)} {size / 2**20:,.0f} MiB, {videos:,} videos")
    print(f"  vgdata convert {source} --workers 2: peak RSS {rss / 1024:,.0f} MiB (target <= {target:,.0f} MiB: "
          f"{'met' if rss / 1024 <= target else 'MISSED'}), {videos / seconds:.2f} videos/s ({seconds:.0f} s)")
    print(f"  bare json.load of the file:      peak RSS {bare_rss / 1024:,.0f} MiB ({bare_s:.1f} s); "
          f"ratio {rss / bare_rss:.2f}x")


def small(name: str, source: str, root: str, tmp: str, old: str | None) -> None:
    seconds, _, summary = convert(ROOT, source, root, os.path.join(tmp, f"small-{name}-new"))
    videos = sum(s["videos"] for s in summary["sources"].values())
    line = f"{name} small split ({videos} videos): {videos / seconds:.2f} videos/s"
    if old:
        old_s, _, _ = convert(old, source, root, os.path.join(tmp, f"small-{name}-old"))
        same = shard_digests(os.path.join(tmp, f"small-{name}-new")) == shard_digests(os.path.join(tmp, f"small-{name}-old"))
        line += (f"; today's path ({BASELINE}) {videos / old_s:.2f} videos/s; ratio {old_s / seconds:.2f}x "
                 f"(target >= 0.9x); shards {'byte-identical' if same else 'DIFFER'}")
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mevis-gb", type=float, default=2.0, help="size of the MeViS mask_dict.json (GB)")
    ap.add_argument("--ovis-gb", type=float, default=1.0, help="size of the OVIS annotations file (GB)")
    ap.add_argument("--small-mb", type=float, default=60.0, help="size of the small splits' files (MB)")
    ap.add_argument("--baseline", default=BASELINE, help="today's path: the commit to compare the small splits with "
                    "('' to skip)")
    ap.add_argument("--data", help="keep the generated splits here (reused when present)")
    a = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    tmp = tempfile.mkdtemp(prefix="vg-split-files-")
    data = a.data or os.path.join(tmp, "data")
    try:
        pool = MaskPool()
        splits = {"mevis": (a.mevis_gb, write_mevis_split, "train/mask_dict.json"),
                  "ovis": (a.ovis_gb, write_ovis_split, "annotations_train.json")}
        for name, (gb, write, rel) in splits.items():
            root = os.path.join(data, f"{name}-{gb:g}GB")
            if not os.path.exists(os.path.join(root, rel)):
                t0 = time.perf_counter()
                n = write(root, int(gb * 1e9), pool=pool)
                print(f"(generated {name}: {n:,} videos in {time.perf_counter() - t0:.0f} s)")
            big(name, name, root, os.path.join(root, rel), tmp)
        old = baseline_tree(a.baseline, os.path.join(tmp, "baseline")) if a.baseline else None
        for name, (_, write, rel) in splits.items():
            root = os.path.join(data, f"{name}-small-{a.small_mb:g}MB")
            if not os.path.exists(os.path.join(root, rel)):
                write(root, int(a.small_mb * 1e6), pool=pool)
            small(name, name, root, tmp, old)
    finally:
        if os.path.isdir(os.path.join(tmp, "baseline")):
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", os.path.join(tmp, "baseline")],
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
