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

Bad rows never stop the sequence: a row whose frame or id is not a whole number, or whose frame is
outside 1..seqLength, is left out; a box that is not finite, has no area, lies outside the image or
is several frames across (`masks.source_box`: a 1e30 width) is kept as "not visible". Each is reported with the file and line. A wrong column count or a
non-numeric field means the file is not a gt.txt, and rejects the sequence.

Dialects are subclasses at the end of this module that change only what differs: SportsMOT
(players; ids from 0), DanceTrack (dancers; 8-digit frames), SoccerNet (10 columns; each track's
role from `gameinfo.ini` is its label), TeamTrack (frames in `img1.mp4`), BFT (birds; no
seqinfo.ini) and AnimalTrack (ten animal classes named by the sequence). Dialects whose columns past
the box are not the MOTChallenge ones (`box_columns_only`) read frame, id and box only: every row
is their object, visible where its box is.
"""

from __future__ import annotations

import configparser
import math
import os
import re
from collections import defaultdict
from pathlib import Path

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages.masks import source_box
from pipeline.stages.records import (
    Dropped,
    FrameAnnotation,
    Query,
    TrackedObject,
    Video,
    VideoRecord,
    category_queries,
)

from pipeline.sources.base import (
    Converter,
    VideoRef,
    check,
    image_size,
    list_frames,
    parse_numbers,
    read_text,
    require_dir,
    source_path,
)

PEDESTRIAN = 1
DISTRACTORS = {2: "person on vehicle", 7: "static person", 8: "distractor", 12: "reflection"}
MOT20_DISTRACTORS = {**DISTRACTORS, 6: "non-motorized vehicle"}
CLASS_NAMES = {3: "car", 4: "bicycle", 5: "motorbike", 6: "non-motorized vehicle", 9: "occluder",
               10: "occluder on the ground", 11: "occluder full", 13: "crowd"}
DEFAULT_MIN_VISIBILITY = 0.25


class MotConverter(Converter):
    """MOTChallenge, and through class attributes its dialects (SportsMOT, DanceTrack, SoccerNet,
    TeamTrack): where the sequences are, how frames are named, and what the objects are called."""

    name = "mot"
    title = "MOTChallenge"
    kind = "box"
    OPTIONS = {"min_visibility": ((float, int), DEFAULT_MIN_VISIBILITY,
                                  "a box is visible when its visibility column is at least this")}
    label = "person"  # every kept object's category (the dataset's own word for what it annotates)
    frame_digits: tuple[int, ...] = (6,)  # zero padding of the 1-based frame names; the first that exists
    video_file: str | None = None  # a video beside gt/ instead of frames (TeamTrack's img1.mp4)
    box_columns_only = False  # read frame, id, box; the columns after them are not MOTChallenge's
    side_files: tuple[str, ...] = ()  # more per-sequence files load() reads (SoccerNet's gameinfo.ini)

    def sequences(self, root: str, split: str) -> list[tuple[str, Path]]:
        """(video id, folder) of each sequence of the split: `<root>/<split>/<seq>/`."""
        split_dir = os.path.join(root, split)
        require_dir(split_dir, f"{self.title} split '{split}'")
        return [(seq.name, seq) for seq in sorted(p for p in Path(split_dir).iterdir() if p.is_dir())]

    def discover(self, root: str, split: str) -> list[VideoRef]:
        refs = []
        for video_id, seq in self.sequences(root, split):
            files = [seq / "seqinfo.ini", seq / "gt" / "gt.txt", *(seq / f for f in self.side_files)]
            refs.append(self._ref(root, split, video_id, seq, files))
        return refs

    def _frames(self, ref: VideoRef, info: dict) -> dict:
        """The Video fields that say where the pixels are."""
        if self.video_file:
            path = os.path.join(ref.location, self.video_file)
            source_path(path, ref.root)
            return {"video_file": path}
        frames_dir = os.path.join(ref.location, info["imDir"])
        require_dir(frames_dir, "image")
        source_path(frames_dir, ref.root)
        digits = next((d for d in self.frame_digits
                       if os.path.exists(os.path.join(frames_dir, f"{1:0{d}d}{info['imExt']}"))), None)
        if digits is None:  # another padding: the folder's images by the number in their names
            found = list_frames(frames_dir, ref.root)
            if len(found) == info["seqLength"]:
                return {"frames_dir": frames_dir, "frame_files": found}
            digits = self.frame_digits[0]
        files = tuple(f"{i:0{digits}d}{info['imExt']}" for i in range(1, info["seqLength"] + 1))
        return {"frames_dir": frames_dir, "frame_files": files}

    def labels(self, ref: VideoRef, track_ids: list[int]) -> tuple[dict[int, str], list[Dropped]]:
        """Each track's category, and the tracks that have none (left out, with the reason)."""
        return {t: self.label for t in track_ids}, []

    def seq_info(self, ref: VideoRef) -> dict:
        """frameRate, seqLength, imWidth, imHeight, imDir, imExt of the sequence (its seqinfo.ini)."""
        return read_seqinfo(ref.files[0], ref.root)

    def gt_file(self, ref: VideoRef) -> str:
        return ref.files[1]

    def load(self, ref: VideoRef) -> VideoRecord:
        gt_path = self.gt_file(ref)
        source_path(ref.location, ref.root)
        info = self.seq_info(ref)
        n = info["seqLength"]
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=info["imWidth"],
            height=info["imHeight"], n_frames=n, fps=info["frameRate"], annotation_fps=info["frameRate"],
            input_files=ref.files, root=ref.root, **self._frames(ref, info),
        )
        rows, dropped = parse_gt(gt_path, ref.root, n, box_only=self.box_columns_only)
        if not rows:
            raise SourceError(gt_path, "no annotation rows" + (f" ({len(dropped)} unusable)" if dropped else ""))
        distractors = MOT20_DISTRACTORS if "MOT20" in ref.video_id.upper() else DISTRACTORS
        min_vis = float(ref.option("min_visibility", DEFAULT_MIN_VISIBILITY))
        by_track: dict[int, list[GtRow]] = defaultdict(list)
        for r in rows:
            by_track[r.track].append(r)
        labels, unlabelled = self.labels(ref, sorted(by_track))
        dropped += unlabelled
        objects = []
        for tid in sorted(t for t in by_track if t in labels):
            track_rows = by_track[tid]
            classes = {r.cls for r in track_rows}
            if classes != {PEDESTRIAN}:
                other = sorted(classes - {PEDESTRIAN})
                reason = ("distractor class " if other[0] in distractors else "not a pedestrian: class ") + \
                    ", ".join(f"{c} ({distractors.get(c) or CLASS_NAMES.get(c, 'unknown')})" for c in other)
                dropped.append(Dropped(reason, f"{len(track_rows)} rows", str(tid), file=gt_path))
                continue
            kept = [r for r in track_rows if r.conf != 0]
            if len(kept) < len(track_rows):
                dropped.append(Dropped("ignore rows (conf 0)", f"{len(track_rows) - len(kept)} of {len(track_rows)} rows",
                                       str(tid), file=gt_path))
            if not kept:
                continue
            obj = TrackedObject(object_id=str(tid), kind="box", category=labels[tid])
            for r in kept:
                box, problem = _box(r, video.width, video.height)
                if problem:
                    dropped.append(Dropped(problem, f"{r.left},{r.top},{r.width},{r.height}: kept as not visible",
                                           str(tid), "frame", r.frame - 1, gt_path, r.line))
                obj.frames[r.frame - 1] = FrameAnnotation(visible=box is not None and r.visibility >= min_vis, box=box)
            objects.append(obj)
        return VideoRecord(video, objects, tuple(range(n)), dropped)


