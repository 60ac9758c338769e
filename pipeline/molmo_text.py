"""The Molmo2 plain-text answer format for video points and tracks: encoder and parser.

`<points coords="T ID X Y [ID X Y ...];T ...">LABEL</points>` and the same with `tracks`. T is
seconds with one decimal; X, Y are integers on a 0..1000 scale written with at least three digits.
Points: IDs run from 1 across all frames (the last is the count), sorted by (x, y) inside a frame.
Tracks: IDs remapped to 1.. by first appearance (ties by (x, y)), ordered by ID inside a frame;
frames without a visible point are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCALE = 1000


def to_scale(v_px: float, size: int) -> int:
    """Pixels -> 0..1000, rounded and clamped."""
    return int(min(SCALE, max(0, round(SCALE * v_px / size))))


def fmt_coord(v: int) -> str:
    return f"{v:03d}"


def fmt_time(t: float) -> str:
    return f"{t:.1f}"


@dataclass(frozen=True)
class TextFrame:
    time: float
    points: tuple[tuple[int, int, int], ...]  # (id, x, y) on the 0..1000 scale


def _coords(frames: list[TextFrame]) -> str:
    return ";".join(
        " ".join([fmt_time(f.time)] + [f"{i} {fmt_coord(x)} {fmt_coord(y)}" for i, x, y in f.points])
        for f in frames
    )


def encode_points(frames: list[tuple[float, list[tuple[int, int]]]], label: str, tag: str = "points") -> str:
    """frames: (time, [(x, y) on 0..1000]) -> `<points ...>`; IDs are assigned here."""
    text_frames = []
    next_id = 1
    for t, pts in sorted(frames, key=lambda f: f[0]):
        if not pts:
            continue
        ordered = []
        for x, y in sorted(pts):
            ordered.append((next_id, x, y))
            next_id += 1
        text_frames.append(TextFrame(t, tuple(ordered)))
    return f'<{tag} coords="{_coords(text_frames)}">{label}</{tag}>'


def encode_tracks(frames: list[tuple[float, dict[object, tuple[int, int]]]], label: str) -> str:
    """frames: (time, {object key: (x, y) on 0..1000} of visible points) -> `<tracks ...>`."""
    frames = sorted(frames, key=lambda f: f[0])
    remap: dict[object, int] = {}
    for _, pts in frames:
        for key, xy in sorted(pts.items(), key=lambda kv: kv[1]):
            if key not in remap:
                remap[key] = len(remap) + 1
    text_frames = [
        TextFrame(t, tuple(sorted((remap[k], x, y) for k, (x, y) in pts.items())))
        for t, pts in frames
        if pts
    ]
    return f'<tracks coords="{_coords(text_frames)}">{label}</tracks>'


_TAG = re.compile(r'<(points|tracks) coords="([^"]*)">(.*?)</\1>', re.DOTALL)


@dataclass(frozen=True)
class Parsed:
    tag: str
    label: str
    frames: tuple[TextFrame, ...]

    @property
    def ids(self) -> list[int]:
        return sorted({i for f in self.frames for i, _, _ in f.points})


def parse(text: str) -> list[Parsed]:
    """Every `<points>`/`<tracks>` element in `text`. Raises ValueError on a malformed one."""
    out = []
    for m in _TAG.finditer(text):
        tag, coords, label = m.groups()
        frames = []
        for chunk in filter(None, coords.split(";")):
            parts = chunk.split()
            if len(parts) < 4 or (len(parts) - 1) % 3:
                raise ValueError(f"malformed frame {chunk!r} in {tag}")
            t = float(parts[0])
            pts = tuple(
                (int(parts[i]), int(parts[i + 1]), int(parts[i + 2])) for i in range(1, len(parts), 3)
            )
            for _, x, y in pts:
                if not (0 <= x <= SCALE and 0 <= y <= SCALE):
                    raise ValueError(f"coordinate out of 0..{SCALE} in {chunk!r}")
            frames.append(TextFrame(t, pts))
        out.append(Parsed(tag, label, tuple(frames)))
    return out
