"""gluon-cv motion datasets: PersonPath22 (`annotation/anno_visible_2022.json`, `raw_data/`).

The layout and format are gluon-cv's `GluonCVMotionDataset`: a root holding `annotation/` and
`raw_data/`; the annotation file is `{metadata, samples: {sample id: sample}}` with the split ids in
`annotation/splits.json` (`{"train": [...], "test": [...]}`). A sample is `{metadata, entities}`, or
`{metadata, sample_file}` whose entities live in `annotation/<annotation file stem>/<sample_file>`.
Sample metadata: `fps`, `number_of_frames`, `resolution {width, height}`, and `data_path` (or
`base_dir`) under `raw_data/`: a video file, or a folder of frames in sorted order. An entity is
`{time (ms), id, labels, bb [x, y, w, h], confidence, blob {frame_idx}}`; its frame is
`blob.frame_idx`, else `round(time / 1000 * fps)` (gluon-cv's rule). Entities without an id or a box
are not track boxes and are skipped. PersonPath22 annotates key frames at 5 fps; every annotated
person is a "person" (its own word), and the `visible` file's boxes are the visible part
(`--option annotation=amodal` reads `anno_amodal_2022.json`). The annotation file is split-wide:
it is indexed once per build (`split_index.py`, a row per sample), and a video reads only its own.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages.masks import source_box
from pipeline.stages.records import Dropped, FrameAnnotation, TrackedObject, Video, VideoRecord

from pipeline.sources.base import Converter, VideoRef, check, read_json, require_dir, source_path, stat_stamp
from pipeline.sources.split_index import IndexWriter, put_each_key

ANNO_DIR, DATA_DIR = "annotation", "raw_data"


def split_samples(path: str, writer: IndexWriter) -> None:
    """`{metadata, samples: {id: sample}}`: one row per sample."""
    put_each_key(path, writer, "samples", "sample", "no samples {id: sample}")


def _sample_file(anno: str, sample_id: str, sample: dict) -> str | None:
    """Where a sample's entities are when they are not in the annotation file itself: its
    `sample_file` (True: `<id>.json`) under the folder named after the annotation file (gluon-cv's
    lazy load). A sample with neither entities nor `sample_file` is looked up there too, as
    `<id>.json` or `<data_path>.json` (bytedance/ColTrack reads PersonPath22's entities from
    `annotation/anno_visible_2022/<data_path>.json`, e.g. `uid_vid_00000.mp4.json`)."""
    if sample.get("entities") is not None:
        return None
    folder = os.path.splitext(anno)[0]
    if sample.get("sample_file"):
        name = sample_id + ".json" if sample["sample_file"] is True else sample["sample_file"]
        return os.path.join(folder, check(anno, checks.relative_path, name, "sample_file"))
    data = (sample.get("metadata") or {}).get("data_path")
    candidates = [sample_id + ".json"] + ([f"{data}.json"] if isinstance(data, str) and data else [])
    for name in candidates:
        path = os.path.join(folder, check(anno, checks.relative_path, name, "sample file"))
        if os.path.exists(path):
            return path
    return None


class PersonPath22Converter(Converter):
    name = "personpath22"
    title = "PersonPath22"
    kind = "box"
    label = "person"
    annotation_files = {"visible": "anno_visible_2022.json", "amodal": "anno_amodal_2022.json"}
    annotation_fps = 5.0
    OPTIONS = {"annotation": (str, "visible", "which annotation file: visible (the visible part) or amodal")}

    def _anno(self, root: str) -> str:
        which = self.options.get("annotation", "visible")
        if which not in self.annotation_files:
            raise SourceError(root, f"option annotation={which!r}: expected visible or amodal")
        return os.path.join(root, ANNO_DIR, self.annotation_files[which])

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(os.path.join(root, ANNO_DIR), f"{self.title} annotation")
        anno = self._anno(root)
        ids = sorted(self.index(anno, root).keys("sample"))
        splits_path = os.path.join(root, ANNO_DIR, "splits.json")
        if os.path.exists(splits_path):
            splits = read_json(splits_path, root)
            if not isinstance(splits, dict) or split not in splits:
                raise SourceError(splits_path, f"no split {split!r} (splits: {', '.join(sorted(splits or {}))})")
            wanted = set(splits[split])
            ids = [i for i in ids if i in wanted]
        return [self._ref(root, split, sid, os.path.join(root, DATA_DIR), [anno]) for sid in ids]

    def index(self, path: str, root: str):
        return self.split_index(path, root, "gluoncv-samples", split_samples)

    def fingerprint(self, ref: VideoRef) -> list:
        """The sample's own row (and its `sample_file`'s size and mtime), not the whole file's mtime."""
        index = self.index(ref.files[0], ref.root)
        sample = index.last(ref.video_id, "sample")
        side = _sample_file(ref.files[0], ref.video_id, sample) if isinstance(sample, dict) else None
        return [index.digest(ref.video_id)] + ([stat_stamp(side)] if side else [])

    def load(self, ref: VideoRef) -> VideoRecord:
        anno = ref.files[0]
        sample = self.index(anno, ref.root).last(ref.video_id, "sample")
        if not isinstance(sample, dict):
            raise SourceError(anno, f"sample {ref.video_id!r} is not an object")
        meta = sample.get("metadata") or {}
        entities = sample.get("entities")
        where = _sample_file(anno, ref.video_id, sample) or anno
        if where != anno:
            part = read_json(where, ref.root)
            entities = part.get("entities") if isinstance(part, dict) else None
        if not isinstance(entities, list):
            raise SourceError(where, f"sample {ref.video_id!r} has no entities list")
        try:
            fps = checks.frame_rate(meta.get("fps"), "metadata fps")
            n = checks.frame_count(meta.get("number_of_frames"), "metadata number_of_frames")
            res = meta.get("resolution") or {}
            width, height = checks.frame_size(res.get("width"), res.get("height"), "metadata resolution")
            data = checks.relative_path(meta.get("data_path") or meta.get("base_dir") or "", "data_path")
        except (ValueError, TypeError) as e:
            raise SourceError(anno, f"sample {ref.video_id!r}: {e}") from None
        path = os.path.join(ref.location, data)
        source_path(path, ref.root)
        where_pixels: dict = {}
        if os.path.isdir(path):
            frames = tuple(sorted(f for f in os.listdir(path) if f.lower().endswith((".jpg", ".jpeg", ".png"))))
            if len(frames) < n:
                raise SourceError(path, f"{len(frames)} frames, metadata says {n}")
            where_pixels = {"frames_dir": path, "frame_files": frames[:n]}
        else:
            where_pixels = {"video_file": path}
        tracks: dict[str, dict[int, tuple]] = defaultdict(dict)
        dropped = []
        for k, e in enumerate(entities):
            if not isinstance(e, dict) or e.get("id") is None or e.get("bb") is None:
                continue
            bb, blob = e["bb"], e.get("blob") or {}
            frame = blob.get("frame_idx")
            if frame is None and isinstance(e.get("time"), (int, float)):
                frame = round(e["time"] / 1000 * fps)
            if not isinstance(frame, int) or not 0 <= frame < n:
                dropped.append(Dropped("entity frame outside the video", f"entity {k}: frame {frame!r}", str(e["id"]),
                                       "frame", None, where))
                continue
            if not (isinstance(bb, list) and len(bb) == 4 and all(isinstance(v, (int, float)) and math.isfinite(v) for v in bb)):
                dropped.append(Dropped("box is not [x, y, w, h]", f"entity {k}", str(e["id"]), "frame", frame, where))
                continue
            box, problem = source_box(bb[0], bb[1], bb[0] + bb[2], bb[1] + bb[3], width, height)
            if box is None:
                dropped.append(Dropped(problem, f"entity {k}: kept as not visible", str(e["id"]), "frame", frame, where))
            tracks[str(e["id"])][frame] = box
        objects = []
        for tid in sorted(tracks, key=lambda t: (len(t), t)):
            obj = TrackedObject(object_id=tid, kind="box", category=self.label)
            obj.frames = {f: FrameAnnotation(visible=b is not None, box=b) for f, b in sorted(tracks[tid].items())}
            objects.append(obj)
        annotated = tuple(sorted({f for t in tracks.values() for f in t}))
        video = Video(source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
                      n_frames=n, fps=fps, annotation_fps=min(fps, self.annotation_fps), input_files=ref.files,
                      root=ref.root, **where_pixels)
        return VideoRecord(video, objects, annotated, dropped)
