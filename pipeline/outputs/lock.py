"""OUT held by one writer: a build (or an export reading it) takes the lock, so that a second build
into the same OUT cannot interleave shards and manifests with it, and an export never reads a
half-written build."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os

from pipeline.errors import ConfigError


def sweep_temp(out: str) -> list[str]:
    """Delete the temporary files a killed build left (every write is tmp + rename, so a `.tmp` is
    never a finished file). Runs under the OUT lock: no other build can be writing them."""
    found = [p for p in glob.glob(os.path.join(glob.escape(out), "**", "*.tmp"), recursive=True)
             + glob.glob(os.path.join(glob.escape(out), "**", ".*.tmp"), recursive=True)
             if os.path.isfile(p) and os.sep + "sample" + os.sep not in p[len(out):]]
    for p in set(found):
        os.remove(p)
    return sorted(set(found))


@contextlib.contextmanager
def out_lock(out: str, sweep: bool = True):
    """Hold OUT for one build: a second build into the same OUT at the same time would interleave
    shards and manifests, so it is refused (the lock goes with the process, even if it is killed)."""
    path = os.path.join(out, ".vgdata.lock")
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise ConfigError(f"out: another vgdata build is writing to {out} ({f.read().strip() or 'pid unknown'}); "
                              "wait for it or use another --out") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        if sweep:
            sweep_temp(out)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
