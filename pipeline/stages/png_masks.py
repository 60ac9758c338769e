"""Masks kept in PNG files (palette or panoptic), read only on the sampled frames.

DAVIS-style sources (Ref-YouTube-VOS, Ref-DAVIS17, MOSE, LVOS) store one PNG per annotated frame
whose pixel value is the object id; VIPSeg stores panoptic ids. Decoding every PNG of a video at
conversion would read hundreds of frames to use a few, so converters only list the files
(`records.PngMasks`) and this stage, run after sampling, opens one PNG at a time, turns each
object's pixels into a COCO RLE and forgets the image. Objects the metadata declares but a frame
does not show are annotated there as not visible; a value not declared becomes an object of its
own (unless the source says its metadata is complete).

Every PNG is checked: it must open, be 2-D (or RGB for panoptic) and have the video's size; else a
`SourceError` names the file and the video is rejected (the rest of the source goes on).
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages import masks as M
from pipeline.stages.records import FrameAnnotation, TrackedObject, VideoRecord

# VIPSeg panoptic values: below 125 a (stuff) category id, else category id * 100 + instance.
VIPSEG_LABEL_DIVISOR, VIPSEG_FIRST_THING_VALUE = 100, 125


def read_png(path: str, root: str | None) -> np.ndarray:
    """The PNG's label values as a 2-D integer array (palette indices, not colours)."""
    if os.path.lexists(path):
        try:
            checks.inside_root(path, root)
        except ValueError as e:
            raise SourceError(path, str(e)) from None
    try:
        with Image.open(path) as im:
            if im.mode in ("P", "L", "I", "I;16", "1"):
                arr = np.asarray(im)
            elif im.mode in ("RGB", "RGBA"):
                rgb = np.asarray(im.convert("RGB")).astype(np.int64)
                arr = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
            else:
                raise SourceError(path, f"mask PNG has image mode {im.mode}, expected palette or grey values")
    except FileNotFoundError:
        raise SourceError(path, "mask file is missing") from None
    except SourceError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise SourceError(path, f"mask PNG cannot be decoded ({e})") from None
    return arr


def _objects_on(arr: np.ndarray, encoding: str, ignore: tuple[int, ...], categories: dict[int, str]):
    """{object id: (mask, number, category)} of one decoded PNG."""
    if arr.dtype == np.uint8 or arr.dtype == bool:
        counts = np.bincount(arr.ravel().astype(np.uint8), minlength=256)
        values = [int(v) for v in np.flatnonzero(counts)]
    else:
        values = [int(v) for v in np.unique(arr)]
    out = {}
    for value in values:
        if value in ignore:
            continue
        if encoding == "panoptic":
            if value < VIPSEG_FIRST_THING_VALUE:  # a stuff category id, not an instance
                continue
            cat = value // VIPSEG_LABEL_DIVISOR
            if cat not in categories:  # a class the source does not name as a thing
                continue
            out[str(value)] = (arr == value, value, categories[cat])
        else:
            out[str(value)] = (arr == value, value, None)
    return out


def _checked(path: str, root: str | None, width: int, height: int) -> np.ndarray:
    arr = read_png(path, root)
    if arr.ndim != 2 or arr.shape != (height, width):
        shape = "x".join(str(n) for n in arr.shape[::-1])
        raise SourceError(path, f"mask is {shape}, the video's frames are {width}x{height}")
    return arr


def _read_binary(record: VideoRecord, frames: list[int], root: str | None) -> None:
    """One PNG per object and frame (ReasonVOS): any non-zero pixel is the object's; an annotated
    frame without the object's PNG, or with an empty one, shows it not visible."""
    spec, v = record.png_masks, record.video
    by_id = {o.object_id: o for o in record.objects}
    for oid, files in spec.object_files.items():
        obj = by_id[oid]
        for frame in frames:
            if frame not in spec.files:
                continue
            path = files.get(frame)
            mask = _checked(path, root, v.width, v.height) > 0 if path else None
            obj.frames[frame] = (FrameAnnotation(visible=True, rle=M.encode(mask)) if mask is not None and mask.any()
                                 else FrameAnnotation(visible=False))


def read_png_masks(record: VideoRecord, frames: list[int], root: str | None) -> None:
    """Give the record's objects RLE masks on `frames` (the sampled ones) from its PNGs."""
    spec = record.png_masks
    v = record.video
    if spec.encoding == "binary":
        return _read_binary(record, frames, root)
    by_id: dict[str, TrackedObject] = {o.object_id: o for o in record.objects}
    declared = set(spec.objects)
    categories = dict(spec.categories)
    for frame in frames:
        path = spec.files.get(frame)
        if path is None:
            continue
        arr = _checked(path, root, v.width, v.height)
        found = _objects_on(arr, spec.encoding, spec.ignore, categories)
        for oid, (mask, number, category) in found.items():
            if oid not in by_id:
                if spec.declared_only and oid not in declared:
                    continue
                by_id[oid] = TrackedObject(oid, "mask", category=category, number=number)
                record.objects.append(by_id[oid])
            by_id[oid].frames[frame] = FrameAnnotation(visible=True, rle=M.encode(mask))
    for obj in by_id.values():  # annotated frames where an object is not seen: not visible there
        for frame in frames:
            if frame in spec.files and frame not in obj.frames:
                obj.frames[frame] = FrameAnnotation(visible=False)
    record.objects.sort(key=lambda o: (o.number if o.number is not None else 1 << 62, o.object_id))
