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

import math
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


def _distance_to_boundary(mask: np.ndarray, padded: np.ndarray | None = None) -> np.ndarray:
    """Each pixel's distance to the nearest background pixel, the frame edge counting as one (the
    mask inside a one-pixel border: `padded` where the decoder made it, `masks.Crop.padded`)."""
    return _padded_distances(mask, padded)[1:-1, 1:-1]


def _padded_distances(mask: np.ndarray, padded: np.ndarray | None = None) -> np.ndarray:
    if padded is None:
        padded = cv2.copyMakeBorder(_u8(mask), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return cv2.distanceTransform(padded, cv2.DIST_L2, 5)


def _u8(mask: np.ndarray) -> np.ndarray:
    """A bool mask as 0/1 bytes for OpenCV, a view (OpenCV reads rows with a stride)."""
    if mask.dtype != bool:
        return mask.astype(np.uint8)
    return mask.view(np.uint8) if mask.strides[-1] == 1 else np.ascontiguousarray(mask).view(np.uint8)


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
    """The frame's track point: near the centroid, away from the boundary, close to `previous`.

    Each candidate pixel p (the mask's pixels, on a grid of `stride` for a big mask) scores
    `s(p) = |p - c| / r - min(d(p) / r, 1) + w |p - previous| / r` (c the centroid, r the mask's
    equivalent radius, d the distance to the boundary, w the stability weight); the first lowest
    score in raster order wins. Since `min(d / r, 1)` is at most `m = min(max d / r, 1)` and
    `|p - previous| >= |c - previous| - |p - c|`, `s(p) >= ((1 - w) |p - c| + w |c - previous|) / r
    - m`: once a candidate near the centroid scores `s`, no candidate further than
    `(r (s + m) - w |c - previous|) / (1 - w)` from the centroid can score lower. Candidates are
    scored in that square only, each exactly as over the whole grid, so the same point wins at a
    fraction of the work."""
    padded = mask.padded if isinstance(mask, Crop) else None
    mask, ox, oy = crop(mask)
    u8 = _u8(mask)  # pixels per column and per row, summed by OpenCV (a numpy bool sum is 2x slower)
    col_counts = cv2.reduce(u8, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
    row_counts = cv2.reduce(u8, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel()
    n = int(col_counts.sum())
    cy = float(row_counts @ np.arange(mask.shape[0])) / n + 0.5 + oy
    cx = float(col_counts @ np.arange(mask.shape[1])) / n + 0.5 + ox
    radius = max(1.0, float(np.sqrt(n / np.pi)))
    dist_padded = _padded_distances(mask, padded)
    dist_all = dist_padded[1:-1, 1:-1]
    # A big mask's candidates are its pixels on a grid of `stride` (at most ~MAX_CANDIDATES): the
    # point moves by less than a stride, which is tiny next to such a mask's radius.
    stride = max(1, int(np.sqrt(n / MAX_CANDIDATES)))
    scorer = _Scorer(mask, dist_all, stride, ox, oy, cx, cy, radius, previous)
    best = scorer.seed()  # a first score to beat: the candidate at the centroid, or those next to it
    if best is not None:
        w = TRACK_STABILITY_WEIGHT if previous is not None else 0.0
        apart = float(np.hypot(cx - previous[0], cy - previous[1])) if previous is not None else 0.0
        # the border's 0 is no maximum, and OpenCV finds it in a contiguous buffer 2x faster than numpy
        deepest = min(cv2.minMaxLoc(dist_padded)[1] / radius + 1e-6, 1.0)  # + float32 rounding of d / r
        # + 2 pixels: far above any rounding in the scores (they are exact only to ~1e-15)
        best = scorer.best(max(0.0, (radius * (best[0] + deepest) - w * apart) / (1.0 - w)) + 2.0)
    if best is None:  # nothing on the grid near the centroid (a thin or hollow mask): every candidate
        best = scorer.best(None)
    if best is None:  # a thin diagonal can miss the grid: then every pixel is a candidate
        best = _Scorer(mask, dist_all, 1, ox, oy, cx, cy, radius, previous).best(None)
    return Point(best[1], best[2], "track")


class _Scorer:
    """The track-point scores of a mask's candidates on a grid, within a square around the centroid."""

    def __init__(self, mask, dist_all, stride, ox, oy, cx, cy, radius, previous):
        self.mask, self.dist_all, self.stride = mask, dist_all, stride
        self.ox, self.oy, self.cx, self.cy, self.radius, self.previous = ox, oy, cx, cy, radius, previous

    def seed(self) -> tuple[float, float, float] | None:
        """A candidate's score to start the bound from: the grid pixel nearest the centroid when the
        mask holds it (scored in scalar arithmetic: the bound's 2-pixel margin covers its rounding),
        else the best of the candidates within two grid steps (None when there are none)."""
        s = self.stride
        k = int(round((self.cy - 0.5 - self.oy) / s))
        j = int(round((self.cx - 0.5 - self.ox) / s))
        h, w = self.mask.shape
        if not (0 <= k * s < h and 0 <= j * s < w and self.mask[k * s, j * s]):
            return self.best(2 * s)
        px, py, r = j * s + 0.5 + self.ox, k * s + 0.5 + self.oy, self.radius
        score = math.hypot(px - self.cx, py - self.cy) / r
        score -= TRACK_BOUNDARY_WEIGHT * min(float(self.dist_all[k * s, j * s]) / r, 1.0)
        if self.previous is not None:
            score += TRACK_STABILITY_WEIGHT * math.hypot(px - self.previous[0], py - self.previous[1]) / r
        return score, px, py

    def best(self, half: float | None) -> tuple[float, float, float] | None:
        """(score, x, y) of the first lowest-scoring candidate within `half` pixels of the centroid
        (all of them with None), or None when the grid has no mask pixel there."""
        h, w = self.mask.shape
        s = self.stride
        k0, k1, j0, j1 = 0, (h - 1) // s, 0, (w - 1) // s
        if half is not None:  # grid rows/columns whose pixel centres lie within `half` of the centroid
            ccy, ccx = self.cy - 0.5 - self.oy, self.cx - 0.5 - self.ox
            k0, k1 = max(k0, math.ceil((ccy - half) / s)), min(k1, math.floor((ccy + half) / s))
            j0, j1 = max(j0, math.ceil((ccx - half) / s)), min(j1, math.floor((ccx + half) / s))
            if k1 < k0 or j1 < j0:
                return None
        window = (slice(k0 * s, k1 * s + 1, s), slice(j0 * s, j1 * s + 1, s))
        inside = self.mask[window]
        ys, xs = inside.nonzero()  # raster order, as `dist` below
        if ys.size == 0:
            return None
        dist = self.dist_all[window][inside]
        # pixel centres, exact in float64 (half-integers), as the grid's (ys + k0) * s + 0.5 + oy
        px, py = xs * s + (j0 * s + 0.5 + self.ox), ys * s + (k0 * s + 0.5 + self.oy)
        score = np.hypot(px - self.cx, py - self.cy) / self.radius
        score -= TRACK_BOUNDARY_WEIGHT * np.minimum(dist / self.radius, 1.0)
        if self.previous is not None:
            score += TRACK_STABILITY_WEIGHT * np.hypot(px - self.previous[0], py - self.previous[1]) / self.radius
        i = int(score.argmin())
        return float(score[i]), float(px[i]), float(py[i])


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
