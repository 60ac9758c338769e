"""Progress (a bar on a terminal, a few lines off it, nothing with --quiet) and errors shown as one
line without tracebacks unless --debug."""

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import progress as P

REPO = Path(__file__).resolve().parent.parent
VGDATA = [sys.executable, "-c", "import sys; from flows.cli import main; sys.exit(main())"]


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_progress_lines_every_tenth_with_rate_and_eta(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(P.time, "perf_counter", clock)
    lines = []
    with P.progress(200, "videos", echo=lines.append, how="lines") as bar:
        for _ in range(200):
            clock.t += 0.5  # 2 videos/s
            bar.advance("x")
    assert len(lines) == 10
    assert lines[0] == "videos: 20/200 videos (10%), 2.00 videos/s, 10s elapsed, ETA 1m30s"
    assert lines[-1] == "videos: 200/200 videos (100%), 2.00 videos/s, 1m40s elapsed"


def test_progress_lines_a_fast_stage_prints_nothing_a_slow_one_once_a_minute(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(P.time, "perf_counter", clock)
    fast, slow = [], []
    with P.progress(1000, "shards", unit="rows", echo=fast.append, how="lines") as bar:
        for _ in range(1000):
            clock.t += 0.001
            bar.advance(n=1)
    assert fast == []
    with P.progress(4, "videos", echo=slow.append, how="lines") as bar:
        for _ in range(3):
            clock.t += 70
            bar.advance()
    assert len(slow) == 3 and slow[0].startswith("videos: 1/4 videos (25%)")


def test_progress_quiet_and_verbose_and_notes(monkeypatch):
    out = []
    with P.progress(3, "videos", echo=out.append, how="quiet") as bar:
        bar.advance("a")
        bar.note("REJECTED b")
        bar.advance("b")
    assert out == ["REJECTED b"]
    out.clear()
    with P.progress(2, "videos", echo=out.append, how="verbose") as bar:
        bar.advance("sav/train/v1: ok")
        bar.advance("sav/train/v2: ok")
    assert out == ["[1/2] sav/train/v1: ok", "[2/2] sav/train/v2: ok"]


def test_progress_mode_from_environment(monkeypatch):
    monkeypatch.setenv(P.ENV, "quiet")
    assert P.mode() == "quiet"
    monkeypatch.setenv(P.ENV, "auto")
    assert P.mode() == ("bar" if sys.stderr.isatty() else "lines")
    monkeypatch.setenv(P.ENV, "loud")
    with pytest.raises(ValueError, match="VGDATA_PROGRESS='loud'"):
        P.mode()


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != P.ENV}
    env.update(PYTHONPATH=str(REPO), **extra)
    return env


def _convert(sample_dir, out, *flags):
    return ["convert", "sav", "--root", str(sample_dir / "sav"), "--out", str(out), "--videos", "skip",
            "--no-resume", *flags]


def run_in_terminal(argv, env, timeout=240) -> str:
    """Run argv with stdout and stderr on a pseudo-terminal; everything it printed."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, env=env, cwd=REPO)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            raise AssertionError("no output for %d s" % timeout)
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=timeout)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_lines_off_it_nothing_when_quiet(sample_dir, tmp_path):
    terminal = run_in_terminal(VGDATA + _convert(sample_dir, tmp_path / "a", "--runner", "local"), _env())
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)
    assert re.search(r"videos .*━.* 1/1 .*videos/s.*ETA", plain), plain
    piped = subprocess.run(VGDATA + _convert(sample_dir, tmp_path / "b", "--runner", "local"), env=_env(),
                           capture_output=True, text=True, cwd=REPO, check=True)
    assert "━" not in piped.stdout + piped.stderr and "\x1b[" not in piped.stdout + piped.stderr
    verbose = subprocess.run(VGDATA + _convert(sample_dir, tmp_path / "c", "--runner", "local", "--verbose"),
                             env=_env(), capture_output=True, text=True, cwd=REPO, check=True)
    assert "[1/1] sav/train/sav_sample01: ok" in verbose.stdout
    # --quiet wins over VGDATA_PROGRESS=verbose, which alone prints a line per video
    quiet = subprocess.run(VGDATA + _convert(sample_dir, tmp_path / "d", "--runner", "local", "--quiet"),
                           env=_env(VGDATA_PROGRESS="verbose"), capture_output=True, text=True, cwd=REPO, check=True)
    assert "[1/1]" not in quiet.stdout + quiet.stderr
    assert "Built into" in quiet.stdout  # the summary is not progress


FAILING_BUILD = ("import sys; from pipeline.build import run as B; from pipeline.errors import ConfigError\n"
                 "def boom(cfg, results): raise ConfigError('out/AcademicVideoPoint: disk quota exceeded')\n"
                 "B.write_outputs = boom\n"
                 "from flows.cli import main; sys.exit(main())")


def test_progress_error_inside_the_prefect_flow_is_one_line_without_traceback(sample_dir, tmp_path, prefect_harness):
    env = _env(PREFECT_API_URL=prefect_harness)
    argv = [sys.executable, "-c", FAILING_BUILD] + _convert(sample_dir, tmp_path / "o", "--runner", "prefect")
    r = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO, timeout=300)
    both = r.stdout + r.stderr
    assert r.returncode == 2, both
    assert "vgdata: error: out/AcademicVideoPoint: disk quota exceeded" in r.stderr
    assert "Traceback" not in both
    debug = subprocess.run(argv + ["--debug"], env=env, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert "Traceback" in debug.stdout + debug.stderr


def test_progress_unexpected_error_is_one_line_unless_debug(tmp_path):
    bad = ("import sys; from pipeline.build import run as B\n"
           "def boom(cfg): raise KeyError('frames')\n"
           "B.preflight = boom\n"
           "from flows.cli import main; sys.exit(main())")
    argv = [sys.executable, "-c", bad, "build", str(REPO / "flows/configs/demo.yaml"), "--runner", "local"]
    r = subprocess.run(argv, env=_env(), capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "vgdata: error: unexpected KeyError: 'frames'" in r.stderr and "--debug" in r.stderr
    r = subprocess.run(argv + ["--debug"], env=_env(), capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert "Traceback" in r.stderr and "KeyError" in r.stderr
