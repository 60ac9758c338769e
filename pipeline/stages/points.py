"""Points inside masks.

Coordinates are continuous pixels: pixel (row r, column c) covers [c, c+1) x [r, r+1), so a point
(x, y) is inside a mask exactly when mask[floor(y), floor(x)] is set. Chosen pixels are returned at
their centre (c + 0.5, r + 0.5).

- `gaussian_point`: AcademicVideoPoint's one point per object: drawn from a Gaussian around the
  mask centroid, redrawn until it lands inside the mask; thin or non-convex masks whose centroid
  region misses the mask fall back to the most interior pixel.
- `track_points`: AcademicVideoTrack's point per frame: the mask pixel that minimises a score mixing
  distance to the centroid, closeness to the boundary and the jump from the previous frame's point,
  so points stay inside, near the centre and do not flicker.

Each takes a full-frame bool mask or a `masks.Crop` (a mask decoded straight to its bounding box,
which is what the row builders pass: the work is then proportional to the object, not the frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.stages.masks import Crop

# Standard deviation of the Gaussian as a fraction of the mask's bounding-box size per axis.
GAUSSIAN_SIGMA_FRACTION = 0.1
GAUSSIAN_MAX_TRIES = 100
# Track point score weights (distances in units of the mask's equivalent radius).
TRACK_BOUNDARY_WEIGHT = 1.0
TRACK_STABILITY_WEIGHT = 0.5
MAX_CANDIDATES = 4096  # pixels scored per track point (a stride over bigger masks)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    method: str  # "gaussian", "interior" or "track"


def inside(mask: np.ndarray, x: float, y: float) -> bool:
    h, w = mask.shape
    c, r = int(np.floor(x)), int(np.floor(y))
    return 0 <= r < h and 0 <= c < w and bool(mask[r, c])


def _distance_to_boundary(mask: np.ndarray) -> np.ndarray:
    # Pad so that the frame edge counts as boundary too.
    padded = np.pad(mask.astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]


def crop(mask: np.ndarray | Crop) -> tuple[np.ndarray, int, int]:
    """The mask cut to its bounding box, and the box's (x0, y0): every measure here is taken on the
    crop (a distance transform over a 1080p frame for a 40-pixel object is most of the cost).
    Distances to the boundary are unchanged: outside the box the mask is empty, and the crop is
    padded like the frame. A `Crop` is already cut. Raises ValueError on an empty mask."""
    if isinstance(mask, Crop):
        return mask.mask, mask.x0, mask.y0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise ValueError("empty mask has no point")
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return mask[y0:y1, x0:x1], int(x0), int(y0)


def interior_point(mask: np.ndarray | Crop) -> Point:
    """The pixel furthest from the boundary (ties: nearest the centroid, then first in raster order)."""
    if isinstance(mask, np.ndarray) and not mask.any():
        raise ValueError("empty mask has no interior point")
    mask, ox, oy = crop(mask)
    p = _interior_point(mask)
    return Point(p.x + ox, p.y + oy, p.method)


def _interior_point(mask: np.ndarray) -> Point:
    dist = _distance_to_boundary(mask)
    best = dist.max()
    rows, cols = np.nonzero(dist >= best - 1e-6)
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    i = int(np.argmin((rows - cy) ** 2 + (cols - cx) ** 2))
    return Point(cols[i] + 0.5, rows[i] + 0.5, "interior")


def gaussian_point(mask: np.ndarray | Crop, rng: np.random.Generator) -> Point:
    """One point from a Gaussian around the mask centre, always inside the mask."""
    mask, ox, oy = crop(mask)
    ys, xs = np.nonzero(mask)
    cx, cy = xs.mean() + 0.5 + ox, ys.mean() + 0.5 + oy
    sx = max(0.5, GAUSSIAN_SIGMA_FRACTION * (xs.max() - xs.min() + 1))
    sy = max(0.5, GAUSSIAN_SIGMA_FRACTION * (ys.max() - ys.min() + 1))
    draws = rng.normal(size=(GAUSSIAN_MAX_TRIES, 2))
    for dx, dy in draws:
        x, y = cx + dx * sx, cy + dy * sy
        if inside(mask, x - ox, y - oy):
            return Point(float(x), float(y), "gaussian")
    return interior_point(Crop(mask, ox, oy))


def track_point(mask: np.ndarray | Crop, previous: tuple[float, float] | None) -> Point:
    """The frame's track point: near the centroid, away from the boundary, close to `previous`."""
    mask, ox, oy = crop(mask)
    row_counts, col_counts = mask.sum(axis=1), mask.sum(axis=0)
    n = int(row_counts.sum())
    cy = float(row_counts @ np.arange(mask.shape[0])) / n + 0.5 + oy
    cx = float(col_counts @ np.arange(mask.shape[1])) / n + 0.5 + ox
    radius = max(1.0, float(np.sqrt(n / np.pi)))
    dist_all = _distance_to_boundary(mask)
    # A big mask's candidates are its pixels on a grid of `stride` (at most ~MAX_CANDIDATES): the
    # point moves by less than a stride, which is tiny next to such a mask's radius.
    stride = max(1, int(np.sqrt(n / MAX_CANDIDATES)))
    ys, xs = np.nonzero(mask[::stride, ::stride])
    ys, xs = ys * stride, xs * stride
    if ys.size == 0:  # a thin diagonal can miss the grid: then every pixel is a candidate
        ys, xs = np.nonzero(mask)
    px, py = xs + 0.5 + ox, ys + 0.5 + oy
    dist = dist_all[ys, xs]
    score = np.hypot(px - cx, py - cy) / radius
    score -= TRACK_BOUNDARY_WEIGHT * np.minimum(dist / radius, 1.0)
    if previous is not None:
        score += TRACK_STABILITY_WEIGHT * np.hypot(px - previous[0], py - previous[1]) / radius
    i = int(np.argmin(score))
    return Point(float(px[i]), float(py[i]), "track")


def track_points(masks: list[np.ndarray | Crop | None]) -> list[Point | None]:
    """Track points for consecutive sampled frames (None where the object is not visible)."""
    out: list[Point | None] = []
    previous = None
    for mask in masks:
        if mask is None or isinstance(mask, np.ndarray) and not mask.any():
            out.append(None)
            continue
        p = track_point(mask, previous)
        previous = (p.x, p.y)
        out.append(p)
    return out
