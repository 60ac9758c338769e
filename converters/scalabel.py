"""Scalabel box tracks: BDD100K MOT (`labels/box_track_20/<split>/<video>.json` beside
`images/track/<split>/<video>/<video>-0000001.jpg`).

A label file is a JSON list of frames `{name, videoName, frameIndex, labels}`; `frameIndex` is
0-based while the image names count from 1 (the image is the frame's own `name`). A label is
`{id (a string such as "a-00122062"), category, attributes {occluded, truncated, crowd},
box2d {x1, y1, x2, y2}}`, corner coordinates in pixels (read as 0-based, clipped). Tracks may have
gaps. Frames are at 5 fps.
- "other person", "trailer" and "other vehicle" are ignore regions, and a track whose every box is
  a crowd box is one: never a track, each in the rejects table. A crowd box inside another track
  is not visible on its frame.
- An `occluded` box is not visible (never a prompt, never scored, `occluded: true` in the track),
  as a MOTChallenge box below its visibility threshold is; so an object counts in a window only
  where it is seen unoccluded on a sampled frame.
- The category is the label: one query per category per video.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages.masks import source_box
from pipeline.stages.records import Dropped, FrameAnnotation, TrackedObject, Video, VideoRecord

from pipeline.sources.base import Converter, VideoRef, check, image_size, read_json, require_dir, source_path

IGNORE = {"other person", "trailer", "other vehicle"}


class ScalabelConverter(Converter):
    name = "bdd100k"
    title = "BDD100K"
    kind = "box"
    labels_dir = ("labels", "box_track_20")
    images_dir = ("images", "track")
    OPTIONS = {"frame_fps": ((int, float), 5.0, "frame rate of the image sequences (BDD100K: 5)")}

    def discover(self, root: str, split: str) -> list[VideoRef]:
        folder = os.path.join(root, *self.labels_dir, split)
        require_dir(folder, f"{self.title} labels for split '{split}'")
        refs = []
        for path in sorted(Path(folder).glob("*.json")):
            refs.append(self._ref(root, split, path.stem, os.path.join(root, *self.images_dir, split, path.stem), [path]))
        if not refs:
            raise SourceError(folder, "no <video>.json label files")
        return refs

    def load(self, ref: VideoRef) -> VideoRecord:
        path = ref.files[0]
        frames = read_json(path, ref.root)
        if not isinstance(frames, list) or not all(isinstance(f, dict) for f in frames):
            raise SourceError(path, "expected a JSON list of frames")
        require_dir(ref.location, "image")
        source_path(ref.location, ref.root)
        by_index: dict[int, dict] = {}
        for k, f in enumerate(frames):
            idx, name = f.get("frameIndex"), f.get("name")
            if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0 or not isinstance(name, str):
                raise SourceError(path, f"frame {k}: needs a whole frameIndex >= 0 and an image name")
            if idx in by_index:
                raise SourceError(path, f"frame {k}: frameIndex {idx} appears twice")
            check(path, checks.relative_path, name, f"frame {k} image name")
            by_index[idx] = f
        if not by_index:
            raise SourceError(path, "no frames")
        n = check(path, checks.frame_count, max(by_index) + 1, "number of frames")
        files = tuple(by_index[i]["name"] if i in by_index else "" for i in range(n))
        width, height = image_size(os.path.join(ref.location, by_index[min(by_index)]["name"]), ref.root)
        tracks: dict[str, list] = defaultdict(list)
        dropped: list[Dropped] = []
        for idx in sorted(by_index):
            for j, label in enumerate(by_index[idx].get("labels") or []):
                problem = _label_problem(label)
                if problem:
                    dropped.append(Dropped(problem, f"frame {idx}, label {j}: left out", None, "frame", idx, path))
                    continue
                tracks[str(label["id"])].append((idx, label))
        objects = []
        for tid in sorted(tracks):
            labels = tracks[tid]
            categories = {lab["category"] for _, lab in labels}
            attrs = [lab.get("attributes") or {} for _, lab in labels]
            if categories & IGNORE or all(a.get("crowd") for a in attrs):
                what = ", ".join(sorted(categories & IGNORE)) or "crowd"
                dropped.append(Dropped(f"ignore region ({what})", f"{len(labels)} boxes", tid, file=path))
                continue
            if len(categories) > 1:
                dropped.append(Dropped("track changes category", ", ".join(sorted(categories)), tid, file=path))
                continue
            obj = TrackedObject(object_id=tid, kind="box", category=categories.pop())
            for (idx, lab), a in zip(labels, attrs):
                b = lab["box2d"]
                box, problem = source_box(b["x1"], b["y1"], b["x2"], b["y2"], width, height)
                if problem:
                    dropped.append(Dropped(problem, f"frame {idx}: kept as not visible", tid, "frame", idx, path))
                obj.frames[idx] = FrameAnnotation(visible=box is not None and not a.get("occluded") and not a.get("crowd"),
                                                  box=box)
            objects.append(obj)
        fps = float(ref.option("frame_fps", 5.0))
        video = Video(source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
                      n_frames=n, fps=fps, annotation_fps=fps, frames_dir=ref.location, frame_files=files,
                      input_files=ref.files, root=ref.root)
        return VideoRecord(video, objects, tuple(sorted(by_index)), dropped)


def _label_problem(label) -> str | None:
    if not isinstance(label, dict) or "id" not in label or not isinstance(label.get("category"), str):
        return "label without id or category"
    b = label.get("box2d")
    if not isinstance(b, dict) or not all(isinstance(b.get(k), (int, float)) for k in ("x1", "y1", "x2", "y2")):
        return "label without a box2d"
    if not all(math.isfinite(b[k]) for k in ("x1", "y1", "x2", "y2")):
        return "box is not finite"
    if b["x2"] <= b["x1"] or b["y2"] <= b["y1"]:
        return "box has no area"
    return None
