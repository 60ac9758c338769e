"""`vgdata convert` and `vgdata build`: which runner runs the build.

`local` calls `pipeline.build.run_build` here, without importing Prefect (about 100 MB of memory a
local build does not need); `prefect` and `ray` run the same function inside the Prefect `build`
flow (`flows/build.py`).
"""

from __future__ import annotations

import os
import sys

from pipeline import build as B
from pipeline.config import BuildConfig

EPHEMERAL_TIMEOUT = "ephemeral Prefect API server"
GRABCUT_NOTE = ("note: segmenter 'grabcut' turns boxes into masks with OpenCV GrabCut (CPU, no weights): "
                "fine for the sample, weaker than SAM 2 on real video. Real builds: --segmenter sam2 --checkpoint PATH.")


def run(cfg: BuildConfig, runner: str = "prefect", ray_address: str | None = None) -> dict:
    """`vgdata convert` and `vgdata build`: the build on the chosen runner, its summary printed.
    `local` runs `run_build` here; `prefect` and `ray` run it inside the `build` flow, after the
    cheap checks (so a bad OUT or root is one line now, not after the ~17 s a temporary Prefect
    server takes to start). If that server does not come up in time (a loaded machine), the same
    build runs on the local runner, with a warning."""
    from converters import load_manifest

    if cfg.segmenter.name == "grabcut" and any(load_manifest(s.name)["kind"] == "box" for s in cfg.sources):
        print(GRABCUT_NOTE)
    if runner != "local":
        B.check_before_start(cfg)
        try:
            from flows.build import run_flow

            return run_flow(cfg, runner, ray_address)
        except RuntimeError as e:
            if EPHEMERAL_TIMEOUT not in str(e):
                raise
        print(f"vgdata: warning: {EPHEMERAL_TIMEOUT} did not start within "
              f"{os.environ.get('PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS')} s (is the machine busy?); "
              "building with --runner local instead. To keep Prefect: run `prefect server start` and set "
              "PREFECT_API_URL, or raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.", file=sys.stderr)
    summary = B.run_build(cfg, B.LocalRunner())
    print(B.format_summary(summary))
    return summary
