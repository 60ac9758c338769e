import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stages import masks as M
from pipeline.stages import points as P


@st.composite
def masks(draw):
    """Random masks: unions of rectangles, rings (non-convex, centroid outside) and thin lines."""
    h, w = draw(st.integers(8, 60)), draw(st.integers(8, 60))
    m = np.zeros((h, w), bool)
    kind = draw(st.sampled_from(["rects", "ring", "line", "pixel"]))
    if kind == "rects":
        for _ in range(draw(st.integers(1, 3))):
            y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
            m[y0 : y0 + draw(st.integers(1, h)), x0 : x0 + draw(st.integers(1, w))] = True
    elif kind == "ring":
        yy, xx = np.mgrid[:h, :w]
        r = min(h, w) / 2
        d = np.hypot(yy + 0.5 - h / 2, xx + 0.5 - w / 2)
        m = (d <= r) & (d >= r - draw(st.floats(1.0, 2.0)))
    elif kind == "line":
        rr = draw(st.integers(0, h - 1))
        m[rr, :] = True
    else:
        m[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
    if not m.any():
        m[0, 0] = True
    return m


@settings(max_examples=300, deadline=None)
@given(m=masks(), seed=st.integers(0, 2**32 - 1))
def test_gaussian_point_always_inside(m, seed):
    p = P.gaussian_point(m, np.random.default_rng(seed))
    assert P.inside(m, p.x, p.y)


@settings(max_examples=100, deadline=None)
@given(m=masks())
def test_track_point_and_interior_point_always_inside(m):
    assert P.inside(m, *(lambda p: (p.x, p.y))(P.track_point(m, None)))
    ip = P.interior_point(m)
    assert P.inside(m, ip.x, ip.y)


def test_ring_falls_back_to_interior():
    yy, xx = np.mgrid[:41, :41]
    d = np.hypot(yy - 20, xx - 20)
    ring = (d <= 20) & (d >= 18)
    p = P.gaussian_point(ring, np.random.default_rng(0))
    assert p.method == "interior" and P.inside(ring, p.x, p.y)


def test_gaussian_is_seeded_and_near_the_centre():
    m = np.zeros((100, 100), bool)
    m[20:80, 30:70] = True
    a = [P.gaussian_point(m, np.random.default_rng(s)) for s in range(200)]
    b = [P.gaussian_point(m, np.random.default_rng(s)) for s in range(200)]
    assert a == b
    xs, ys = np.array([p.x for p in a]), np.array([p.y for p in a])
    assert abs(xs.mean() - 50) < 1 and abs(ys.mean() - 50) < 1.5
    assert 2 < xs.std() < 6  # sigma = 0.1 * width


def test_track_points_stable_and_centred():
    frames = []
    for t in range(10):
        m = np.zeros((80, 120), bool)
        m[20:60, 10 + 3 * t : 50 + 3 * t] = True  # a square moving right 3 px per frame
        frames.append(m)
    frames[4] = None  # occluded
    pts = P.track_points(frames)
    assert pts[4] is None
    for t, p in enumerate(pts):
        if p is None:
            continue
        assert P.inside(frames[t], p.x, p.y)
        assert abs(p.x - (30 + 3 * t)) <= 1.5 and abs(p.y - 40) <= 1.5
    steps = [abs(pts[t + 1].x - pts[t].x) for t in range(9) if pts[t] and pts[t + 1]]
    assert max(steps) <= 4  # follows the motion (3 px/frame) without jumping


def test_track_point_prefers_previous_on_a_plateau():
    m = np.zeros((40, 200), bool)
    m[10:30, :] = True  # a long bar: many equally central points along x near the middle
    left = P.track_point(m, (90.0, 20.0))
    right = P.track_point(m, (110.0, 20.0))
    assert left.x < right.x


@settings(max_examples=100, deadline=None)
@given(m=masks(), seed=st.integers(0, 2**32 - 1))
def test_a_decoded_crop_gives_the_full_masks_points(m, seed):
    """Rows pass masks decoded straight to their box (`masks.decode_crop`): same points as the frame."""
    c = M.decode_crop(M.encode(m))
    assert P.track_point(c, (3.0, 4.0)) == P.track_point(m, (3.0, 4.0))
    assert P.gaussian_point(c, np.random.default_rng(seed)) == P.gaussian_point(m, np.random.default_rng(seed))
    assert P.interior_point(c) == P.interior_point(m)


def _every_candidate(m: np.ndarray, previous) -> tuple[float, float]:
    """The track point by its definition: every candidate of the grid scored (no bound used), each
    number computed as `track_point` computes it (on the mask's crop)."""
    m, ox, oy = P.crop(m)
    n = int(m.sum())
    cy = float(m.sum(axis=1) @ np.arange(m.shape[0])) / n + 0.5 + oy
    cx = float(m.sum(axis=0) @ np.arange(m.shape[1])) / n + 0.5 + ox
    radius = max(1.0, float(np.sqrt(n / np.pi)))
    dist_all = P._distance_to_boundary(m)
    stride = max(1, int(np.sqrt(n / P.MAX_CANDIDATES)))
    ys, xs = np.nonzero(m[::stride, ::stride])
    ys, xs = ys * stride, xs * stride
    if ys.size == 0:
        ys, xs = np.nonzero(m)
    px, py = xs + 0.5 + ox, ys + 0.5 + oy
    score = np.hypot(px - cx, py - cy) / radius
    score -= np.minimum(dist_all[ys, xs] / radius, 1.0)
    if previous is not None:
        score += P.TRACK_STABILITY_WEIGHT * np.hypot(px - previous[0], py - previous[1]) / radius
    i = int(np.argmin(score))
    return float(px[i]), float(py[i])


@st.composite
def big_masks(draw):
    """Masks up to 200 x 200 (a grid stride above 1 from ~16,000 pixels): blobs, rings, bars."""
    h, w = draw(st.integers(1, 200)), draw(st.integers(1, 200))
    yy, xx = np.mgrid[:h, :w]
    m = np.zeros((h, w), bool)
    for _ in range(draw(st.integers(1, 4))):
        cy, cx = draw(st.floats(0, h)), draw(st.floats(0, w))
        ry, rx = draw(st.floats(0.5, h)), draw(st.floats(0.5, w))
        blob = ((yy + 0.5 - cy) / ry) ** 2 + ((xx + 0.5 - cx) / rx) ** 2 <= 1
        m = m ^ blob if draw(st.booleans()) else m | blob
    if not m.any():
        m[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
    return m


@settings(max_examples=300, deadline=None)
@given(m=st.one_of(masks(), big_masks()), previous=st.one_of(st.none(), st.tuples(st.floats(-50, 250), st.floats(-50, 250))))
def test_track_point_scores_only_where_the_winner_can_be_and_finds_it(m, previous):
    """`track_point` scores the candidates inside a bound around the centroid only; it must pick
    exactly the point that scoring every candidate picks (same pixel, same tie-break)."""
    p = P.track_point(m, previous)
    assert (p.x, p.y) == _every_candidate(m, previous)
