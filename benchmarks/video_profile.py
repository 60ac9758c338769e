"""Where a mask video's time goes: wall milliseconds per video in each step of the per-video work,
in one process set up as a build's worker is (one thread per library, glibc's heap kept, pyarrow
without pandas), over N copies of the real SA-V masklet file. Not a target: the profile that
docs/PERFORMANCE.md quotes, and where to look before making a video faster.

    python benchmarks/video_profile.py             # N = 100
    python benchmarks/video_profile.py --n 300

Each step is timed by a wrapper round its function (a few microseconds each, on ~160 masks a video),
after 5 videos of warm-up; nested steps are indented and part of the step above them.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.mask_sources import source_file  # noqa: E402

# (module, attribute, label): what is timed, outermost first
STEPS = [
    ("pipeline.build.video", "process_video", "process_video"),
    ("converters.sav", "SavConverter.load", "  the converter's load (JSON, RLE checks, areas)"),
    ("pipeline.build.video", "object_tracks", "  object_tracks"),
    ("pipeline.stages.masks", "rle_counts_many", "    the RLE strings' runs (rle_counts_many)"),
    ("pipeline.stages.masks", "decode_crop", "    crops (decode_crop)"),
    ("pipeline.stages.points", "track_point", "    track points (track_point)"),
    ("pipeline.stages.points", "_padded_distances", "      the distance transform (OpenCV)"),
    ("pipeline.stages.points", "_Scorer.best", "      the candidates' scores (_Scorer.best)"),
    ("pipeline.build.video", "track_rows", "  track rows (trajectories, answers, questions)"),
    ("pipeline.build.video", "VideoResult.check_rows", "  check_rows (Arrow)"),
    ("pipeline.build.video", "_write_parts", "the video's parts for resume (Arrow IPC, after process_video)"),
]


def _wrap(spent: collections.Counter, module: str, attr: str, label: str) -> None:
    import importlib

    owner = importlib.import_module(module)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - t

    setattr(owner, name, timed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="copies of the SA-V file (videos)")
    a = ap.parse_args()

    from pipeline.build import workers

    workers.prepare_video_process()
    workers._arrow_without_pandas()  # as a spawned worker does at start
    spent: collections.Counter = collections.Counter()
    for module, attr, label in STEPS:
        _wrap(spent, module, attr, label)

    from pipeline.build.run import discover
    from pipeline.build.runner import process_ref
    from pipeline.config import config_from_dict

    with tempfile.TemporaryDirectory() as tmp:
        src = source_file(tmp)
        folder = os.path.join(tmp, "sav")
        os.makedirs(folder)
        for i in range(a.n):
            os.link(src, os.path.join(folder, f"sav_{i:06d}_manual.json"))
        cfg = config_from_dict({"out": os.path.join(tmp, "out"), "videos": "skip", "segmenter": {"name": "sam2"},
                                "sources": [{"name": "sav", "root": folder, "split": "train"}]})
        refs = discover(cfg)
        for ref in refs[:5]:  # warm-up: imports, first allocations
            process_ref(ref, cfg)
        spent.clear()
        cpu = time.process_time()
        for ref in refs:
            process_ref(ref, cfg)
        cpu = time.process_time() - cpu
    n = len(refs)
    print(f"{n} SA-V videos ({os.path.basename(src)}), one process set up as a worker: "
          f"{1000 * cpu / n:.1f} ms of CPU a video, timers included")
    for _, _, label in STEPS:
        print(f"  {1000 * spent[label] / n:7.1f} ms  {label}")


if __name__ == "__main__":
    main()
