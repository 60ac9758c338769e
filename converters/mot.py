"""MOTChallenge sequences: `<split>/<seq>/{seqinfo.ini, gt/gt.txt, img1/}` (MOT15/16/17/20 style).

Rows are `frame,id,left,top,width,height,conf,class,visibility` (1-based frames, ids and pixels).
Pedestrians only, as the format defines:
- conf 0 marks a box to ignore: the row is dropped (a track with only such rows is dropped whole);
- class 1 is a pedestrian; 2 (person on vehicle), 7 (static person), 8 (distractor) and
  12 (reflection) are distractors, 6 too on MOT20: their tracks are dropped as distractors, not
  counted as people; every other class is not a person and its track is dropped;
- MOT15-style rows (10 columns: world x, y, z instead of class and visibility) are all pedestrians,
  fully visible.
A pedestrian box counts as visible when its visibility is at least `min_visibility` (default 0.25):
the visible part of a more occluded person is too small for its full box to prompt or score a mask.
"""

from __future__ import annotations

import configparser
import os
from collections import defaultdict
from pathlib import Path

from pipeline.errors import SourceError
from pipeline.masks import clip_box
from pipeline.records import FrameAnnotation, TrackedObject, Video, VideoRecord

from .base import Converter, VideoRef, parse_numbers, read_text, require_dir

PEDESTRIAN = 1
DISTRACTORS = {2: "person on vehicle", 7: "static person", 8: "distractor", 12: "reflection"}
MOT20_DISTRACTORS = {**DISTRACTORS, 6: "non-motorized vehicle"}
CLASS_NAMES = {3: "car", 4: "bicycle", 5: "motorbike", 6: "non-motorized vehicle", 9: "occluder",
               10: "occluder on the ground", 11: "occluder full", 13: "crowd"}
DEFAULT_MIN_VISIBILITY = 0.25


class MotConverter(Converter):
    name = "mot"
    kind = "box"

    def discover(self, root: str, split: str) -> list[VideoRef]:
        split_dir = os.path.join(root, split)
        require_dir(split_dir, f"MOTChallenge split '{split}'")
        refs = []
        for seq in sorted(p for p in Path(split_dir).iterdir() if p.is_dir()):
            ini, gt = seq / "seqinfo.ini", seq / "gt" / "gt.txt"
            refs.append(self._ref(root, split, seq.name, seq, [ini, gt]))
        return refs

    def load(self, ref: VideoRef) -> VideoRecord:
        ini_path, gt_path = ref.files
        info = read_seqinfo(ini_path)
        frames_dir = os.path.join(ref.location, info["imDir"])
        require_dir(frames_dir, "image")
        n = info["seqLength"]
        frame_files = tuple(f"{i:06d}{info['imExt']}" for i in range(1, n + 1))
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=info["imWidth"],
            height=info["imHeight"], n_frames=n, fps=info["frameRate"], annotation_fps=info["frameRate"],
            frames_dir=frames_dir, frame_files=frame_files, input_files=ref.files,
        )
        rows = parse_gt(gt_path)
        distractors = MOT20_DISTRACTORS if "MOT20" in ref.video_id.upper() else DISTRACTORS
        min_vis = float(ref.option("min_visibility", DEFAULT_MIN_VISIBILITY))
        by_track: dict[int, list[GtRow]] = defaultdict(list)
        for r in rows:
            by_track[r.track].append(r)
        objects, dropped = [], []
        for tid in sorted(by_track):
            track_rows = by_track[tid]
            classes = {r.cls for r in track_rows}
            if classes != {PEDESTRIAN}:
                other = sorted(classes - {PEDESTRIAN})
                reason = ("distractor class " if other[0] in distractors else "not a pedestrian: class ") + \
                    ", ".join(f"{c} ({distractors.get(c) or CLASS_NAMES.get(c, 'unknown')})" for c in other)
                dropped.append((str(tid), reason, f"{len(track_rows)} rows in {gt_path}"))
                continue
            kept = [r for r in track_rows if r.conf != 0]
            if len(kept) < len(track_rows):
                dropped.append((str(tid), "ignore rows (conf 0)", f"{len(track_rows) - len(kept)} of {len(track_rows)} rows"))
            if not kept:
                continue
            obj = TrackedObject(object_id=str(tid), kind="box", category="person")
            for r in kept:
                if not 1 <= r.frame <= n:
                    raise SourceError(gt_path, f"frame {r.frame} outside 1..{n} (seqLength in {ini_path})")
                box = clip_box((r.left - 1, r.top - 1, r.left - 1 + r.width, r.top - 1 + r.height),
                               video.width, video.height)
                visible = box is not None and r.visibility >= min_vis
                obj.frames[r.frame - 1] = FrameAnnotation(visible=visible, box=box)
            objects.append(obj)
        return VideoRecord(video, objects, tuple(range(n)), dropped)


def read_seqinfo(path: str) -> dict:
    parser = configparser.ConfigParser()
    try:
        parser.read_string(read_text(path))
        seq = parser["Sequence"]
        return {
            "name": seq.get("name", ""), "imDir": seq.get("imDir", "img1"),
            "frameRate": float(seq["frameRate"]), "seqLength": int(seq["seqLength"]),
            "imWidth": int(seq["imWidth"]), "imHeight": int(seq["imHeight"]), "imExt": seq.get("imExt", ".jpg"),
        }
    except SourceError:
        raise
    except KeyError as e:
        raise SourceError(path, f"missing [Sequence] key {e}") from None
    except (configparser.Error, ValueError) as e:
        raise SourceError(path, f"unreadable seqinfo ({e})") from None


class GtRow:
    __slots__ = ("frame", "track", "left", "top", "width", "height", "conf", "cls", "visibility")

    def __init__(self, frame, track, left, top, width, height, conf, cls, visibility):
        self.frame, self.track = frame, track
        self.left, self.top, self.width, self.height = left, top, width, height
        self.conf, self.cls, self.visibility = conf, cls, visibility


def parse_gt(path: str) -> list[GtRow]:
    """Parse a MOTChallenge gt.txt (9-column MOT16+ or 10-column MOT15 rows)."""
    rows = []
    for lineno, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        v = parse_numbers(path, line, lineno)
        if len(v) == 9:
            cls, vis = int(v[7]), float(v[8])
        elif len(v) in (6, 7, 10):  # MOT15 (world coords or nothing after conf): all pedestrians
            cls, vis = PEDESTRIAN, 1.0
        else:
            raise SourceError(path, f"line {lineno}: {len(v)} columns, expected 9 (MOT16+) or 10 (MOT15)")
        conf = v[6] if len(v) > 6 else 1.0
        if v[4] < 0 or v[5] < 0:
            raise SourceError(path, f"line {lineno}: negative box size {v[4]}x{v[5]}")
        rows.append(GtRow(int(v[0]), int(v[1]), v[2], v[3], v[4], v[5], conf, cls, vis))
    return rows