def _box(r: "GtRow", width: int, height: int):
    """(clipped 0-based box or None, problem or None) for one gt row (MOTChallenge boxes are 1-based)."""
    return source_box(r.left - 1, r.top - 1, r.left - 1 + r.width, r.top - 1 + r.height, width, height)


def read_seqinfo(path: str, root: str | None = None) -> dict:
    parser = configparser.ConfigParser()
    try:
        parser.read_string(read_text(path, root=root))
        seq = parser["Sequence"]
        raw = {k: seq[k] for k in ("frameRate", "seqLength", "imWidth", "imHeight")}
        im_dir, im_ext = seq.get("imDir", "img1"), seq.get("imExt", ".jpg")
    except SourceError:
        raise
    except KeyError as e:
        raise SourceError(path, f"missing [Sequence] key {e}") from None
    except configparser.Error as e:
        raise SourceError(path, f"unreadable seqinfo ({str(e).splitlines()[0]})") from None
    width, height = check(path, checks.frame_size, raw["imWidth"], raw["imHeight"], "imWidth/imHeight: image")
    info = {
        "name": seq.get("name", ""),
        "imDir": check(path, checks.relative_path, im_dir, "imDir"),
        "frameRate": check(path, checks.frame_rate, raw["frameRate"], "frameRate"),
        "seqLength": check(path, checks.frame_count, raw["seqLength"], "seqLength"),
        "imWidth": width, "imHeight": height, "imExt": im_ext,
    }
    if "/" in im_ext or "\\" in im_ext or not im_ext.startswith("."):
        raise SourceError(path, f"imExt {im_ext!r} is not a file extension such as .jpg")
    return info


