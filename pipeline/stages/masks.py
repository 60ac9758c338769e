"""Masks and boxes: COCO RLE helpers and the IoU measures the track filter uses.

Masks travel as COCO RLE everywhere (a 1080p mask is a few hundred bytes instead of 2 MB), and
are decoded one at a time only where pixels are needed (point sampling).

RLEs from source files are checked with `check_rle` before anything decodes them: pycocotools
allocates H x W bytes up front (a 60000x60000 mask is 3.6 GB) and, when the run lengths cover fewer
than H x W pixels, leaves the rest of the mask as uninitialised memory, so two builds of the same
file would give different masks.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from pipeline import checks
from pipeline.stages.records import Box


SHORT_RLE = 128  # characters: a counts string this short is read in Python (see `rle_counts`)


def rle_counts(counts: str | bytes) -> np.ndarray:
    """The run lengths of a compressed COCO RLE string, without decoding the mask.

    The string format (COCO's mask API): each run length is written in 6-bit characters offset by
    48, 5 data bits each, low bits first, 0x20 marking that more characters follow and 0x10 in the
    last one the sign; from the fourth run on, a run is stored as its difference to the run two
    places before it. ValueError on characters outside the alphabet or a truncated last run.

    A sampled mask's string is ~150 characters, so the cost is the number of numpy calls, not their
    work: each step is one call, made as an array method where numpy's function form adds a layer.
    A string of at most `SHORT_RLE` characters (an empty mask's is 3 or 4) is read by a Python loop,
    which is faster than those calls."""
    data = counts.encode("ascii") if isinstance(counts, str) else bytes(counts)
    if not data:
        return np.zeros(0, np.int64)
    if min(data) < 48 or max(data) > 111:
        raise ValueError("RLE counts string has characters outside the COCO alphabet")
    if data[-1] - 48 >= 0x20:
        raise ValueError("RLE counts string ends in the middle of a run length")
    if len(data) <= SHORT_RLE:
        runs = _short_rle_counts(data)
        if runs is not None:
            return runs
    numbers = _run_numbers(np.frombuffer(data, dtype=np.uint8) - np.uint8(48))
    if numbers is None:
        raise ValueError("RLE counts string has a run length too long to be real")
    runs = numbers[0]
    odd, even = runs[1::2], runs[2::2]  # run m (m > 2) is stored relative to run m - 2
    odd[:] = odd.cumsum()
    even[:] = even.cumsum()
    return runs


def _run_numbers(c: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The number each run length's characters spell (before the delta coding), and the index of
    each run's last character, from characters less 48 (alphabet checked, the last one a run's
    last); None when a run takes more than 13 characters (too long to be real)."""
    ends = (c < 0x20).nonzero()[0]  # the last character of each run length (0x20 clear)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    chars = ends - starts + 1  # characters per run length
    if chars.max() > 13:
        return None
    shift = np.arange(c.size, dtype=np.int64) - starts.repeat(chars)  # each character's place in its run
    shift *= 5
    # 5-bit digits, the last of each run read as signed (its 0x10 bit the sign: minus 1 << 5 x chars)
    digits = (c & 0x1F).astype(np.int64)
    digits -= ((c & 0x30) == 0x10).astype(np.int64) << 5
    total = (digits << shift).cumsum()  # each run's number: the difference of two running sums
    numbers = total[ends]
    numbers[1:] -= total[ends[:-1]]
    return numbers, ends


def rle_counts_many(strings: list[str | bytes]) -> list[np.ndarray | ValueError]:
    """`rle_counts` of each string, or the ValueError it raises, read together: an object's sampled
    masks (tens to hundreds of strings) cost one pass of ~30 numpy calls instead of ~15 calls each.

    The strings are joined, up to `BATCH_CHARS` characters at a time; each ends with a run's last
    character (checked), so no run straddles two of them, and the delta coding (run m relative to run m - 2) restarts with each string: the two
    chains are summed over the whole array and each string's sum before it taken off. The numbers
    are those `rle_counts` gives (int64, as it wraps); any string it would reject sends its batch
    through `rle_counts` one at a time, so that each error is its own string's."""
    datas = [s.encode("ascii") if isinstance(s, str) else bytes(s) for s in strings]
    out: list[np.ndarray | ValueError] = []
    i = 0
    while i < len(datas):  # in batches of at most BATCH_CHARS characters (or one longer string)
        j, size = i + 1, len(datas[i])
        while j < len(datas) and size + len(datas[j]) <= BATCH_CHARS:
            size += len(datas[j])
            j += 1
        out += _rle_counts_batch(datas[i:j])
        i = j
    return out


BATCH_CHARS = 1 << 18  # the most characters `rle_counts_many` reads at once (~10 MB of int64 scratch)


def _rle_counts_batch(datas: list[bytes]) -> list[np.ndarray | ValueError]:
    lengths = np.array([len(d) for d in datas], dtype=np.int64)
    stops = lengths.cumsum()  # each string's end in the joined characters
    c = np.frombuffer(b"".join(datas), dtype=np.uint8) - np.uint8(48)
    # every string ends with a run's last character (0x20 clear), so no run straddles two
    if lengths.min() == 0 or c.max() > 63 or (c[stops - 1] >= 0x20).any():
        return [_counts_or_error(d) for d in datas]
    numbers = _run_numbers(c)
    if numbers is None:
        return [_counts_or_error(d) for d in datas]
    values, ends = numbers
    bounds = np.zeros(lengths.size + 1, dtype=np.int64)
    bounds[1:] = ends.searchsorted(stops - 1) + 1  # each string's runs: values[bounds[i]:bounds[i + 1]]
    first = bounds[:-1]
    # Runs m >= 1 of a string sum along their chain (every second run): both chains at once as
    # cumulative sums over the global even and odd places (a string's chains are whole global
    # ones, as its runs are consecutive), less each chain's sum up to the string's start. Run 0 of
    # each string is out of its chain (it is absolute).
    chained = values.copy()
    chained[first] = 0
    sums = np.empty_like(chained)
    sums[0::2] = chained[0::2].cumsum()
    sums[1::2] = chained[1::2].cumsum()
    n = values.size
    place = np.arange(n, dtype=np.int64)
    start = first.repeat(np.diff(bounds))  # the first run of each run's string
    before = start - 1 - ((place - start + 1) & 1)  # the chain's last place before the string
    runs = sums - np.where(before >= 0, sums[np.maximum(before, 0)], 0)
    runs[first] = values[first]
    cut = bounds.tolist()
    return [runs[a:b] for a, b in zip(cut[:-1], cut[1:])]


def _counts_or_error(data: bytes) -> np.ndarray | ValueError:
    try:
        return rle_counts(data)
    except ValueError as e:
        return e


def _short_rle_counts(data: bytes) -> np.ndarray | None:
    """`rle_counts` of a checked short string, one character at a time; None when a run length takes
    more than 6 characters (values beyond 2**30, left to the numpy path's int64 arithmetic)."""
    runs: list[int] = []
    value = shift = 0
    for byte in data:
        c = byte - 48
        value |= (c & 0x1F) << shift
        shift += 5
        if c & 0x20:  # more characters follow
            if shift >= 30:
                return None
            continue
        if c & 0x10:
            value -= 1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
        value = shift = 0
    return np.array(runs, dtype=np.int64)


def check_rle(rle, height: int, width: int, check_runs: bool = True) -> dict:
    """A source RLE checked against the frame size and normalised (str counts); ValueError if not.

    The size must be [height, width] within `checks.MAX_SIDE`, and the run lengths must be
    non-negative and add up to exactly height x width. With `check_runs=False` a compressed string's run
    lengths are left for `decode` to check: a converter that reads every annotated frame checks
    the cheap things, and only the sampled frames that are decoded pay for parsing the runs."""
    if not check_runs and type(rle) is dict:  # the common case, checked in a few comparisons
        size, counts = rle.get("size"), rle.get("counts")
        if (type(size) is list and len(size) == 2 and type(size[0]) is int and type(size[1]) is int
                and type(counts) is str and size[0] == height and size[1] == width
                and 1 <= size[0] <= checks.MAX_SIDE and 1 <= size[1] <= checks.MAX_SIDE):
            return {"size": [size[0], size[1]], "counts": counts}
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError(f"mask is not a COCO RLE with 'size' and 'counts' ({type(rle).__name__})")
    size = rle["size"]
    if not isinstance(size, (list, tuple)) or len(size) != 2:
        raise ValueError(f"mask size {size!r} is not [height, width]")
    h = checks.whole(size[0], "mask height", 1, checks.MAX_SIDE)
    w = checks.whole(size[1], "mask width", 1, checks.MAX_SIDE)
    if (h, w) != (int(height), int(width)):
        raise ValueError(f"mask size [{h}, {w}] is not the frame's [{height}, {width}]")
    counts = rle["counts"]
    if isinstance(counts, list):
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in counts):
            raise ValueError("mask counts list holds values that are not whole numbers")
        runs = np.asarray(counts, dtype=np.int64)
    elif isinstance(counts, (str, bytes)):
        if not check_runs:
            return {"size": [h, w], "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}
        runs = rle_counts(counts)
    else:
        raise ValueError(f"mask counts are {type(counts).__name__}, not a string or a list")
    _check_run_lengths(runs, h, w)
    return normalise({"size": [h, w], "counts": counts})


def _check_run_lengths(runs: np.ndarray, h: int, w: int, total: int | None = None) -> None:
    """ValueError unless `runs` are non-negative and cover h x w pixels (`total`: their sum, if known)."""
    if runs.size and runs.min() < 0:
        raise ValueError("mask counts hold a negative run length")
    if total is None:
        total = int(runs.sum()) if runs.size else 0
    if total != h * w:
        raise ValueError(f"mask run lengths cover {total} pixels, not {h} x {w} = {h * w}")


def encode(mask: np.ndarray) -> dict:
    """Binary HxW array -> COCO RLE with a str `counts`."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _coco(rle: dict) -> dict:
    """Normalise an RLE for pycocotools: str counts -> bytes, list counts -> compressed."""
    counts = rle["counts"]
    h, w = (int(v) for v in rle["size"])
    if isinstance(counts, list):
        return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": [h, w], "counts": counts}


def decode(rle: dict) -> np.ndarray:
    """COCO RLE (str, bytes or list counts) -> bool HxW array. ValueError when the run lengths do not
    cover the mask exactly (pycocotools would leave the rest uninitialised)."""
    check_runs(rle)
    return mask_utils.decode(_coco(rle)).astype(bool)


def check_runs(rle: dict, runs: np.ndarray | None = None) -> None:
    """The run-length part of `check_rle` for a compressed RLE it left unparsed (`check_runs=False`):
    ValueError unless the runs are non-negative and add up to exactly height x width. `runs`: the
    string's run lengths where the caller read them already (`rle_counts_many`)."""
    counts = rle["counts"]
    if isinstance(counts, (str, bytes)):
        h, w = (int(v) for v in rle["size"])
        _check_run_lengths(rle_counts(counts) if runs is None else runs, h, w)


class Crop(NamedTuple):
    """A mask cut to its tight bounding box: `mask[r, c]` is frame pixel (y0 + r, x0 + c); every
    frame pixel outside the box is background. `padded`, where the decoder made it, holds the same
    pixels (0/1 bytes) inside a one-pixel background border, and `mask` is a view of it: what a
    distance transform to the boundary reads, without a copy to add the border."""

    mask: np.ndarray
    x0: int
    y0: int
    padded: np.ndarray | None = None


_ALTERNATING = np.ones(0, dtype=bool)  # True, False, True, ...: the values of runs from a foreground one


def _alternating(n: int) -> np.ndarray:
    global _ALTERNATING
    if _ALTERNATING.size < n:
        _ALTERNATING = (np.arange(max(n, 2 * _ALTERNATING.size, 1024)) & 1) == 0
    return _ALTERNATING[:n]


def decode_crop(rle: dict, runs: np.ndarray | None = None) -> Crop | None:
    """COCO RLE -> its mask's bounding-box crop, None for an empty mask; ValueError as `decode`.

    Point sampling needs only the object's pixels, and a full-frame decode (H x W bytes, then passes
    over them to find the object) is most of a sampled frame's cost for a small object. The runs are
    read straight into the columns the object spans (RLE is column-major), cut to its rows and
    turned row-major by OpenCV into a buffer with a background border (`Crop.padded`). `runs`: the
    run lengths of a string `counts`, where the caller read them already (`rle_counts_many`)."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        runs = np.asarray(counts, dtype=np.int64)
    elif runs is None:
        runs = rle_counts(counts)
    ends = runs.cumsum()
    _check_run_lengths(runs, h, w, int(ends[-1]) if runs.size else 0)
    ones = runs[1::2].nonzero()[0]  # the non-empty foreground runs
    if ones.size == 0:
        return None
    first, last = int(ones[0]) * 2 + 1, int(ones[-1]) * 2 + 1
    lo, hi = int(ends[first] - runs[first]), int(ends[last])  # flat pixel span of the object
    c0, c1 = lo // h, (hi - 1) // h + 1
    columns = np.zeros((c1 - c0, h), dtype=np.uint8)  # the object's columns, one per row here
    flat = columns.reshape(-1)
    flat[lo - c0 * h : hi - c0 * h] = _alternating(last - first + 1).repeat(runs[first : last + 1])
    rows = columns.any(axis=0).nonzero()[0]
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    padded = np.zeros((r1 - r0 + 2, c1 - c0 + 2), dtype=np.uint8)
    cv2.transpose(columns[:, r0:r1], dst=padded[1:-1, 1:-1])
    return Crop(padded[1:-1, 1:-1].view(bool), c0, r0, padded)


def normalise(rle: dict) -> dict:
    """Any COCO RLE -> compressed RLE with str counts (the form written to disk)."""
    c = _coco(rle)
    return {"size": list(c["size"]), "counts": c["counts"].decode("ascii")}


def area(rle: dict) -> int:
    return int(mask_utils.area(_coco(rle)))


def areas(rles: list[dict]) -> list[int]:
    """`area` of each RLE, in one call into pycocotools (a converter reading every annotated frame
    of a video spent more in the call per mask than in the C that counts the pixels). An RLE as
    `check_rle` returns it (str counts, size two ints) goes in with its counts encoded, no more."""
    coco = [{"size": r["size"], "counts": r["counts"].encode("ascii")} if type(r["counts"]) is str else _coco(r)
            for r in rles]
    # 255 at a time: pycocotools 2.0.11 under numpy 2 fails on 256 or more ("Python integer 256 out
    # of bounds for uint8", the list's length stored in a byte).
    return [int(a) for i in range(0, len(coco), 255) for a in mask_utils.area(coco[i : i + 255])]


def polygons_to_rle(polygons: list[list[float]], height: int, width: int) -> dict:
    rles = mask_utils.frPyObjects(polygons, height, width)
    merged = mask_utils.merge(rles)
    return {"size": [height, width], "counts": merged["counts"].decode("ascii")}


def mask_box(rle: dict) -> Box | None:
    """Tight bounding box (x0, y0, x1, y1, exclusive) of a mask, or None when it is empty."""
    if area(rle) == 0:
        return None
    x, y, w, h = mask_utils.toBbox(_coco(rle)).tolist()
    return (x, y, x + w, y + h)


def box_iou(a: Box | None, b: Box | None) -> float:
    if a is None or b is None:
        return 0.0
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_rle(box: Box, height: int, width: int) -> dict:
    """The box region as an RLE (pixel (r, c) is inside when its centre lies in the box)."""
    m = np.zeros((height, width), dtype=np.uint8)
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    m[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = 1
    return encode(m)


def mask_iou(a: dict, b: dict) -> float:
    return float(mask_utils.iou([_coco(a)], [_coco(b)], [0])[0, 0])


def outside_fraction(rle: dict, box: Box) -> float:
    """Fraction of the mask's pixels that lie outside the box (0 for an empty mask)."""
    total = area(rle)
    if total == 0:
        return 0.0
    h, w = (int(v) for v in rle["size"])
    inside = mask_utils.merge([_coco(rle), _coco(box_rle(box, h, w))], intersect=True)
    return 1.0 - mask_utils.area(inside) / total


def box_mask_agreement(rle: dict | None, box: Box) -> float:
    """The IoU the project uses between a predicted mask and a ground-truth box.

    Chosen measure: IoU between the mask's tight bounding box and the ground-truth box. A correct
    mask of a non-rectangular object (a person, a disc) has a box-region IoU well below 1 (a disc
    fills pi/4 of its box) and a thin diagonal object far less, so the box-region IoU would drop
    good tracks for their shape; the bounding-box IoU is 1 for any correct mask and falls only when
    the mask is misplaced, too small, too big or leaks out of the box.
    """
    if rle is None:
        return 0.0
    return box_iou(mask_box(rle), box)


# A box more than this many frame widths (or heights) across is not one a person drew: a number
# like 1e30 in a box file. Real boxes run past the frame edge (clipped), never by several frames.
MAX_BOX_FRAMES = 4


def source_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> tuple[Box | None, str | None]:
    """A box read from a source file, in pixels: (the box clipped to the frame, None) or (None,
    what is wrong with it), for the converter to report with its file and line."""
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x0, y0, x1, y1)):
        return None, "box is not finite"
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return None, "box has no area"
    if w > MAX_BOX_FRAMES * width or h > MAX_BOX_FRAMES * height:
        return None, f"box of {w:.4g} x {h:.4g} px on a {width} x {height} frame is not a possible box"
    box = clip_box((x0, y0, x1, y1), width, height)
    return (box, None) if box is not None else (None, "box outside the image")


def clip_box(box: Box, width: int, height: int) -> Box | None:
    """Clip to the frame; None if nothing of the box is left."""
    x0, y0, x1, y1 = box
    x0, x1 = max(0.0, min(x0, width)), max(0.0, min(x1, width))
    y0, y1 = max(0.0, min(y0, height)), max(0.0, min(y1, height))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return (x0, y0, x1, y1)
