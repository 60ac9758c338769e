"""ViCaS (Athar, Deng and Chen, CVPR 2025: captions with grounded segmentation): one JSON per video.

    <root>/annotations/<version>/<video id, 6 digits>.json
    <root>/splits/<version>/{train,val,test}.json          lists of integer video ids
    <root>/video_frames/<video id>/00000.jpg ...            the video decoded at 30 fps (the authors' script)
    or <root>/videos*/<video id>_<original name>.mp4        the video itself (the Hub copy splits them over videos/, videos2/, ...)

A video's JSON (keys as the authors' `vicas/dataset.py` reads them): `video_id`, `filename` (its
mp4), `image_size` `[height, width]`, `object_referrals` `[{prompt, track_ids}]`,
`segmentations` `[{filename: "<frame>.jpg", is_gt, track_ids, mask_rles}]`, where `mask_rles[j]`
is the COCO RLE of `track_ids[j]` on that frame (a track absent from a frame's list is not
visible there). `is_gt` frames are annotated by people (1 fps); the others are SAM 2's automatic
masks at 30 fps, read only with the option `include_auto` (the benchmark scores the human ones).
Each referral is a referring query over its tracks (track, ground and single_point_track rows);
the grounded captions are not read. Version: option `version` (v1.0, the full release; v0.1).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.sources.base import (
    Converter,
    VideoRef,
    annotation_rate,
    check,
    list_frames,
    read_json,
    require_dir,
    source_path,
    video_file_info,
)
from pipeline.stages import masks as M
from pipeline.stages.records import Dropped, FrameAnnotation, Query, TrackedObject, Video, VideoRecord

FRAME_FPS = 30.0  # the authors' video_to_frames.sh decodes every video at 30 fps


class VicasConverter(Converter):
    name = "vicas"
    title = "ViCaS"
    kind = "mask"
    molmo2 = {"ViCaS": {"train": ("train",)}}
    OPTIONS = {"version": (str, "v1.0", "annotation version (v1.0, v0.1)"),
               "include_auto": (bool, False, "also read SAM 2's automatic masks (is_gt false, 30 fps)")}

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, "ViCaS root")
        version = self.options["version"]
        annotations = os.path.join(root, "annotations", version)
        require_dir(annotations, f"ViCaS annotations/{version}")
        listing = os.path.join(root, "splits", version, f"{split}.json")
        ids = read_json(listing, root)
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise SourceError(listing, "expected a JSON list of integer video ids")
        refs = []
        for i in sorted(set(ids)):
            vid = f"{i:06d}"
            path = os.path.join(annotations, f"{vid}.json")
            if not os.path.exists(path) and os.path.exists(os.path.join(annotations, f"{i:05d}.json")):
                path = os.path.join(annotations, f"{i:05d}.json")  # the README's example names 5 digits
            refs.append(self._ref(root, split, vid, os.path.join(root, "video_frames", vid), [path]))
        return refs

    def _pixels(self, ref: VideoRef, data: dict, path: str) -> tuple[dict, int, float]:
        """The Video fields that say where the frames are, their number and rate: the decoded frames
        folder, else the video file the JSON names (in any `videos*` folder)."""
        if os.path.isdir(ref.location):
            names = list_frames(ref.location, ref.root)
            return {"frames_dir": ref.location, "frame_files": names}, len(names), FRAME_FPS
        filename = data.get("filename")
        if isinstance(filename, str) and filename:
            for folder in sorted(p for p in Path(ref.root).glob("videos*") if p.is_dir()):
                video = folder / filename
                if video.is_file():
                    source_path(str(video), ref.root)
                    _, _, n, fps = video_file_info(str(video), ref.root)
                    return {"video_file": str(video)}, n, fps
        raise SourceError(ref.location, f"no frames: neither video_frames/{ref.video_id}/ nor videos*/{filename}")

    def load(self, ref: VideoRef) -> VideoRecord:
        (path,) = ref.files
        data = read_json(path, ref.root)
        if not isinstance(data, dict):
            raise SourceError(path, f"top level is a JSON {type(data).__name__}, expected an object")
        size = data.get("image_size")
        if not isinstance(size, list) or len(size) != 2:
            raise SourceError(path, "image_size is not [height, width]")
        width, height = check(path, checks.frame_size, size[1], size[0], "image_size")
        pixels, n_frames, fps = self._pixels(ref, data, path)
        segs = data.get("segmentations")
        if not isinstance(segs, list):
            raise SourceError(path, "no segmentations list")
        objects: dict[str, TrackedObject] = {}
        annotated, dropped = set(), []
        for k, seg in enumerate(segs):
            if not isinstance(seg, dict) or not isinstance(seg.get("filename"), str):
                raise SourceError(path, f"segmentations[{k}] has no filename")
            if not seg.get("is_gt") and not self.options["include_auto"]:
                continue
            digits = re.findall(r"\d+", seg["filename"])
            if not digits:
                raise SourceError(path, f"segmentations[{k}]: frame {seg['filename']!r} has no number")
            frame = int(digits[-1])
            if not 0 <= frame < n_frames:
                dropped.append(Dropped(f"frame {frame} outside the video's {n_frames}", f"segmentations[{k}]: left out",
                                       level="frame", file=path))
                continue
            tracks, rles = seg.get("track_ids") or [], seg.get("mask_rles") or []
            if not isinstance(tracks, list) or not isinstance(rles, list) or len(tracks) != len(rles):
                raise SourceError(path, f"segmentations[{k}]: track_ids and mask_rles differ in length")
            annotated.add(frame)
            for tid, rle in zip(tracks, rles):
                tid = str(check(path, checks.whole, tid, f"segmentations[{k}] track id"))
                try:
                    rle = M.check_rle(rle, height, width, check_runs=False)
                except ValueError as e:
                    raise SourceError(path, f"segmentations[{k}] ({seg['filename']}), track {tid}: {e}") from None
                obj = objects.setdefault(tid, TrackedObject(tid, "mask", number=int(tid)))
                obj.frames[frame] = FrameAnnotation(visible=M.area(rle) > 0, rle=rle)
        for obj in objects.values():  # annotated where another track is: not visible there
            for frame in annotated - set(obj.frames):
                obj.frames[frame] = FrameAnnotation(visible=False)
        queries = []
        for k, ref_ in enumerate(data.get("object_referrals") or []):
            prompt, tids = (ref_ or {}).get("prompt"), (ref_ or {}).get("track_ids")
            if not isinstance(prompt, str) or not prompt.strip() or not isinstance(tids, list):
                dropped.append(Dropped("referral without a prompt or track_ids", f"object_referrals[{k}]", level="row",
                                       file=path))
                continue
            ids = tuple(str(t) for t in tids if str(t) in objects)
            if len(ids) != len(tids):
                dropped.append(Dropped("referral names a track with no mask", f"object_referrals[{k}]: {tids}",
                                       level="row", file=path))
                continue
            queries.append(Query(str(k), " ".join(prompt.split()), ids, "referring"))
        if not annotated:
            raise SourceError(path, "no annotated frame" + ("" if self.options["include_auto"] else
                                                            " (is_gt true; include_auto reads SAM 2's masks)"))
        video = Video(source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
                      n_frames=n_frames, fps=fps, annotation_fps=annotation_rate(fps, tuple(sorted(annotated))),
                      input_files=ref.files, root=ref.root, **pixels)
        return VideoRecord(video, sorted(objects.values(), key=lambda o: int(o.object_id)), tuple(sorted(annotated)),
                           dropped, queries=queries)
