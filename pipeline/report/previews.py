"""Previews of rows: the frames a row samples, read from the source video, with the row's points and
ids drawn, its objects' mask outlines and, for box sources, the ground-truth boxes. A contact sheet
(PNG) per row and an animated GIF per track row. Also the points' offsets from their mask centres
for the report's centre plot."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from pipeline.quality.audit import assign_points, query_objects
from pipeline.quality.ground_truth import VideoTruth
from pipeline.stages.frames import read_frames

COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
           (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]
TILE_W = 240
MAX_SHEET_FRAMES = 8
MAX_GIF_FRAMES = 40


@dataclass
class Mark:
    """One object on one frame: its point (pixels, None if occluded), label, mask and box."""
    object_id: str
    label: str
    point: tuple[float, float] | None


@dataclass
class Preview:
    row_id: str
    dataset: str
    question: str
    answer: str
    sheet: str  # file name under the report's folder
    gif: str | None
    note: str = ""


def _outline(mask: np.ndarray) -> np.ndarray:
    from scipy.ndimage import binary_erosion

    return mask & ~binary_erosion(mask, iterations=1)


def draw(frame: np.ndarray, marks: list[Mark], truth: VideoTruth, src: int, colour_of: dict[str, tuple]) -> Image.Image:
    img = frame.copy()
    for m in marks:
        colour = colour_of[m.object_id]
        mask = truth.mask(m.object_id, src)
        if mask is not None and mask.shape == img.shape[:2]:
            img[_outline(mask)] = colour
    pil = Image.fromarray(img)
    d = ImageDraw.Draw(pil)
    for m in marks:
        colour = colour_of[m.object_id]
        if truth.is_box(m.object_id):
            box = truth.box(m.object_id, src)
            if box:
                d.rectangle(box, outline=colour, width=2)
        if m.point is not None:
            x, y = m.point
            r = max(3, img.shape[1] // 80)
            d.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=(0, 0, 0))
            d.text((x + r + 1, y - r - 1), m.label, fill=colour, stroke_width=2, stroke_fill=(0, 0, 0))
    return pil


def _tile(img: Image.Image, caption: str) -> Image.Image:
    scale = TILE_W / img.width
    tile = img.resize((TILE_W, max(1, round(img.height * scale))))
    ImageDraw.Draw(tile).text((4, 4), caption, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
    return tile


def contact_sheet(tiles: list[Image.Image], cols: int = 4) -> Image.Image:
    cols = min(cols, len(tiles))
    rows = (len(tiles) + cols - 1) // cols
    h = max(t.height for t in tiles)
    sheet = Image.new("RGB", (cols * TILE_W + (cols - 1) * 4, rows * h + (rows - 1) * 4), (255, 255, 255))
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % cols) * (TILE_W + 4), (i // cols) * (h + 4)))
    return sheet


def _evenly(n: int, k: int) -> list[int]:
    return list(range(n)) if n <= k else sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def track_frames(row: dict) -> list[tuple[float, int, list[Mark]]]:
    ids = dict(zip(row["obj_id"], row["anno_id"]))
    out = []
    for f, src in zip(row["frame_trajectories"], row["source_frames"]):
        marks = [Mark(ids.get(p["id"], str(p["id"])), str(p["id"]), None if p["occluded"] else tuple(p["point"]))
                 for p in f["points"]]
        out.append((f["time"], src, marks))
    return out


def point_frames(row: dict, truth: VideoTruth, fps: float) -> list[tuple[float, int, list[Mark]]]:
    objects = query_objects(truth, row["category"], row["count"])
    owners, where = assign_points(truth, row, objects, fps)
    out: dict[int, tuple[float, int, list[Mark]]] = {}
    i = 0
    for t, ps in zip(row["timestamps"], row["points"]):
        for p in ps:
            src = where[i]
            if src is not None:
                mark = Mark(owners[i] or f"?{i}", str(i + 1), (p["x"] / 100 * truth.width, p["y"] / 100 * truth.height))
                out.setdefault(src, (t, src, []))[2].append(mark)
            i += 1
    return [out[k] for k in sorted(out)]


def preview_row(row: dict, dataset: str, truth: VideoTruth, fps: float, folder: str, name: str) -> Preview:
    frames = track_frames(row) if dataset != "AcademicVideoPoint" else point_frames(row, truth, fps)
    question = row["question"]
    if not frames:
        return Preview(row["id"], dataset, question, row["answer"], "", None, "no frame with a point (nothing there)")
    objects = sorted({m.object_id for _, _, ms in frames for m in ms})
    colour_of = {o: COLOURS[i % len(COLOURS)] for i, o in enumerate(objects)}
    pick = _evenly(len(frames), MAX_GIF_FRAMES if dataset != "AcademicVideoPoint" else MAX_SHEET_FRAMES)
    chosen = [frames[i] for i in pick]
    pixels = read_frames(truth.video, [src for _, src, _ in chosen])
    drawn = [draw(px, marks, truth, src, colour_of) for px, (_, src, marks) in zip(pixels, chosen)]
    on_sheet = _evenly(len(chosen), MAX_SHEET_FRAMES)
    sheet = contact_sheet([_tile(drawn[i], f"t={chosen[i][0]:g}s") for i in on_sheet])
    sheet_name = f"{name}.png"
    sheet.save(os.path.join(folder, sheet_name), optimize=True)
    gif_name = None
    if dataset != "AcademicVideoPoint" and len(drawn) > 1:
        gif_name = f"{name}.gif"
        small = [_tile(img, f"t={t:g}s") for img, (t, _, _) in zip(drawn, chosen)]
        small[0].save(os.path.join(folder, gif_name), save_all=True, append_images=small[1:],
                      duration=int(1000 / max(row.get("sampling_fps") or fps, 0.1)), loop=0)
    return Preview(row["id"], dataset, question, row["answer"], sheet_name, gif_name)


def centre_offsets(row: dict, dataset: str, truth: VideoTruth, fps: float) -> list[tuple[float, float]]:
    """Each visible point's offset from its mask's centroid over the mask's bounding-box size."""
    frames = track_frames(row) if dataset != "AcademicVideoPoint" else point_frames(row, truth, fps)
    out = []
    for _, src, marks in frames:
        for m in marks:
            mask = truth.mask(m.object_id, src) if m.point else None
            if mask is None:
                continue
            ys, xs = np.nonzero(mask)
            w, h = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
            out.append(((m.point[0] - (xs.mean() + 0.5)) / w, (m.point[1] - (ys.mean() + 0.5)) / h))
    return out


def sample_rows(rows: list[dict], k: int, seed: int) -> list[dict]:
    """A seeded sample of `k` rows (the same rows every time for the same build)."""
    rows = sorted(rows, key=lambda r: r["id"])
    return random.Random(seed).sample(rows, min(k, len(rows)))