class GtRow:
    __slots__ = ("frame", "track", "left", "top", "width", "height", "conf", "cls", "visibility", "line")

    def __init__(self, frame, track, left, top, width, height, conf, cls, visibility, line=0):
        self.frame, self.track = frame, track
        self.left, self.top, self.width, self.height = left, top, width, height
        self.conf, self.cls, self.visibility = conf, cls, visibility
        self.line = line


def parse_gt(path: str, root: str | None = None, n_frames: int | None = None,
             box_only: bool = False) -> tuple[list[GtRow], list[Dropped]]:
    """Parse a MOTChallenge gt.txt (9-column MOT16+ or 10-column MOT15 rows); `box_only`: at least
    6 columns, of which frame, id and box are read (every row a visible object of the dialect).

    Returns the usable rows and what was left out (row-level `Dropped` with file and line)."""
    rows, dropped = [], []
    for lineno, line in enumerate(read_text(path, root=root).splitlines(), 1):
        if not line.strip():
            continue
        v = parse_numbers(path, line, lineno)
        if box_only:
            if len(v) < 6:
                raise SourceError(path, f"line {lineno}: {len(v)} columns, expected frame, id, x, y, w, h")
            v = v[:6]
            cls, vis = PEDESTRIAN, 1.0
        elif len(v) == 9:
            cls, vis = v[7], v[8]
        elif len(v) in (6, 7, 10):  # MOT15 (world coords or nothing after conf): all pedestrians
            cls, vis = PEDESTRIAN, 1.0
        else:
            raise SourceError(path, f"line {lineno}: {len(v)} columns, expected 9 (MOT16+) or 10 (MOT15)")
        conf = v[6] if len(v) > 6 else 1.0
        bad = _bad_row(v[0], v[1], conf, cls, vis, n_frames)
        if bad:
            dropped.append(Dropped(bad, line.strip()[:80], None, "frame", None, path, lineno))
            continue
        rows.append(GtRow(int(v[0]), int(v[1]), v[2], v[3], v[4], v[5], conf, int(cls), vis, lineno))
    return rows, dropped


