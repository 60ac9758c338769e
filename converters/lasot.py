"""LaSOT sequences: `<class>/<class>-<n>/{img/00000001.jpg, groundtruth.txt, full_occlusion.txt,
out_of_view.txt, nlp.txt}`.

One object per sequence. Boxes are `x,y,w,h`; LaSOT does not state the origin, so they are read as
0-based pixels and clipped to the frame. The object is visible on a frame when it is neither fully
occluded nor out of view (the flags decide: 55% of LaSOT's absent rows still carry a real box). A
frame flagged visible whose box is not finite, has no area or lies outside the image is kept as not
visible and reported with the file and line. `nlp.txt` is the expression (the label of its
track and point rows); the class folder is the category. LaSOT is 30 fps, every frame annotated.
Splits: `<root>/<split>_set.txt` or `<root>/<split>ing_set.txt` (the official `training_set.txt` /
`testing_set.txt`) lists the sequences when present; otherwise every sequence under the root.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from PIL import Image

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.masks import clip_box
from pipeline.records import Dropped, FrameAnnotation, Query, TrackedObject, Video, VideoRecord

from .base import Converter, VideoRef, check, parse_numbers, read_text, require_dir, source_path

FPS = 30.0


class LasotConverter(Converter):
    name = "lasot"
    kind = "box"

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, "LaSOT root")
        wanted = None
        for name in (f"{split}_set.txt", f"{split}ing_set.txt"):
            listing = os.path.join(root, name)
            if os.path.exists(listing):
                wanted = set(read_text(listing, root=root).split())
                break
        refs = []
        for gt in sorted(Path(root).glob("*/*/groundtruth.txt")):
            seq = gt.parent
            if wanted is not None and seq.name not in wanted:
                continue
            files = [gt, seq / "full_occlusion.txt", seq / "out_of_view.txt", seq / "nlp.txt"]
            refs.append(self._ref(root, split, seq.name, seq, files))
        return refs

    def load(self, ref: VideoRef) -> VideoRecord:
        gt_path, occ_path, oov_path, nlp_path = ref.files
        img_dir = os.path.join(ref.location, "img")
        require_dir(img_dir, "image")
        source_path(img_dir, ref.root)
        try:
            names = os.listdir(img_dir)
        except OSError as e:
            raise SourceError(img_dir, f"cannot be listed ({e.strerror or e})") from None
        frame_files = tuple(sorted(f for f in names if f.lower().endswith((".jpg", ".jpeg", ".png"))))
        if not frame_files:
            raise SourceError(img_dir, "no frame images")
        check(img_dir, checks.frame_count, len(frame_files), "number of frame images")
        first = source_path(os.path.join(img_dir, frame_files[0]), ref.root)
        try:
            with Image.open(first) as im:
                width, height = check(first, checks.frame_size, *im.size)
        except OSError as e:
            raise SourceError(first, f"cannot read frame ({e})") from None
        lines = [(i, line) for i, line in enumerate(read_text(gt_path, root=ref.root).splitlines(), 1) if line.strip()]
        n = len(lines)
        if n != len(frame_files):
            raise SourceError(gt_path, f"{n} boxes for {len(frame_files)} frames in {img_dir}")
        occluded = _flags(occ_path, n, ref.root)
        out_of_view = _flags(oov_path, n, ref.root)
        expression = read_text(nlp_path, root=ref.root).strip()
        if not expression:
            raise SourceError(nlp_path, "empty description")
        obj = TrackedObject(object_id=ref.video_id, kind="box", category=Path(ref.location).parent.name)
        dropped = []
        for i, (lineno, line) in enumerate(lines):
            b = parse_numbers(gt_path, line, lineno)
            if len(b) != 4:
                raise SourceError(gt_path, f"line {lineno}: {len(b)} numbers, expected x,y,w,h")
            flagged = not occluded[i] and not out_of_view[i]
            box, problem = None, None
            if not all(math.isfinite(v) for v in b):
                problem = "box is not finite"
            elif b[2] <= 0 or b[3] <= 0:
                problem = "box has no area"
            else:
                box = clip_box((b[0], b[1], b[0] + b[2], b[1] + b[3]), width, height)
                problem = None if box is not None else "box outside the image"
            if problem and flagged:
                dropped.append(Dropped(f"{problem} on a frame flagged visible", f"{line.strip()[:60]}: kept as not visible",
                                       ref.video_id, "frame", i, gt_path, lineno))
            obj.frames[i] = FrameAnnotation(visible=box is not None and flagged, box=box)
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=n, fps=FPS, annotation_fps=FPS, frames_dir=img_dir, frame_files=frame_files,
            input_files=ref.files, root=ref.root,
        )
        query = Query("nlp", expression, (obj.object_id,), "referring")
        return VideoRecord(video, [obj], tuple(range(n)), dropped, queries=[query])


def _flags(path: str, n: int, root: str | None = None) -> list[bool]:
    text = read_text(path, root=root).strip()
    values = parse_numbers(path, text, 1) if text else []
    if len(values) != n or any(v not in (0, 1) for v in values):
        raise SourceError(path, f"expected {n} comma-separated 0/1 flags, got {len(values)} values")
    return [v == 1 for v in values]
