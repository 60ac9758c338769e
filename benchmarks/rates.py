"""What a second sampling rate costs: `vgdata convert mevis --sampling-fps 1,2` against
`--sampling-fps 2` over the same MeViS split (benchmarks/mevis_split.py), each a whole process
with its videos encoded, run in turn (A B A B ...), quoted as the median of the paired ratios.
The 1 fps rows reuse the 2 fps work (one decode, the same masks and points, the same videos); they
add rows (track, ground, single_point_track at 1 fps) and nothing else.

    python benchmarks/rates.py                 # N = 300 videos, 3 pairs (target: ratio <= 1.2)
    python benchmarks/rates.py --n 100 --frames 300 --pairs 3   # one-minute videos
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.mevis_split import write_mevis  # noqa: E402


def build(src: str, out: str, rates: str, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "flows.cli", "convert", "mevis", "--root", src, "--out", out, "--runner", "local",
           "--workers", str(workers), "--sampling-fps", rates, "--no-resume", "--quiet"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode:
        sys.exit(f"build failed:\n{r.stderr[-2000:]}")
    return seconds


def rows(out: str) -> int:
    import json

    with open(os.path.join(out, "summary.json")) as f:
        return sum(json.load(f)["rows"].values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="videos (default 300)")
    ap.add_argument("--pairs", type=int, default=3, help="A B pairs (default 3)")
    ap.add_argument("--frames", type=int, default=10, help="frames per video at 5 fps (default 10: 2 s)")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; N = {a.n} videos of {a.frames} "
          f"frames, {a.pairs} pairs, --workers {a.workers}")
    with tempfile.TemporaryDirectory() as tmp:
        src = write_mevis(os.path.join(tmp, "src"), a.n, a.frames)
        ratios, one, both = [], [], []
        for i in range(a.pairs):
            t2 = build(src, os.path.join(tmp, "a"), "2", a.workers)
            t12 = build(src, os.path.join(tmp, "b"), "1,2", a.workers)
            one.append(t2)
            both.append(t12)
            ratios.append(t12 / t2)
            print(f"  pair {i + 1}: 2 fps {t2:.1f}s ({rows(os.path.join(tmp, 'a'))} rows), 1+2 fps {t12:.1f}s "
                  f"({rows(os.path.join(tmp, 'b'))} rows): {t12 / t2:.3f}x")
        print(f"  median: 2 fps {statistics.median(one):.1f}s, 1+2 fps {statistics.median(both):.1f}s; "
              f"median paired ratio {statistics.median(ratios):.3f}x (target <= 1.2)")


if __name__ == "__main__":
    main()
