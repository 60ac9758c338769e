"""MoCA (Moving Camouflaged Animals): one CSV of boxes for every sequence,
`Annotations/annotations.csv`, beside `JPEGImages/<sequence>/00000.jpg`.

The CSV is a VGG Image Annotator export: some preamble lines (9 in the release), then a header with
`file_list, spatial_coordinates, metadata`. `file_list` is `/<sequence>/<frame>.jpg`;
`spatial_coordinates` is `[2, x, y, w, h]` (VIA shape 2, a rectangle; read as 0-based pixels,
clipped) or `[]` where the animal is not marked; `metadata` is the motion label, not read. Only some
frames are annotated: the annotation rate is the frame rate over the usual gap between annotated
frames, and the sampler drops grid times with no annotation near them. The label is the species,
the sequence name without its `_<n>` suffix and with spaces ("arctic_fox_1" -> "arctic fox").
The same layout with `MoCA_filtered`'s renumbered frames works with `--option frame_fps=10`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections import defaultdict

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages.masks import source_box
from pipeline.stages.records import Dropped, FrameAnnotation, Query, TrackedObject, Video, VideoRecord

from pipeline.sources.base import (
    Converter,
    VideoRef,
    annotation_rate,
    check,
    image_size,
    once_per_file,
    read_text,
    require_dir,
    source_path,
)

CSV_PATHS = (("Annotations", "annotations.csv"), ("annotations.csv",))


@once_per_file()
def read_moca_csv(path: str, root: str | None = None) -> dict[str, list[tuple[int, int, str]]]:
    """{sequence: [(line, frame number, spatial_coordinates text)]}, parsed once per process."""
    lines = read_text(path, root=root).splitlines()
    header = next((i for i, line in enumerate(lines[:50]) if "file_list" in line and "spatial_coordinates" in line), None)
    if header is None:
        raise SourceError(path, "no header with file_list and spatial_coordinates in the first 50 lines")
    reader = csv.reader(io.StringIO("\n".join(lines[header:])))
    columns = next(reader)
    try:
        fi, si = columns.index("file_list"), columns.index("spatial_coordinates")
    except ValueError:
        raise SourceError(path, f"line {header + 1}: header lacks file_list or spatial_coordinates") from None
    out: dict[str, list] = defaultdict(list)
    for offset, row in enumerate(reader, header + 2):
        if not row:
            continue
        if len(row) <= max(fi, si):
            raise SourceError(path, f"line {offset}: {len(row)} columns, expected at least {max(fi, si) + 1}")
        parts = row[fi].strip("/").split("/")
        stem = os.path.splitext(parts[-1])[0]
        if len(parts) != 2 or not stem.isdigit():
            raise SourceError(path, f"line {offset}: file_list {row[fi]!r} is not /<sequence>/<frame number>.jpg")
        out[parts[0]].append((offset, int(stem), row[si]))
    return dict(out)


def species(sequence: str) -> str:
    return re.sub(r"_\d+$", "", sequence).replace("_", " ")


class MocaConverter(Converter):
    name = "moca"
    # MoCA has no splits: any --split name reads every sequence
    molmo2 = {"MoCA": {"train": ("all", "train")}}
    title = "MoCA"
    kind = "box"
    OPTIONS = {"frame_fps": ((int, float), 30.0, "frame rate of JPEGImages (MoCA_filtered's renumbered frames: 10)")}

    def _csv(self, root: str) -> str:
        for parts in CSV_PATHS:
            path = os.path.join(root, *parts)
            if os.path.exists(path):
                return path
        raise SourceError(os.path.join(root, *CSV_PATHS[0]), "MoCA annotation CSV not found")

    def discover(self, root: str, split: str) -> list[VideoRef]:
        path = self._csv(root)
        return [self._ref(root, split, seq, os.path.join(root, "JPEGImages", seq), [path])
                for seq in sorted(read_moca_csv(path, root))]

    def load(self, ref: VideoRef) -> VideoRecord:
        path = ref.files[0]
        entries = read_moca_csv(path, ref.root).get(ref.video_id)
        if not entries:
            raise SourceError(path, f"no rows for sequence {ref.video_id}")
        require_dir(ref.location, "image")
        source_path(ref.location, ref.root)
        names = sorted(f for f in os.listdir(ref.location) if f.lower().endswith((".jpg", ".jpeg", ".png"))
                       and os.path.splitext(f)[0].isdigit())
        if not names:
            raise SourceError(ref.location, "no frame images")
        numbers = [int(os.path.splitext(f)[0]) for f in names]
        first = numbers[0]
        n = check(ref.location, checks.frame_count, numbers[-1] - first + 1, "number of frames")
        by_number = dict(zip(numbers, names))
        files = tuple(by_number.get(first + i, "") for i in range(n))
        width, height = image_size(os.path.join(ref.location, names[0]), ref.root)
        obj = TrackedObject(object_id=ref.video_id, kind="box", category=species(ref.video_id))
        dropped = []
        for line, number, text in entries:
            frame = number - first
            if not 0 <= frame < n or files[frame] == "":
                dropped.append(Dropped("annotated frame has no image", f"frame {number}: row left out", ref.video_id,
                                       "frame", None, path, line))
                continue
            if frame in obj.frames:
                dropped.append(Dropped("second box for the frame", f"frame {number}: kept the first", ref.video_id,
                                       "frame", frame, path, line))
                continue
            obj.frames[frame] = FrameAnnotation(visible=False, box=None)
            try:
                shape = json.loads(text) if text.strip() else []
            except json.JSONDecodeError:
                raise SourceError(path, f"line {line}: spatial_coordinates {text[:40]!r} is not a list") from None
            if shape == []:
                continue  # not marked on this frame: not visible
            if not (isinstance(shape, list) and len(shape) == 5 and shape[0] == 2
                    and all(isinstance(v, (int, float)) and math.isfinite(v) for v in shape[1:])):
                dropped.append(Dropped("not a rectangle [2, x, y, w, h]", f"{text[:40]}: kept as not visible",
                                       ref.video_id, "frame", frame, path, line))
                continue
            _, x, y, w, h = shape
            box, problem = source_box(x, y, x + w, y + h, width, height)
            if box is None:
                dropped.append(Dropped(problem, f"{text[:40]}: kept as not visible", ref.video_id, "frame", frame, path, line))
            obj.frames[frame] = FrameAnnotation(visible=box is not None, box=box)
        annotated = tuple(sorted(obj.frames))
        fps = float(ref.option("frame_fps", 30.0))
        video = Video(source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
                      n_frames=n, fps=fps, annotation_fps=annotation_rate(fps, annotated),
                      frames_dir=ref.location, frame_files=files, input_files=ref.files, root=ref.root)
        query = Query("species", obj.category, (obj.object_id,), "category", countable=False)
        return VideoRecord(video, [obj], annotated, dropped, queries=[query])
