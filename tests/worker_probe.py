"""Functions tests run in vgdata's worker processes (spawned workers import this module by name)."""

from __future__ import annotations

import importlib.util
import os
import sys
import time


def describe(refs: list, cfg) -> list[dict]:
    """What the worker running `refs` is: its process, its libraries' threads, its GPU."""
    import cv2
    import pyarrow
    from threadpoolctl import threadpool_info

    time.sleep(0.3)  # long enough that the other worker takes the next batch
    pyarrow.Table.from_pylist([{"a": [1, 2]}])  # what a video's rows check does
    pandas = importlib.util.find_spec("pandas")  # still there for code that imports it itself
    return [{"ref": r, "pandas_by_arrow": "pandas" in sys.modules, "pandas": pandas and pandas.name, "pid": os.getpid(), "ppid": os.getppid(), "cv2": cv2.getNumThreads(),
             "blas": sorted({p["num_threads"] for p in threadpool_info()}), "arrow": pyarrow.cpu_count(),
             "gpu": os.environ.get("CUDA_VISIBLE_DEVICES"), "omp": os.environ.get("OMP_NUM_THREADS")} for r in refs]


def crash_on(refs: list, cfg) -> list[str]:
    """Each ref done, except "crash", which kills its worker process as a crashing library would."""
    out = []
    for r in refs:
        if r == "crash":
            os._exit(3)
        time.sleep(0.05)
        out.append(f"done {r}")
    return out
