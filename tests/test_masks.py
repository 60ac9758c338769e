import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from pipeline.stages import masks as M
from tests.mask_layouts import uncompressed_counts


def disc(h=60, w=80, cx=40, cy=30, r=20):
    yy, xx = np.mgrid[:h, :w]
    return (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= r * r


def test_rle_round_trip_and_uncompressed_counts():
    m = disc()
    rle = M.encode(m)
    assert isinstance(rle["counts"], str) and rle["size"] == [60, 80]
    assert (M.decode(rle) == m).all()
    # uncompressed (list) counts, as in YouTube-VIS style JSON
    counts = uncompressed_counts(m)
    assert (M.decode({"size": [60, 80], "counts": counts}) == m).all()
    assert M.area(rle) == int(m.sum())


@st.composite
def sparse_masks(draw):
    """Masks of a few rectangles and stray pixels: objects at the frame's edges, several parts,
    and empty masks."""
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    m = np.zeros((h, w), bool)
    for _ in range(draw(st.integers(0, 3))):
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        m[y0 : y0 + draw(st.integers(1, h)), x0 : x0 + draw(st.integers(1, w))] = True
    for _ in range(draw(st.integers(0, 3))):
        m[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
    return m


@settings(max_examples=300, deadline=None)
@given(m=sparse_masks(), as_list=st.booleans())
def test_decode_crop_is_the_mask_cut_to_its_box(m, as_list):
    rle = M.encode(m)
    if as_list:
        rle = {"size": rle["size"], "counts": uncompressed_counts(m)}
    c = M.decode_crop(rle)
    if not m.any():
        assert c is None
        return
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    assert (c.y0, c.x0) == (rows[0], cols[0])
    assert (c.mask == m[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]).all()


def test_decode_crop_refuses_runs_that_do_not_cover_the_frame():
    with pytest.raises(ValueError, match="cover 5 pixels"):
        M.decode_crop({"size": [3, 3], "counts": [2, 3]})


def test_mask_box_is_tight_and_exclusive():
    m = np.zeros((10, 10), bool)
    m[2:5, 3:8] = True
    assert M.mask_box(M.encode(m)) == (3, 2, 8, 5)
    assert M.mask_box(M.encode(np.zeros((10, 10), bool))) is None


def test_chosen_iou_is_bbox_iou_not_region_iou():
    """A perfect disc mask agrees fully with its box; its box-region IoU is only ~pi/4."""
    m = disc()
    rle = M.encode(m)
    box = M.mask_box(rle)
    assert M.box_mask_agreement(rle, box) == pytest.approx(1.0)
    region = M.mask_iou(rle, M.box_rle(box, 60, 80))
    assert region == pytest.approx(np.pi / 4, abs=0.03)
    # a misplaced mask scores low
    shifted = M.encode(disc(cx=65, cy=30, r=10))
    assert M.box_mask_agreement(shifted, box) < 0.3
    assert M.box_mask_agreement(None, box) == 0.0


def test_outside_fraction():
    m = np.zeros((20, 20), bool)
    m[0:10, 0:10] = True
    assert M.outside_fraction(M.encode(m), (0, 0, 5, 10)) == pytest.approx(0.5)
    assert M.outside_fraction(M.encode(m), (0, 0, 20, 20)) == 0.0


def test_box_iou_and_clip():
    assert M.box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert M.clip_box((-5, -5, 10, 10), 8, 8) == (0, 0, 8, 8)
    assert M.clip_box((20, 20, 30, 30), 8, 8) is None


def test_polygons():
    rle = M.polygons_to_rle([[0, 0, 10, 0, 10, 10, 0, 10]], 20, 20)
    assert 90 <= M.area(rle) <= 121
    assert mask_utils.area({"size": rle["size"], "counts": rle["counts"].encode()}) == M.area(rle)


@settings(max_examples=200, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), density=st.floats(0, 1), seed=st.integers(0, 2**16))
def test_run_lengths_read_without_decoding_match_pycocotools(h, w, density, seed):
    m = np.random.default_rng(seed).random((h, w)) < density
    rle = M.encode(m)
    runs = M.rle_counts(rle["counts"])
    flat = m.flatten(order="F")
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    expected = list(np.diff(bounds)) if not flat[0] else [0] + list(np.diff(bounds))
    assert list(runs) == expected
    assert (M.decode(M.check_rle(rle, h, w)) == m).all()


def test_check_rle_refuses_what_pycocotools_would_misread():
    ok = M.encode(disc())
    assert M.check_rle(ok, 60, 80)["counts"] == ok["counts"]
    for bad, message in [({"size": [60, 80], "counts": "0"}, "cover 0 pixels, not 60 x 80"),  # uninitialised rest
                         ({"size": [60, 80], "counts": [100, 50]}, "cover 150 pixels"),
                         ({"size": [60, 80], "counts": [10, -5, 4795]}, "negative run length"),
                         ({"size": [60, 80], "counts": "\x7f"}, "outside the COCO alphabet"),
                         ({"size": [60, 80], "counts": "k"}, "ends in the middle of a run length"),
                         ({"size": [40, 80], "counts": ok["counts"]}, "is not the frame's [60, 80]"),
                         ({"size": [60000, 60000], "counts": "0"}, "mask height is 60000, above the maximum"),
                         ({"size": [60, 80]}, "not a COCO RLE")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            M.check_rle(bad, 60, 80)


def test_areas_in_one_call_are_each_masks_area_past_pycocotools_byte_sized_lists():
    rng = np.random.default_rng(3)
    rles = [M.encode(rng.random((12, 9)) < p) for p in rng.random(600)] + [{"size": [4, 5], "counts": [3, 17]}]
    assert M.areas(rles) == [M.area(r) for r in rles] and M.areas([]) == []
    assert len(set(M.areas(rles))) > 50
