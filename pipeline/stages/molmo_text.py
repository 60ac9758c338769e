"""The Molmo2 plain-text answer format for video points and tracks: encoder, parser, and the answer
of a row as Molmo2's own loaders and formatter compute it.

`<points coords="T ID X Y [ID X Y ...];T ...">LABEL</points>` and the same with `tracks`. T is
seconds written as Python's `str(round(t, 1))`; X, Y are integers on a 0..1000 scale written with
at least three digits, computed as Molmo2 does: `round(1000 * (v / size))` (not
`round(1000 * v / size)`, which differs on exact halves).
Points: IDs run from 1 across all frames (the last is the count), sorted by (x, y) inside a frame.
Tracks: IDs remapped to 1.. by first appearance (ties by (x, y)), ordered by ID inside a frame;
occluded points and frames without a visible point are left out.

`point_answer(row)` and `track_answer(row)` derive a row's `answer` from its other columns,
following, step by step, what allenai/molmo2 does with such a row (docs/MOLMO2.md cites each step):
`AcademicVideoPoint.load` + `DataFormatter.format_video_points` for point rows,
`TrackingDataset._create_message_list` + `DataFormatter.format_video_object_track_points` for
track rows (task `ground`: style `video_point_ground_start_end`, each object's first and last
frame). Every row's `answer` is made by these functions, so it is what Molmo2 trains on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

SCALE = 1000


def to_scale(v: float, size: float) -> int:
    """A coordinate in units of `size` (pixels, or 100 for 0..100 values) -> 0..1000, as Molmo2's
    `UnifiedPointFormatter._scale_point`: divide first, clamp to [0, 1], then `round(1000 * x)`."""
    x = min(1.0, max(0.0, float(v) / size))
    return round(SCALE * x)


def fmt_coord(v: int) -> str:
    return "%03d" % v


def fmt_time(t: float) -> str:
    """Seconds as Molmo2 writes them (`DataFormatter.format_output_timestamp`, one decimal)."""
    return str(round(float(t), 1))


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
    """frames: (time, [(x, y) on 0..1000]) in the order given -> `<points ...>`; IDs are assigned here."""
    text_frames = []
    next_id = 1
    for t, pts in frames:
        if not pts:
            continue
        ordered = []
        for x, y in sorted(pts):
            ordered.append((next_id, x, y))
            next_id += 1
        text_frames.append(TextFrame(t, tuple(ordered)))
    return f'<{tag} coords="{_coords(text_frames)}">{label}</{tag}>'


def encode_tracks(frames: list[tuple[float, dict[object, tuple[int, int]]]], label: str) -> str:
    """frames: (time, {object key: (x, y) on 0..1000} of visible points) -> `<tracks ...>`.

    Frames are taken in time order; an object's ID is given where it first appears, in (x, y) order
    among the newcomers of that frame (ties keep the dict's order, as Python's stable sort does)."""
    frames = sorted(frames, key=lambda f: f[0])
    remap: dict[object, int] = {}
    text_frames = []
    for t, pts in frames:
        if not pts:
            continue
        for key, _ in sorted(pts.items(), key=lambda kv: kv[1]):
            if key not in remap:
                remap[key] = len(remap) + 1
        text_frames.append(TextFrame(t, tuple(sorted(((remap[k], x, y) for k, (x, y) in pts.items()),
                                                     key=lambda p: p[0]))))
    if not text_frames:
        return ""
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


# -- a row's answer, as Molmo2 computes it --------------------------------------------------------

def point_count_answer(points_text: str, count: int) -> str:
    """Molmo2's point-then-count answer; 'There are none.' when nothing is there."""
    if count == 0:
        return "There are none."
    return f"Counting the {points_text} shows a total of {count}."


def point_answer(row: dict) -> str:
    """An AcademicVideoPoint row's answer (mode point_count, clips from the row's metadata).

    Molmo2 lower-cases `category`, makes each timestamp relative to `clip_start_time`, sorts the
    frames by time and each frame's points by (x, y), scales 0..100 values with `to_scale(v, 100)`
    and numbers the points 1.. across frames."""
    if row["count"] == 0:
        return "There are none."
    label = row["category"].lower()
    frames = []
    for ts, pts in sorted(zip(row["timestamps"], row["points"]), key=lambda p: p[0]):
        frames.append((ts - row["clip_start_time"], [(to_scale(p["x"], 100), to_scale(p["y"], 100)) for p in pts]))
    n = sum(len(p) for _, p in frames)
    return point_count_answer(encode_points(frames, label), n)


