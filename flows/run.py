"""`vgdata convert` and `vgdata build`: which runner runs the build.

`local` calls `pipeline.build.run_build` here, without importing Prefect (about 100 MB of memory a
local build does not need); `prefect` and `ray` run the same function inside the Prefect `build`
flow (`flows/build.py`).

Without `PREFECT_API_URL`, a Prefect build needs a server for its run: `temporary_server` starts
Prefect's own `prefect server start` (the API only: no UI, no background services) on a free
loopback port as the first thing the command does, so that it boots on the other core while the
build is being prepared, and stops it when the build ends. (Prefect's built-in temporary server
costs ~7 s a build here: importing its server module into the client, then booting it; this one
is ready in ~4 s, overlapped.) If it is not answering within
`PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS` (90 by default: a busy machine), the same build
runs on the local runner, with a warning.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

from pipeline import build as B
from pipeline.config import BuildConfig

STARTUP_TIMEOUT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
GRABCUT_NOTE = ("note: segmenter 'grabcut' turns boxes into masks with OpenCV GrabCut (CPU, no weights): "
                "fine for the sample, weaker than SAM 2 on real video. Real builds: --segmenter sam2 --checkpoint PATH.")


class ServerDidNotStart(RuntimeError):
    pass


@contextlib.contextmanager
def server_for(runner: str):
    """The temporary server a Prefect build will need (None for the local runner, or when
    PREFECT_API_URL names one): started now, stopped when the block ends."""
    if runner == "local" or os.environ.get("PREFECT_API_URL"):
        yield None
    else:
        with temporary_server() as server:
            yield server


def run(cfg: BuildConfig, runner: str = "prefect", ray_address: str | None = None,
        server: "_Server | None" = None) -> dict:
    """`vgdata convert` and `vgdata build`: the build on the chosen runner, its summary printed.
    `local` runs `run_build` here; `prefect` and `ray` run it inside the `build` flow, after the
    cheap checks (so a bad OUT or root is one line at once), on `server` (`server_for`) or the
    one PREFECT_API_URL names."""
    from pipeline.sources import load_manifest

    if cfg.segmenter.name == "grabcut" and any(load_manifest(s.name)["kind"] == "box" for s in cfg.sources):
        print(GRABCUT_NOTE)
    if runner != "local":
        B.check_before_start(cfg)
        with contextlib.ExitStack() as stack:
            if server is None:
                server = stack.enter_context(server_for(runner))
            try:
                return _in_flow(cfg, runner, ray_address, server)
            except ServerDidNotStart as e:
                print(f"vgdata: warning: {e} (is the machine busy?); building with --runner local instead. To "
                      f"keep Prefect: run `prefect server start` and set PREFECT_API_URL, or raise "
                      f"{STARTUP_TIMEOUT}.", file=sys.stderr)
    summary = B.run_build(cfg, B.LocalRunner())
    print(B.format_summary(summary))
    return summary


def _in_flow(cfg: BuildConfig, runner: str, ray_address: str | None, server: "_Server | None") -> dict:
    """The `build` flow, on the temporary server when there is one (Prefect's settings point at it
    for this flow run only)."""
    from flows.build import run_flow  # Prefect's import (~1 s) while the server boots

    url = server.wait() if server else None
    if url is None:
        return run_flow(cfg, runner, ray_address)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        return run_flow(cfg, runner, ray_address)


class _Server:
    def __init__(self, proc: subprocess.Popen, url: str, log):
        self.proc, self.url, self.log = proc, url, log

    def wait(self) -> str:
        """The API URL once the server answers; ServerDidNotStart after the start-up limit."""
        limit = float(os.environ.get(STARTUP_TIMEOUT) or 90)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise ServerDidNotStart(f"the temporary Prefect server exited ({self.log.read()[-500:].strip()})")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        print(f"vgdata: Prefect API: a temporary server at {self.url} for this build (set "
                              "PREFECT_API_URL to use yours)", file=sys.stderr)
                        return self.url
            except OSError:
                pass
            time.sleep(0.1)
        raise ServerDidNotStart(f"the temporary Prefect server did not start within {limit:g} s")


def _flush_prefect() -> None:
    """Send what Prefect's background workers still hold (log records, events) to the API now."""
    if "prefect.logging.handlers" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=5)


@contextlib.contextmanager
def temporary_server():
    """`prefect server start` (API only) on a free port of 127.0.0.1 for the length of the block;
    yields a handle whose `wait()` gives its API URL."""
    import tempfile

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui", "--no-services",
               "--analytics-off", "--log-level", "ERROR"]
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield _Server(proc, f"http://127.0.0.1:{port}/api", log)
        finally:
            _flush_prefect()  # the run's last logs and events reach the server before it stops
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
