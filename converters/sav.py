"""SA-V training layout: `<id>_manual.json` (+ `<id>_auto.json`, optional `<id>.mp4`).

`masklet[i][k]` is the COCO RLE of masklet k on the i-th annotated frame; annotated frames are every
(fps / 6)-th frame of the video (6 fps of 24 fps). A masklet is visible where its mask is non-empty.
SA-V has no category or expression, so its objects are unlabelled (single-point-track rows only).
Needs no frames: size, count and fps come from the JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline import masks as M
from pipeline.errors import SourceError
from pipeline.records import FrameAnnotation, TrackedObject, Video, VideoRecord

from .base import Converter, VideoRef, require_dir

ANNOTATION_FPS = 6.0


class SavConverter(Converter):
    name = "sav"
    kind = "mask"

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, "SA-V root")
        refs = []
        for manual in sorted(Path(root).rglob("*_manual.json")):
            vid = manual.name[: -len("_manual.json")]
            files = [manual]
            auto = manual.with_name(f"{vid}_auto.json")
            if self.options.get("include_auto") and auto.exists():
                files.append(auto)
            refs.append(self._ref(root, split, vid, manual.parent, files))
        return refs

    def load(self, ref: VideoRef) -> VideoRecord:
        objects: list[TrackedObject] = []
        meta = None
        n_annotated = 0
        for path in ref.files:
            kind = "auto" if path.endswith("_auto.json") else "manual"
            data = _read_json(path)
            m = _video_meta(path, data)
            if meta is None:
                meta = m
            elif m != meta:
                raise SourceError(path, f"video size/length {m} differs from the manual file's {meta}")
            objects += _masklets(path, data, kind, m)
            n_annotated = max(n_annotated, len(data["masklet"]))
        height, width, n_frames, fps, stride = meta
        mp4 = os.path.join(ref.location, f"{ref.video_id}.mp4")
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=n_frames, fps=fps, annotation_fps=fps / stride,
            video_file=mp4 if os.path.exists(mp4) else None, input_files=ref.files,
        )
        annotated = tuple(i * stride for i in range(n_annotated))
        return VideoRecord(video, objects, annotated)


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise SourceError(path, "file is missing") from None
    except json.JSONDecodeError as e:
        raise SourceError(path, f"not valid JSON ({e})") from None


def _video_meta(path: str, data: dict) -> tuple[int, int, int, float, int]:
    try:
        height, width = int(data["video_height"]), int(data["video_width"])
        n_frames = int(data["video_frame_count"])
        duration = float(data["video_duration"])
        data["masklet"], data["masklet_id"]
    except KeyError as e:
        raise SourceError(path, f"missing field {e.args[0]!r}") from None
    except (TypeError, ValueError) as e:
        raise SourceError(path, f"bad video metadata ({e})") from None
    if n_frames <= 0 or duration <= 0:
        raise SourceError(path, f"video_frame_count {n_frames} / video_duration {duration} are not positive")
    fps = round(n_frames / duration, 3)
    stride = int(round(fps / ANNOTATION_FPS))
    if stride < 1 or abs(fps / stride - ANNOTATION_FPS) > 0.05:
        raise SourceError(path, f"video is {fps} fps: annotations cannot be at {ANNOTATION_FPS:g} fps")
    return height, width, n_frames, fps, stride


def _masklets(path: str, data: dict, kind: str, meta) -> list[TrackedObject]:
    height, width, n_frames, _, stride = meta
    ids = [int(i) for i in data["masklet_id"]]
    frames = data["masklet"]
    if (len(frames) - 1) * stride >= n_frames:
        raise SourceError(path, f"{len(frames)} annotated frames do not fit a {n_frames}-frame video")
    objects = [TrackedObject(object_id=str(i) if kind == "manual" else f"auto-{i}", kind="mask") for i in ids]
    for fi, per_obj in enumerate(frames):
        if len(per_obj) != len(ids):
            raise SourceError(path, f"masklet[{fi}] has {len(per_obj)} masks for {len(ids)} masklet ids")
        for obj, rle in zip(objects, per_obj):
            if list(rle.get("size", [])) != [height, width]:
                raise SourceError(path, f"masklet[{fi}] mask size {rle.get('size')} is not [{height}, {width}]")
            rle = M.normalise(rle)
            obj.frames[fi * stride] = FrameAnnotation(visible=M.area(rle) > 0, rle=rle)
    return objects