def _message_points(row: dict) -> list[tuple[int, float, dict]]:
    """`TrackingDataset._create_message_list`: (frame, time, {index in mask_id: point}) by frame."""
    index = {m: i for i, m in enumerate(row["mask_id"])}
    frames = []
    for fr in row["frame_trajectories"]:
        pts = {index[str(p["id"])]: p for p in fr["points"] if str(p["id"]) in index}
        frames.append((fr["frame"], fr["time"], pts))
    return sorted(frames, key=lambda f: f[0])


def _sample_at_fps(frames: list, sampling_fps: float) -> list:
    """`DataFormatter._sample_at_fps`: keep the frames within 1e-2 s of a 1/sampling_fps grid that
    starts at the first grid point at or after the first frame's time."""
    if not frames or sampling_fps <= 0:
        return frames
    interval = 1.0 / sampling_fps
    start, end = frames[0][1], frames[-1][1]
    grid = np.arange(np.ceil(start / interval) * interval, end + 1e-6, interval)
    if grid.size == 0:
        return []
    # every frame's distance to its nearest grid time at once (the same numbers as frame by frame)
    near = np.abs(grid[None, :] - np.array([f[1] for f in frames])[:, None]).min(axis=1) < 1e-2
    return [f for f, keep in zip(frames, near.tolist()) if keep]


def _track_coords(frames: list, width: int, height: int, label: str) -> str:
    visible = [(t, {k: (to_scale(p["point"][0], width), to_scale(p["point"][1], height))
                    for k, p in pts.items() if not p["occluded"]}) for _, t, pts in frames]
    return encode_tracks(visible, label)


def first_visible(row: dict) -> tuple[float, list[float]] | None:
    """The query of a single_point_track row: the first visible point (time, [x, y] pixels)."""
    for _, t, pts in _message_points(row):
        for p in pts.values():
            if not p["occluded"]:
                return t, p["point"]
    return None


def query_points_text(row: dict) -> str:
    """The `<points ...>` text a single_point_track question embeds (Molmo2 formats the query point
    with `format_video_points(..., mode=None)`)."""
    t, (x, y) = first_visible(row)
    return encode_points([(t, [(to_scale(x, row["width"]), to_scale(y, row["height"]))])], row["expression"])


def _start_end(frames: list) -> list:
    """`PointFormatter._filter_all_but_start_end`: per object only the first and last frame it has
    an entry on (occluded or not), frames that keep nothing dropped."""
    seen: dict[object, list[int]] = {}
    for i, (_, _, pts) in enumerate(frames):
        for k in pts:
            seen.setdefault(k, []).append(i)
    out = []
    for i, (frame, t, pts) in enumerate(frames):
        kept = {k: p for k, p in pts.items() if i in (seen[k][0], seen[k][-1])}
        if kept:
            out.append((frame, t, kept))
    return out


def track_answer(row: dict) -> str:
    """An AcademicVideoTrack row's answer (tasks `track`, `single_point_track` and `ground`).

    Assumes the video shows every time in the row (vgdata writes each row's video at
    `sampling_fps`, which makes Molmo2's video sampler return exactly those times)."""
    frames = _message_points(row)
    if not frames:
        return "There are none."
    if row["task"] == "single_point_track":
        query = first_visible(row)
        if query is None:
            return ""
        frames = _sample_at_fps(frames, row["sampling_fps"])
        frames = [f for f in frames if f[1] > query[0] and 0 in f[2]]
    elif row["task"] == "ground":  # every frame the video shows, no resampling
        frames = _start_end(frames)
    else:
        frames = _sample_at_fps(frames, row["sampling_fps"])
    if not frames:
        return "No tracks available."
    return _track_coords(frames, row["width"], row["height"], row["expression"])
