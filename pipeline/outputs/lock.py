"""A folder held by one writer, and the folders a command writes into.

OUT is held by a build (and by an export reading it), so that a second build into the same OUT
cannot interleave shards and manifests with it and an export never reads a half-written build; an
export's DIR is held the same way. The lock is an flock on a file in the folder: it goes with the
process, even one that is killed."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
from collections.abc import Callable

from pipeline.errors import ConfigError


def writable_folder(path: str, what: str, error: type[Exception] = ConfigError) -> None:
    """`path` must be a folder this process can write (created if missing); else one `error`
    line naming it as `what` ("out:", "--to")."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise error(f"{what} {path} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise error(f"{what} {path} cannot be created ({e.strerror or e})") from None
    if not os.access(path, os.W_OK):
        raise error(f"{what} {path} is not writable")


@contextlib.contextmanager
def held(lock: str, busy: Callable[[str], Exception]):
    """An exclusive lock on the file `lock` for the `with` block; `busy(holder)` is raised when
    another process holds it (`holder`: what that process wrote there, its pid)."""
    with open(lock, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise busy(f.read().strip() or "pid unknown") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


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
    busy = lambda holder: ConfigError(f"out: another vgdata build is writing to {out} ({holder}); "  # noqa: E731
                                      "wait for it or use another --out")
    with held(os.path.join(out, ".vgdata.lock"), busy):
        if sweep:
            sweep_temp(out)
        yield
