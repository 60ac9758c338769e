"""SA-V training layout: `<id>_manual.json` (+ `<id>_auto.json`, optional `<id>.mp4`).

`masklet[i][k]` is the COCO RLE of masklet k on the i-th annotated frame; annotated frames are every
(fps / 6)-th frame of the video (6 fps of 24 fps). A masklet is visible where its mask is non-empty.
SA-V has no category or expression, so its objects are unlabelled (single-point-track rows only).
Size, count and fps come from the JSON; the `<id>.mp4` beside it is needed only to write the rows'
videos. Every number is checked (finite, in range) and every RLE is checked against the frame size
before it is decoded (see `pipeline.stages.masks.check_rle`).
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages import masks as M
from pipeline.stages.records import FrameAnnotation, TrackedObject, Video, VideoRecord

from pipeline.sources.base import Converter, VideoRef, check, read_json, require_dir, source_path

ANNOTATION_FPS = 6.0


class SavConverter(Converter):
    name = "sav"
    kind = "mask"
    OPTIONS = {"include_auto": (bool, False, "also read the automatic masklets (<id>_auto.json)")}

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
            data = read_json(path, ref.root)
            if not isinstance(data, dict):
                raise SourceError(path, f"top level is a JSON {type(data).__name__}, expected an object")
            m = _video_meta(path, data)
            if meta is None:
                meta = m
            elif m != meta:
                raise SourceError(path, f"video size/length {m} differs from the manual file's {meta}")
            objects += _masklets(path, data, kind, m)
            n_annotated = max(n_annotated, len(data["masklet"]))
        height, width, n_frames, fps, stride = meta
        mp4 = os.path.join(ref.location, f"{ref.video_id}.mp4")
        if os.path.lexists(mp4):
            source_path(mp4, ref.root)
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=n_frames, fps=fps, annotation_fps=fps / stride,
            video_file=mp4, input_files=ref.files, root=ref.root,
        )
        annotated = tuple(i * stride for i in range(n_annotated))
        return VideoRecord(video, objects, annotated)


def _video_meta(path: str, data: dict) -> tuple[int, int, int, float, int]:
    missing = [k for k in ("video_height", "video_width", "video_frame_count", "video_duration", "masklet",
                           "masklet_id") if k not in data]
    if missing:
        raise SourceError(path, f"missing field {missing[0]!r}")
    width, height = check(path, checks.frame_size, data["video_width"], data["video_height"], "video")
    n_frames = check(path, checks.frame_count, data["video_frame_count"], "video_frame_count")
    duration = check(path, checks.finite, data["video_duration"], "video_duration", 0.0, None)
    if duration <= 0:
        raise SourceError(path, f"video_duration {data['video_duration']!r} is not positive")
    fps = check(path, checks.frame_rate, round(n_frames / duration, 3), "frame rate (video_frame_count / video_duration)")
    stride = int(round(fps / ANNOTATION_FPS))
    if stride < 1 or abs(fps / stride - ANNOTATION_FPS) > 0.05:
        raise SourceError(path, f"video is {fps} fps: annotations cannot be at {ANNOTATION_FPS:g} fps")
    return height, width, n_frames, fps, stride


def _masklets(path: str, data: dict, kind: str, meta) -> list[TrackedObject]:
    height, width, n_frames, _, stride = meta
    raw_ids, frames = data["masklet_id"], data["masklet"]
    if not isinstance(raw_ids, list) or not isinstance(frames, list):
        raise SourceError(path, "masklet_id and masklet must be JSON lists")
    ids = [check(path, checks.whole, i, f"masklet_id[{k}]") for k, i in enumerate(raw_ids)]
    if len(set(ids)) != len(ids):
        raise SourceError(path, f"masklet_id holds duplicates: {ids}")
    if (len(frames) - 1) * stride >= n_frames:
        raise SourceError(path, f"{len(frames)} annotated frames do not fit a {n_frames}-frame video")
    objects = [TrackedObject(object_id=str(i) if kind == "manual" else f"auto-{i}", kind="mask") for i in ids]
    checked = []  # (object, frame, RLE)
    for fi, per_obj in enumerate(frames):
        if not isinstance(per_obj, list) or len(per_obj) != len(ids):
            got = f"{len(per_obj)} masks" if isinstance(per_obj, list) else f"a JSON {type(per_obj).__name__}"
            raise SourceError(path, f"masklet[{fi}] has {got} for {len(ids)} masklet ids")
        for k, (obj, rle) in enumerate(zip(objects, per_obj)):
            try:
                checked.append((obj, fi * stride, M.check_rle(rle, height, width, check_runs=False)))
            except ValueError as e:
                raise SourceError(path, f"masklet[{fi}][{k}]: {e}") from None
    for (obj, frame, rle), pixels in zip(checked, M.areas([rle for _, _, rle in checked])):
        obj.frames[frame] = FrameAnnotation(visible=pixels > 0, rle=rle)
    return objects
