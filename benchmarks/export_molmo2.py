"""How long `vgdata export molmo2 OUT --to DIR` takes next to the build it exports, and that it
copies no video byte: a MeViS split of N videos (benchmarks/mevis_split.py: 10 frames each, three
expressions over two objects) built at 1 and 2 fps with its videos, then exported; each a whole
`vgdata` process as a user runs it. Printed next to them, a bare baseline of the file system work
alone: `cp -al` of the build's video folders (a hard link per file, no bytes).

    python benchmarks/export_molmo2.py                  # N = 10,000 (the target: export <= 5% of the build)
    python benchmarks/export_molmo2.py --n 1000

Bytes: every .mp4 under DIR must be the build's own file (same inode); the bytes the export adds
are its datasets and mask files only.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.mevis_split import write_mevis  # noqa: E402

VGDATA = [sys.executable, "-m", "flows.cli"]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return seconds


def byte_accounting(out: str, to: str) -> tuple[int, int, int]:
    """(videos under DIR, of them not the build's own file, bytes DIR adds beyond the build's files)."""
    ours = set()
    for d, _, files in os.walk(out):
        for f in files:
            st = os.stat(os.path.join(d, f))
            ours.add((st.st_dev, st.st_ino))
    videos = copied = added = 0
    for d, _, files in os.walk(to):
        for f in files:
            st = os.stat(os.path.join(d, f))
            shared = (st.st_dev, st.st_ino) in ours
            if f.endswith(".mp4"):
                videos += 1
                copied += not shared
            if not shared:
                added += st.st_size
    return videos, copied, added


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="videos in the build (default 10,000)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; N = {a.n:,} videos")
    with tempfile.TemporaryDirectory(dir=os.environ.get("VGDATA_BENCH_TMP")) as tmp:
        src, out, to = os.path.join(tmp, "src"), os.path.join(tmp, "out"), os.path.join(tmp, "export")
        t0 = time.perf_counter()
        write_mevis(src, a.n)
        print(f"  source laid out in {time.perf_counter() - t0:.1f}s")
        build = timed([*VGDATA, "convert", "mevis", "--root", src, "--out", out, "--runner", "local", "--workers",
                       str(a.workers), "--sampling-fps", "1,2", "--quiet"])
        print(f"  build (vgdata convert mevis, 1 and 2 fps, videos encoded): {build:.1f}s ({a.n / build:.1f} videos/s)")
        export = timed([*VGDATA, "export", "molmo2", out, "--to", to, "--quiet"])
        rerun = timed([*VGDATA, "export", "molmo2", out, "--to", to, "--quiet"])
        bare = timed(["cp", "-al", os.path.join(out, "AcademicVideoTrack"), os.path.join(tmp, "bare_track")])
        bare += timed(["cp", "-al", os.path.join(out, "AcademicVideoPoint"), os.path.join(tmp, "bare_point")])
        videos, copied, added = byte_accounting(out, to)
        print(f"  export (vgdata export molmo2): {export:.2f}s = {100 * export / build:.2f}% of the build (target <= 5%); "
              f"again over its own output: {rerun:.2f}s")
        print(f"  bare baseline (cp -al of the build's video folders): {bare:.2f}s; export / bare = {export / bare:.1f}x")
        print(f"  videos under DIR: {videos:,}, of them copies: {copied}; bytes the export adds (datasets, masks): "
              f"{added / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
