"""Checks on everything a build reads from outside: numbers, names and paths.

Source files and configs are untrusted input. A number that is NaN, infinite or absurd must not
reach a loop (`frameRate=nan` never terminates frame sampling) or an allocation (`seqLength=1e9`, a
60000x60000 mask), and a name must not steer a write or a delete outside OUT (`split: ../../x`).
Each check raises `ValueError` with a message that names the value; callers that know the file
turn it into `SourceError(file, message)`, config code into `ConfigError`.
"""

from __future__ import annotations

import math
import os
import re

# Limits well above any real dataset (8K video is 7680x4320; LaSOT's longest sequence has ~11k
# frames) and well below what would exhaust memory on one machine.
MAX_SIDE = 16_384  # pixels, per side
MAX_FRAMES = 1_000_000  # frames in one video (about 9 hours at 30 fps)
MAX_FPS = 1_000.0

# Split and source names become folder and file names (and Hugging Face split names, which allow no
# dashes): letters, digits and underscores only.
_NAME = re.compile(r"[A-Za-z0-9_]+")


def finite(value, what: str, lo: float | None = None, hi: float | None = None) -> float:
    """`value` as a float, finite and within [lo, hi]; ValueError naming `what` otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{what} is {value!r}, not a number")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{what} is {value!r}, not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} is {value!r}, not a finite number")
    if lo is not None and v < lo:
        raise ValueError(f"{what} is {value!r}, below the minimum {lo:g}")
    if hi is not None and v > hi:
        raise ValueError(f"{what} is {value!r}, above the maximum {hi:g}")
    return v


def whole(value, what: str, lo: int | None = None, hi: int | None = None) -> int:
    """`value` as an int: a finite number with no fractional part, within [lo, hi]."""
    v = finite(value, what, lo, hi)
    if v != int(v):
        raise ValueError(f"{what} is {value!r}, not a whole number")
    return int(v)


def frame_size(width, height, what: str = "frame") -> tuple[int, int]:
    """A (width, height) pair within 1..MAX_SIDE each."""
    return (whole(width, f"{what} width", 1, MAX_SIDE), whole(height, f"{what} height", 1, MAX_SIDE))


def frame_count(n, what: str = "frame count") -> int:
    return whole(n, what, 1, MAX_FRAMES)


def frame_rate(fps, what: str = "frame rate") -> float:
    v = finite(fps, what, None, MAX_FPS)
    if v <= 0:
        raise ValueError(f"{what} is {fps!r}, not a positive number")
    return v


def name(value, what: str) -> str:
    """A split or source name: letters, digits and underscores (it becomes a folder name)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a plain name (letters, digits and _ only)")
    return value


def relative_path(value: str, what: str) -> str:
    """A relative path made of plain parts (no '..', no absolute path, no empty or hidden-dot
    parts, no backslash or NUL): safe to join under an output folder. Video ids such as ReVOS's
    `UVO/all/-fbscFfkh4M` keep their slashes."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} {value!r} is empty or not text")
    if "\\" in value or "\x00" in value or value.startswith("/"):
        raise ValueError(f"{what} {value!r} is not a relative path of plain parts")
    for part in value.split("/"):
        if part in ("", ".", "..") or part.startswith("."):
            raise ValueError(f"{what} {value!r} has a part {part!r} that could escape or hide")
    return value


def join_inside(base: str, rel: str, what: str) -> str:
    """`base/rel` after checking `rel` with `relative_path`, and that the result stays in `base`."""
    path = os.path.normpath(os.path.join(base, relative_path(rel, what)))
    if not is_inside(path, base):
        raise ValueError(f"{what} {rel!r} leads outside {base}")
    return path


def inside_root(path: str, root: str | None) -> str:
    """`path`, unless it resolves outside the source root `root` (a link or `..` leading out)."""
    if root is not None and not is_inside(path, root):
        raise ValueError(f"resolves to {os.path.realpath(path)}, outside the source root {root}: refused")
    return path


def is_inside(path: str, root: str) -> bool:
    """Whether `path` lies in `root` once both are fully resolved (symbolic links followed)."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)
