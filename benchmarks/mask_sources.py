"""How fast a mask source converts: `vgdata convert sav --runner local` over N copies of a real SA-V
masklet file (a fresh process, start-up included), in videos per second, next to a bare baseline
measured in the same run: `pycocotools.mask.decode` of the same RLEs at the same sampled frames
(2 fps of the 6 fps annotation), and the ratio. Also the conversion's peak RSS at N = 100 and 1,000.

    python benchmarks/mask_sources.py                 # N = 300 (the target: ratio >= 1.0)
    python benchmarks/mask_sources.py --n 300 --rss 100 1000

Rows only (`--videos skip`): the copies have no mp4 beside them, and writing videos is measured by
benchmarks/video_writing.py. The SA-V file is `../shared/fixtures/real/sav_000001_manual.json`;
without it the sample's synthetic SA-V file is used (and printed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

REAL = os.path.join(ROOT, "..", "shared", "fixtures", "real", "sav_000001_manual.json")
CHILD = """
import sys
sys.path.insert(0, {root!r})
from flows.cli import main
code = main({argv!r})
# VmHWM: this process image's peak RSS (getrusage's ru_maxrss also counts the forking parent's).
print("MAXRSS_KB", open("/proc/self/status").read().split("VmHWM:")[1].split()[0], file=sys.stderr)
sys.exit(code)
"""


def source_file(tmp: str) -> str:
    if os.path.exists(REAL):
        return REAL
    from pipeline.sample.data import write_sample

    roots = write_sample(os.path.join(tmp, "sample"))
    path = next(os.path.join(d, f) for d, _, fs in os.walk(roots["sav"]) for f in fs if f.endswith("_manual.json"))
    print(f"(real SA-V file not found; using the synthetic {path})")
    return path


def make_copies(src: str, folder: str, n: int) -> None:
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        shutil.copyfile(src, os.path.join(folder, f"sav_{i:06d}_manual.json"))


def convert(folder: str, out: str) -> tuple[float, int]:
    """(seconds, peak RSS in KiB) of one `vgdata convert` process."""
    argv = ["convert", "sav", "--root", folder, "--out", out, "--runner", "local", "--videos", "skip", "--no-resume"]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD.format(root=ROOT, argv=argv)], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"conversion failed:\n{proc.stderr[-2000:]}")
    rss = int(next(line.split()[1] for line in proc.stderr.splitlines() if line.startswith("MAXRSS_KB")))
    return seconds, rss


def bare_decode(src: str, n: int, sampling_fps: int = 2) -> float:
    """Seconds to json-load each copy and decode its RLEs at the sampled frames with pycocotools."""
    from pycocotools import mask as mask_utils

    with open(src) as f:
        text = f.read()
    held = [None]
    t0 = time.perf_counter()
    for _ in range(n):
        data = json.loads(text)
        step = max(1, round(6 / sampling_fps))  # annotated at 6 fps; every 3rd annotated frame at 2 fps
        for per_obj in data["masklet"][::step]:
            # each mask held until the next: a mask dropped at once is handed back to the kernel
            # (glibc's heap trims) and the next one faults its pages in again, 1.7x slower in a
            # fresh process (benchmarks/workers.py runs this in one)
            for rle in per_obj:
                held[0] = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="videos converted for the speed figure")
    ap.add_argument("--rss", type=int, nargs="*", default=[100, 1000], help="N values to report peak RSS for")
    a = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        src = source_file(tmp)
        folder = os.path.join(tmp, f"sav{a.n}")
        make_copies(src, folder, a.n)
        seconds, rss = convert(folder, os.path.join(tmp, "out"))
        bare = bare_decode(src, a.n)
        ours, base = a.n / seconds, a.n / bare
        print(f"vgdata convert sav, {a.n} videos (process start included): {ours:6.2f} videos/s  "
              f"({seconds:.1f} s, peak RSS {rss / 1024:.0f} MiB)")
        print(f"bare pycocotools decode of the same sampled RLEs:          {base:6.2f} videos/s  ({bare:.1f} s)")
        print(f"ratio: {ours / base:.2f}x (target >= 1.0x)")
        for n in a.rss:
            folder = os.path.join(tmp, f"rss{n}")
            make_copies(src, folder, n)
            seconds, rss = convert(folder, os.path.join(tmp, f"out{n}"))
            print(f"N = {n:5d}: {n / seconds:6.2f} videos/s, peak RSS {rss / 1024:.0f} MiB")
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