def _bad_row(frame, track, conf, cls, vis, n_frames) -> str | None:
    for value, what in ((frame, "frame"), (track, "id"), (cls, "class")):
        if not math.isfinite(value) or value != int(value):
            return f"{what} is not a whole number: row left out"
    if not (math.isfinite(conf) and math.isfinite(vis)):
        return "conf or visibility is not finite: row left out"
    if n_frames is not None and not 1 <= frame <= n_frames:
        return f"frame {int(frame)} outside 1..{n_frames} (seqLength): row left out"
    return None


# -- dialects ----------------------------------------------------------------------------------------

class SportsMotConverter(MotConverter):
    """SportsMOT (`dataset/{train,val,test}/<seq>/`): `", "` separators, track ids from 0, every row
    `1, 1, 1` in the last columns; players of basketball, football and volleyball."""

    name = "sportsmot"
    title = "SportsMOT"
    label = "player"


class DanceTrackConverter(MotConverter):
    """DanceTrack (`dancetrack/{train,val,test}/dancetrackNNNN/`): 8-digit frame names, dancers."""

    name = "dancetrack"
    title = "DanceTrack"
    label = "dancer"
    frame_digits = (8, 6)


class TeamTrackConverter(MotConverter):
    """TeamTrack's MOT variant (`teamtrack-mot/<sport_view>/<split>/<seq>/`): an empty `img1/` and
    the frames in `img1.mp4`, decoded at the sampled frames only. Video ids are `<sport_view>/<seq>`.
    The root may be the folder holding `teamtrack-mot/` (the Kaggle archive nests it twice); a
    sequence without its `img1.mp4` is rejected alone, naming the file."""

    name = "teamtrack"
    title = "TeamTrack"
    label = "player"
    video_file = "img1.mp4"

    def sequences(self, root: str, split: str) -> list[tuple[str, Path]]:
        require_dir(root, "TeamTrack root")
        base = Path(root)
        while (base / "teamtrack-mot").is_dir():  # the Kaggle archive nests teamtrack-mot/teamtrack-mot/
            base = base / "teamtrack-mot"
        found = [(f"{view.name}/{seq.name}", seq) for view in sorted(base.iterdir()) if view.is_dir()
                 for seq in sorted((view / split).glob("*")) if seq.is_dir()]
        if not found:
            raise SourceError(root, f"no <sport_view>/{split}/<sequence>/ folders (teamtrack-mot layout)")
        return found


ROLE_WORDS = {"goalkeepers": "goalkeeper", "players": "player", "referees": "referee"}


class SoccerNetConverter(MotConverter):
    """SoccerNet tracking (`tracking/{train,test,challenge}/SNMOT-NNN/`): 10-column gt rows (the last
    three -1), and each track's role in `gameinfo.ini` (`trackletID_<id>= <role>;<jersey or side>`):
    "player team left", "goalkeeper team right", "referee", "ball". The role is the label; the
    plural spelling some files use ("goalkeepers team left") is read as the singular."""

    name = "soccernet"
    title = "SoccerNet tracking"
    label = "player"
    side_files = ("gameinfo.ini",)

    def labels(self, ref: VideoRef, track_ids: list[int]) -> tuple[dict[int, str], list[Dropped]]:
        path = ref.files[2]
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(read_text(path, root=ref.root))
        except configparser.Error as e:
            raise SourceError(path, f"unreadable gameinfo ({str(e).splitlines()[0]})") from None
        roles = {}
        for section in parser.sections():
            for key, value in parser[section].items():
                if key.startswith("trackletid_") and key[11:].isdigit():
                    role = " ".join(ROLE_WORDS.get(w, w) for w in value.split(";")[0].lower().split())
                    if role:
                        roles[int(key[11:])] = role
        labels = {t: roles[t] for t in track_ids if t in roles}
        missing = [Dropped("no role in gameinfo.ini", f"track {t} has no trackletID_{t} entry", str(t), file=path)
                   for t in track_ids if t not in roles]
        return labels, missing


