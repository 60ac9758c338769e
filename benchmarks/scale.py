"""How a build scales with the number of videos: `vgdata convert sav` over N replicated SA-V
videos (the real annotation file from ../shared/fixtures/real/, hard-linked under new ids), for
each N: videos/s and the peak RSS of the whole process tree (the build and any Prefect server it
starts), sampled from /proc every 0.2 s (Linux).

    python benchmarks/scale.py                                  # N = 100 1000 10000, local runner
    python benchmarks/scale.py --n 100 1000 --runner local prefect
    python benchmarks/scale.py --n 1000 --runner local prefect --prefect-server   # against `prefect server start`
    python benchmarks/scale.py --n 1000 --runner local prefect --repeat 2         # alternate, report the fastest

Targets (issue 10): peak RSS at N = 1,000 within 1.3x of N = 100 and at N = 10,000 within 1.3x of
N = 1,000; the prefect runner at least 0.9x the local runner's videos/s at N = 1,000. Rows only
(`--videos skip`): the copies have no mp4 beside them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.mask_sources import source_file  # noqa: E402

CHILD = "import sys; sys.path.insert(0, {root!r}); from flows.cli import main; sys.exit(main({argv!r}))"


def tree_rss_kib(root_pid: int) -> int:
    """Sum of VmRSS over `root_pid` and all its descendants (KiB)."""
    parent, rss = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        pid = int(name)
        parent[pid] = int(fields.get("PPid", "0").strip() or 0)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        p = frontier.pop()
        for child, par in parent.items():
            if par == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree)


def run(folder: str, out: str, runner: str, env: dict | None = None) -> tuple[float, int]:
    argv = ["convert", "sav", "--root", folder, "--out", out, "--runner", runner, "--videos", "skip", "--no-resume"]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(root=ROOT, argv=argv)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss_kib(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"build failed ({runner}, {folder}):\n{err[-2000:]}")
    return seconds, peak[0]


@contextlib.contextmanager
def prefect_server():
    """A real `prefect server start` on 127.0.0.1 (what scheduled builds use); yields its API URL.
    Builds then skip the temporary server's start-up; the server is not in their process tree."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tempfile.mkdtemp(prefix="prefect-home-")
    env = {**os.environ, "PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    prefect = os.path.join(os.path.dirname(sys.executable), "prefect")
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.5)
        else:
            sys.exit("prefect server did not start in 120 s")
        yield url
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--runner", nargs="+", default=["local"], choices=["local", "prefect"])
    ap.add_argument("--repeat", type=int, default=1,
                    help="builds per runner and N, alternating the runners; the fastest is reported (this "
                         "machine's speed drifts by several per cent between runs)")
    ap.add_argument("--prefect-server", action="store_true",
                    help="run the prefect builds against a running `prefect server start` (as scheduled builds "
                         "do) instead of the temporary server each build starts")
    a = ap.parse_args()
    with contextlib.ExitStack() as stack:
        env = None
        if a.prefect_server and "prefect" in a.runner:
            env = {**os.environ, "PREFECT_API_URL": stack.enter_context(prefect_server())}
            print(f"prefect runs against a running server at {env['PREFECT_API_URL']}")
        measure(a, env)


def measure(a, env: dict | None) -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        src = source_file(tmp)
        results = {}
        for n in a.n:
            folder = os.path.join(tmp, f"sav{n}")
            os.makedirs(folder)
            for i in range(n):
                os.link(src, os.path.join(folder, f"sav_{i:06d}_manual.json"))
            for attempt in range(a.repeat):
                for runner in a.runner:
                    seconds, peak = run(folder, os.path.join(tmp, f"out-{runner}-{n}-{attempt}"), runner,
                                        env if runner == "prefect" else None)
                    best = results.get((runner, n), (0.0, 0))
                    results[(runner, n)] = (max(best[0], n / seconds), max(best[1], peak))
                    print(f"{runner:7s} N = {n:6d}: {n / seconds:6.2f} videos/s ({seconds:7.1f} s), "
                          f"peak RSS of the process tree {peak / 1024:7.0f} MiB", flush=True)
        for runner in a.runner:
            ns = [n for n in a.n if (runner, n) in results]
            for lo, hi in zip(ns, ns[1:]):
                ratio = results[(runner, hi)][1] / max(1, results[(runner, lo)][1])
                print(f"{runner}: peak RSS N = {hi} / N = {lo}: {ratio:.2f}x (target <= 1.3x)")
        for n in a.n:
            if ("local", n) in results and ("prefect", n) in results:
                ratio = results[("prefect", n)][0] / results[("local", n)][0]
                print(f"N = {n}: prefect / local videos/s: {ratio:.2f}x (target >= 0.9x at N = 1000)"
                      + (f" (the fastest of {a.repeat} builds each)" if a.repeat > 1 else ""))


if __name__ == "__main__":
    main()
