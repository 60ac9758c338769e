import re

import numpy as np
import pytest
from hypothesis import example, given, settings
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
    assert c.mask.dtype == bool and (c.mask == m[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]).all()
    # the distance transform's input: the same pixels inside a one-pixel background border
    assert c.padded.shape == (c.mask.shape[0] + 2, c.mask.shape[1] + 2)
    assert (c.padded[1:-1, 1:-1] == c.mask).all() and c.padded.sum() == m.sum()
    if not as_list:  # run lengths read beforehand (rle_counts_many) give the same crop
        again = M.decode_crop(rle, M.rle_counts(rle["counts"]))
        assert (again.x0, again.y0) == (c.x0, c.y0) and (again.mask == c.mask).all()


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


def _runs_or_error(read, s):
    try:
        runs = read(s)
    except ValueError as e:
        return "error", str(e)
    assert runs.dtype == np.int64
    return "runs", runs.tolist()


@st.composite
def counts_strings(draw):
    """COCO counts strings: those of masks (small, large, empty, with runs of several characters)
    and strings that are not (characters outside the alphabet, a truncated run, a run too long)."""
    kind = draw(st.sampled_from(["mask", "big mask", "junk", "alphabet"]))
    if kind in ("mask", "big mask"):
        side = 40 if kind == "mask" else 700
        h, w = draw(st.integers(1, side)), draw(st.integers(1, side))
        m = np.random.default_rng(draw(st.integers(0, 2**16))).random((h, w)) < draw(st.floats(0, 1))
        return M.encode(m)["counts"]
    if kind == "junk":
        return draw(st.text(st.characters(min_codepoint=40, max_codepoint=120), max_size=60))
    return draw(st.text(st.sampled_from("0P_o?@O"), min_size=1, max_size=60))  # 6-bit edge values


@settings(max_examples=300, deadline=None)
@given(strings=st.lists(counts_strings(), min_size=1, max_size=8), batch=st.sampled_from([1 << 18, 50]))
def test_counts_strings_read_together_give_each_its_own_runs_or_error(strings, batch):
    """rle_counts_many (an object's masks in one pass) gives what rle_counts gives each string:
    the same run lengths, or the same error for the string that has it, across batch cuts."""
    old = M.BATCH_CHARS
    M.BATCH_CHARS = batch
    try:
        together = M.rle_counts_many(strings)
    finally:
        M.BATCH_CHARS = old
    assert len(together) == len(strings)
    for s, got in zip(strings, together):
        mine = ("error", str(got)) if isinstance(got, ValueError) else ("runs", got.tolist())
        assert mine == _runs_or_error(M.rle_counts, s)


@settings(max_examples=300, deadline=None)
@given(s=counts_strings())
@example(s="o" * 6 + "0")  # a run of 7 characters (2**30 and more): left to numpy's int64
@example(s="P" + "o" * 12 + "?")  # 13 characters, the sign bit set: int64 wraps
@example(s="o" * 13 + "0")  # 14 characters: too long to be real
def test_short_strings_read_in_python_read_as_in_numpy(s):
    old = M.SHORT_RLE
    try:
        M.SHORT_RLE = 10**6
        python = _runs_or_error(M.rle_counts, s)
        M.SHORT_RLE = -1
        numpy = _runs_or_error(M.rle_counts, s)
    finally:
        M.SHORT_RLE = old
    assert python == numpy


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
        if "pixels" not in message and "run length" not in message and "alphabet" not in message:
            with pytest.raises(ValueError, match=re.escape(message)):  # what no runs are needed for
                M.check_rle(bad, 60, 80, check_runs=False)
    # what a converter reading every frame gets without its runs read: the same normal form
    for size in ([60, 80], [60.0, 80.0], (60, 80)):
        for counts in (ok["counts"], ok["counts"].encode()):
            got = M.check_rle({"size": size, "counts": counts}, 60, 80, check_runs=False)
            assert got == {"size": [60, 80], "counts": ok["counts"]} and all(type(v) is int for v in got["size"])


def test_areas_in_one_call_are_each_masks_area_past_pycocotools_byte_sized_lists():
    rng = np.random.default_rng(3)
    rles = [M.encode(rng.random((12, 9)) < p) for p in rng.random(600)] + [{"size": [4, 5], "counts": [3, 17]}]
    assert M.areas(rles) == [M.area(r) for r in rles] and M.areas([]) == []
    assert len(set(M.areas(rles))) > 50