class BftConverter(MotConverter):
    """BFT (Bird Flock Tracking, NetTrack): rows in `annotations_mot/<split>/<seq>.txt` and the
    frames directly in `<split>/<seq>/` (`000001.jpg`, 6 digits from 1), with no seqinfo.ini: the
    size comes from the first frame and the rate from `frame_fps`. No real file is public; two
    readers agree on this layout: MCG-NJU/MOTIP (tools/gen_bft_gts.py reads `int()` of the first six
    comma-separated columns and ignores the rest; data/bft.py names frames `%06d.jpg`) and
    NetTrack's README (annotations made with DarkLabel). So only frame, id and box are read."""

    name = "bft"
    title = "BFT"
    label = "bird"
    box_columns_only = True
    OPTIONS = {**MotConverter.OPTIONS,
               "frame_fps": ((int, float), 25.0, "frame rate of the frames (BFT ships no seqinfo.ini)")}

    def discover(self, root: str, split: str) -> list[VideoRef]:
        folder = os.path.join(root, "annotations_mot", split)
        require_dir(folder, f"{self.title} annotations_mot/{split}")
        return [self._ref(root, split, gt.stem, os.path.join(root, split, gt.stem), [gt])
                for gt in sorted(Path(folder).glob("*.txt"))]

    def gt_file(self, ref: VideoRef) -> str:
        return ref.files[0]

    def seq_info(self, ref: VideoRef) -> dict:
        names = list_frames(ref.location, ref.root)
        width, height = image_size(os.path.join(ref.location, names[0]), ref.root)
        fps = check(ref.location, checks.frame_rate, ref.option("frame_fps", 25.0), "frame_fps")
        return {"frameRate": fps, "seqLength": len(names), "imWidth": width, "imHeight": height,
                "frame_files": names}

    def _frames(self, ref: VideoRef, info: dict) -> dict:
        return {"frames_dir": ref.location, "frame_files": info["frame_files"]}


ANIMALTRACK_CLASSES = ("chicken", "deer", "dolphin", "duck", "goose", "horse", "penguin", "pig", "rabbit", "zebra")


class AnimalTrackConverter(MotConverter):
    """AnimalTrack (Zhang et al., IJCV 2022): `<root>/{train,test}/<class>_<n>/{seqinfo.ini, gt/gt.txt}`,
    32 train and 26 test sequences of ten animal classes, 30 fps, mostly 2560x1440.

    Checked against real files: all 58 `seqinfo.ini` of the release (byte copies in
    eelnowes231/TrackEval@dd80af7, branch sewon) give `imDir=<sequence name>` (not img1) and
    `frameRate=30`; the gt rows there (428,766, the paper's ~429K boxes) are 1-based frames 1..seqLength
    and ids, one class per sequence, boxes that run past the image. That copy rewrote every row as
    `frame,id,x,y,w,h,1,-1,-1,-1` (its convert_gt_format.py says the release rows are the 9-column
    `frame,id,x,y,w,h,conf,class,visibility`, with class values it does not give), so only frame, id
    and box are read and the class is the sequence's (`duck_3` -> duck). Frames: the `imDir` folder
    (any zero padding), else `img1/`, else a video `<sequence>.mp4` in the sequence or split folder
    (the tracker scripts there take `duck_5.mp4`)."""

    name = "animaltrack"
    title = "AnimalTrack"
    label = "animal"
    box_columns_only = True
    frame_digits = (6, 8, 5, 4, 7)

    def labels(self, ref: VideoRef, track_ids: list[int]) -> tuple[dict[int, str], list[Dropped]]:
        animal = ref.video_id.rsplit("_", 1)[0].lower()
        if animal not in ANIMALTRACK_CLASSES:
            raise SourceError(ref.location, f"sequence {ref.video_id!r} is not <class>_<n> with a class of "
                              f"{', '.join(ANIMALTRACK_CLASSES)}")
        return {t: animal for t in track_ids}, []

    def _frames(self, ref: VideoRef, info: dict) -> dict:
        for folder in (info["imDir"], "img1"):
            if os.path.isdir(os.path.join(ref.location, folder)):
                return super()._frames(ref, {**info, "imDir": folder})
        for video in (os.path.join(ref.location, f"{ref.video_id}.mp4"),
                      os.path.join(os.path.dirname(ref.location), f"{ref.video_id}.mp4")):
            if os.path.isfile(video):
                source_path(video, ref.root)
                return {"video_file": video}
        raise SourceError(ref.location, f"no frames: neither {info['imDir']}/ nor img1/ nor {ref.video_id}.mp4")


UAVDT_CATEGORIES = {1: "car", 2: "truck", 3: "bus"}
# The toolkit's test sequences (UAV-benchmark-MOTD_v1.0 utils/CalculateDetectionPR_seq.m); the
# other 30 of the 50 are the training set.
UAVDT_TEST = ("M0203", "M0205", "M0208", "M0209", "M0403", "M0601", "M0602", "M0606", "M0701", "M0801", "M0802",
              "M1001", "M1004", "M1007", "M1009", "M1101", "M1301", "M1302", "M1303", "M1401")
UAVDT_HIDDEN = 2  # out-of-view 2 = medium-out, occlusion 2 = large-occ: not visible


class UavdtConverter(Converter):
    """UAVDT's multi-object part (Du et al., ECCV 2018; the seed's "UAV-MOTD"): frames
    `UAV-benchmark-M/<seq>/img000001.jpg` (1024x540, 30 fps), boxes in the toolkit's
    `UAV-benchmark-MOTD_v1.0/GT/<seq>_gt_whole.txt` (or a `GT/` folder at the root):
    `frame,id,x,y,w,h,out-of-view,occlusion,category`, 1-based frames, boxes in pixels;
    out-of-view 1 none / 2 medium / 3 small, occlusion 1 none / 2 large / 3 medium / 4 small,
    category 1 car / 2 truck / 3 bus. A box is visible unless out-of-view or occlusion is 2 (a
    medium part out of view, a large part covered), as SwinTrack's reader marks them. A track that
    changes category (36 in the release) takes its most frequent one, reported. `<seq>_gt_ignore.txt`
    marks regions whose vehicles nobody annotated, so the source gives no count rows. Splits: `test`
    is the toolkit's 20 sequences, `train` the other 30 (or the names in `M_attr/<split>/`), `all`
    every one."""

    name = "uavdt"
    title = "UAVDT"
    kind = "box"
    OPTIONS = {"frame_fps": ((int, float), 30.0, "frame rate of the frames (30: the paper's)")}

    def folders(self, root: str) -> tuple[Path, Path]:
        """(the sequences' folder, the GT folder)."""
        base = Path(root)
        # tensorbay's loader docstring names the frames' folder UAVDT_Benchmark_M (its code reads UAV-benchmark-M)
        frames = next((p for p in (base / "UAV-benchmark-M", base / "UAVDT_Benchmark_M") if p.is_dir()), base)
        gt = next((p for p in (base / "UAV-benchmark-MOTD_v1.0" / "GT", base / "GT") if p.is_dir()), None)
        if gt is None:
            raise SourceError(root, "no GT folder (UAV-benchmark-MOTD_v1.0/GT/ or GT/ with <seq>_gt_whole.txt)")
        return frames, gt

    def split_names(self, root: str, split: str, present: list[str]) -> list[str]:
        attr = Path(root) / "M_attr" / split
        if attr.is_dir():
            wanted = {p.name.split("_attr")[0] for p in attr.glob("*_attr.txt")}
            return [s for s in present if s in wanted]
        if split == "all":
            return present
        if split == "test":
            return [s for s in present if s in UAVDT_TEST]
        if split == "train":
            return [s for s in present if s not in UAVDT_TEST]
        raise SourceError(root, f"UAVDT split {split!r}: use train, test or all (or an M_attr/{split}/ folder)")

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, "UAVDT root")
        frames, gt = self.folders(root)
        # Every sequence folder is a video of the split: one without its ground truth is a rejected
        # video naming the missing file, not a silent gap.
        present = sorted(p.name for p in frames.iterdir() if p.is_dir() and re.fullmatch(r"M\d{4}", p.name))
        return [self._ref(root, split, seq, frames / seq, [gt / f"{seq}_gt_whole.txt"])
                for seq in self.split_names(root, split, present)]

    def load(self, ref: VideoRef) -> VideoRecord:
        (gt_path,) = ref.files
        if not os.path.lexists(gt_path):
            raise SourceError(gt_path, "file is missing: the sequence's frames have no ground truth")
        names = list_frames(ref.location, ref.root)
        width, height = image_size(os.path.join(ref.location, names[0]), ref.root)
        fps = check(ref.location, checks.frame_rate, ref.option("frame_fps", 30.0), "frame_fps")
        n = len(names)
        dropped: list[Dropped] = []
        rows: dict[str, list] = defaultdict(list)
        for lineno, line in enumerate(read_text(gt_path, root=ref.root).splitlines(), 1):
            if not line.strip():
                continue
            v = parse_numbers(gt_path, line, lineno)
            if len(v) != 9:
                raise SourceError(gt_path, f"line {lineno}: {len(v)} columns, expected frame,id,x,y,w,h,"
                                  "out-of-view,occlusion,category")
            frame, track, x, y, w, h, oov, occ, cat = v
            problem = _bad_row(frame, track, 1.0, cat, 1.0, n)
            if problem is None and int(cat) not in UAVDT_CATEGORIES:
                problem = f"category {cat:g} is not 1 (car), 2 (truck) or 3 (bus): row left out"
            if problem:
                dropped.append(Dropped(problem, line.strip()[:80], None, "frame", None, gt_path, lineno))
                continue
            rows[str(int(track))].append((int(frame) - 1, x, y, w, h, oov, occ, int(cat), lineno))
        if not rows:
            raise SourceError(gt_path, "no annotation rows" + (f" ({len(dropped)} unusable)" if dropped else ""))
        objects = []
        for tid in sorted(rows, key=int):
            cats = [r[7] for r in rows[tid]]
            cat = max(sorted(set(cats)), key=cats.count)
            if len(set(cats)) > 1:
                dropped.append(Dropped("track changes category", f"{', '.join(UAVDT_CATEGORIES[c] for c in sorted(set(cats)))}: "
                                       f"{UAVDT_CATEGORIES[cat]} (the most frequent) kept", tid, file=gt_path))
            obj = TrackedObject(tid, "box", category=UAVDT_CATEGORIES[cat], number=int(tid))
            for frame, x, y, w, h, oov, occ, _, lineno in rows[tid]:
                box, problem = source_box(x, y, x + w, y + h, width, height)
                if problem:
                    dropped.append(Dropped(problem, f"{x:g},{y:g},{w:g},{h:g}: kept as not visible", tid, "frame",
                                           frame, gt_path, lineno))
                obj.frames[frame] = FrameAnnotation(visible=box is not None and UAVDT_HIDDEN not in (oov, occ), box=box)
            objects.append(obj)
        video = Video(source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
                      n_frames=n, fps=fps, annotation_fps=fps, frames_dir=ref.location, frame_files=names,
                      input_files=ref.files, root=ref.root)
        # Vehicles inside the ignore regions are not annotated: a count would be short of the truth.
        queries = [Query(q.query_id, q.text, q.object_ids, q.type, countable=False) for q in category_queries(objects)]
        return VideoRecord(video, objects, tuple(range(n)), dropped, queries=queries)
