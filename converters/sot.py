"""Single-object tracking folders: one sequence per folder, one `x,y,w,h` box per frame.

LaSOT, GOT-10k, TrackingNet, TNL2K, VastTrack, WebUAV-3M, WebUOT-1M and UW-COT220 share the shape
and differ in small things, each a class attribute or a short method of a subclass here:
- where the sequences are (`sequences`), what the box file is called (`gt_names`), where the
  frames are (`frame_dirs`; a root-level preview image such as WebUOT's `00000001.jpg` is never a
  frame because only these folders are listed);
- which frames the object is not visible on (`hidden`): LaSOT's occlusion flags, GOT-10k's
  `absence.label`/`cover.label`, WebUAV's `absent.txt`, and `0,0,0,0` rows everywhere;
- what the object is called (`query`): the sentence where the set has one (`nlp.txt`,
  `language.txt`: a referring query, so point/count rows ask about it with count 1), else the class
  (GOT-10k `meta_info.ini`: track rows only, since other objects of the class are unannotated),
  else nothing (TrackingNet: single-point tracks only).

Boxes: no set states its origin, so they are read as 0-based pixels and clipped to the frame (negative
x is common in TrackingNet and TNL2K). A box that is NaN, has no area or is several frames across
(`masks.source_box`) on a frame flagged visible is kept as "not visible" and reported with the file
and line; a sequence folder without its box file (an empty LaSOT `<class>-<n>`) is a rejected video
naming the missing file. Lines may end in CRLF, pad numbers
with spaces or lack the last newline. Frames are listed from the folder and sorted by the number in
their name (TrackingNet's `0.jpg, 1.jpg, ..., 10.jpg`), and must be as many as the boxes: a
mismatch rejects the sequence, naming the file. Where a set ships a video per sequence instead
(WebUOT-1M and UW-COT220 release `<seq>/<seq>.mp4`; their `imgs/` exist only after the authors'
Videos2Frames.py has run), the video is read: frame i is its i-th decoded frame, at the file's rate.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline import checks
from pipeline.errors import ConfigError, SourceError
from pipeline.stages.masks import source_box
from pipeline.stages.records import Dropped, FrameAnnotation, Query, TrackedObject, Video, VideoRecord

from pipeline.sources.base import (
    Converter,
    VideoRef,
    check,
    image_size,
    list_frames,
    parse_numbers,
    read_text,
    require_dir,
    video_file_info,
)


class SotConverter(Converter):
    """The family's defaults: `<root>/<split>/<seq>/` (or `<root>/<seq>/`), frames in `img/` or
    `imgs/`, `groundtruth.txt`, zero boxes hidden, the sentence in `language.txt` or `nlp.txt`."""

    kind = "box"
    gt_names: tuple[str, ...] = ("groundtruth.txt",)
    frame_dirs: tuple[str, ...] = ("img", "imgs")
    sentence_files: tuple[str, ...] = ("language.txt", "nlp.txt")
    no_public_boxes: tuple[str, ...] = ()  # splits whose boxes are first-frame only
    OPTIONS = {"frame_fps": ((int, float), 30.0, "frame rate of the frames (the sets do not record it)")}

    # -- where things are ---------------------------------------------------------------------------
    def split_dir(self, root: str, split: str) -> str:
        for name in (split, split.capitalize(), split.upper()):
            if os.path.isdir(os.path.join(root, name)):
                return os.path.join(root, name)
        return root

    def sequences(self, root: str, split: str) -> list[tuple[str, Path]]:
        """(video id, folder) of every folder that holds a box file, one or two levels down."""
        base = Path(self.split_dir(root, split))
        require_dir(str(base), f"{self.title} root")
        found = {}
        for pattern in ("*/", "*/*/"):
            for name in self.gt_names:
                for gt in base.glob(pattern + name):
                    found.setdefault(gt.parent, None)
        return sorted((seq.name, seq) for seq in found)

    def discover(self, root: str, split: str) -> list[VideoRef]:
        if split in self.no_public_boxes:
            raise SourceError(root, f"{self.title} {split}: the public boxes are first-frame only; "
                                    "nothing to convert (use another split)")
        wanted = self.listed(root, split)
        refs = []
        for video_id, seq in self.sequences(root, split):
            if wanted is not None and video_id not in wanted:
                continue
            # A sequence folder without its boxes is still a video of the split: loading it names the
            # missing file (a rejects row), instead of the folder passing without a word.
            refs.append(self._ref(root, split, video_id, seq, [self.gt_file(seq), *self.side_files(seq)]))
        if not refs:
            raise SourceError(root, f"no {self.title} sequence (a folder with {' or '.join(self.gt_names)}) "
                                    f"for split {split!r}")
        return refs

    def listed(self, root: str, split: str) -> set[str] | None:
        """Names in a split list file (LaSOT `testing_set.txt`, GOT-10k `list.txt`), if there is one."""
        return None

    def gt_file(self, seq: Path) -> Path:
        """The sequence's box file (the first of `gt_names` there, else the one it should have)."""
        return next((seq / n for n in self.gt_names if (seq / n).exists()), seq / self.gt_names[0])

    def side_files(self, seq: Path) -> list[Path]:
        """The per-sequence files load() reads besides the boxes (for cache keys and the manifest)."""
        return [seq / n for n in self.sentence_files if (seq / n).exists()]

    def frames(self, ref: VideoRef) -> tuple[str, tuple[str, ...]] | str:
        """(frame folder, its frames), or the sequence's video file where it has no frame folder."""
        for name in self.frame_dirs:
            folder = os.path.join(ref.location, name)
            if os.path.isdir(folder):
                return folder, list_frames(folder, ref.root)
        for video in (os.path.join(ref.location, f"{ref.video_id}.mp4"), os.path.join(ref.location, "video.mp4")):
            if os.path.isfile(video):
                return video
        raise SourceError(os.path.join(ref.location, self.frame_dirs[0]),
                          f"image folder not found (nor a video {ref.video_id}.mp4 beside the boxes)")

    # -- what the files say -------------------------------------------------------------------------
    def hidden(self, ref: VideoRef, boxes: list[list[float]]) -> list[bool]:
        """Per frame, whether the object is not visible (default: the `0,0,0,0` rows)."""
        return [all(v == 0 for v in b) for b in boxes]

    def query(self, ref: VideoRef, obj: TrackedObject) -> list[Query] | None:
        """The sentence, as a referring query; None (no query) where the set has no text."""
        for path in ref.files[1:]:
            if os.path.basename(path) in self.sentence_files:
                text = " ".join(read_text(path, root=ref.root).split())
                if not text:
                    raise SourceError(path, "empty description")
                return [Query(os.path.basename(path).split(".")[0], text, (obj.object_id,), "referring")]
        raise SourceError(ref.location, f"no {' or '.join(self.sentence_files)} beside the boxes")

    def category(self, ref: VideoRef) -> str | None:
        return None

    def load(self, ref: VideoRef) -> VideoRecord:
        gt_path = ref.files[0]
        if not os.path.lexists(gt_path):  # a sequence folder without its boxes (an empty one)
            raise SourceError(gt_path, "file is missing: the sequence folder holds no boxes")
        found = self.frames(ref)
        fps = float(ref.option("frame_fps", 30.0))
        if isinstance(found, str):  # a video file: its own size, length and rate
            width, height, n_frames, fps = video_file_info(found, ref.root)
            pixels, where = {"video_file": found}, found
        else:
            folder, frame_files = found
            width, height = image_size(os.path.join(folder, frame_files[0]), ref.root)
            n_frames, where = len(frame_files), folder
            pixels = {"frames_dir": folder, "frame_files": frame_files}
        lines = [(i, line) for i, line in enumerate(read_text(gt_path, root=ref.root).splitlines(), 1) if line.strip()]
        if len(lines) != n_frames:
            raise SourceError(gt_path, f"{len(lines)} boxes for {n_frames} frames in {where}")
        boxes = []
        for lineno, line in lines:
            b = parse_numbers(gt_path, line, lineno)
            if len(b) != 4:
                raise SourceError(gt_path, f"line {lineno}: {len(b)} numbers, expected x,y,w,h")
            boxes.append(b)
        hidden = self.hidden(ref, boxes)
        obj = TrackedObject(object_id=ref.video_id, kind="box", category=self.category(ref))
        dropped = []
        for i, ((lineno, line), b) in enumerate(zip(lines, boxes)):
            box, problem = source_box(b[0], b[1], b[0] + b[2], b[1] + b[3], width, height)
            if problem and not hidden[i]:
                dropped.append(Dropped(f"{problem} on a frame flagged visible", f"{line.strip()[:60]}: kept as not visible",
                                       ref.video_id, "frame", i, gt_path, lineno))
            obj.frames[i] = FrameAnnotation(visible=box is not None and not hidden[i], box=box)
        check(gt_path, checks.frame_rate, fps, "frame_fps")
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=n_frames, fps=fps, annotation_fps=fps, input_files=ref.files, root=ref.root, **pixels,
        )
        return VideoRecord(video, [obj], tuple(range(n_frames)), dropped, queries=self.query(ref, obj))


def read_flags(path: str, n: int, root: str | None, one_line: bool = False) -> list[bool]:
    """n 0/1 flags, one per line (`absent.txt`, `absence.label`) or comma-separated on one line
    (LaSOT's occlusion files); SourceError naming the file otherwise."""
    text = read_text(path, root=root).strip()
    if one_line:
        values = parse_numbers(path, text, 1) if text else []
    else:
        values = [v for i, line in enumerate(text.splitlines(), 1) if line.strip() for v in parse_numbers(path, line, i)]
    if len(values) != n or any(v not in (0, 1) for v in values):
        shape = "comma-separated 0/1 flags on one line" if one_line else "0/1 flags, one per line"
        raise SourceError(path, f"expected {n} {shape}, got {len(values)} values")
    return [v == 1 for v in values]


class LasotConverter(SotConverter):
    """LaSOT: `<class>/<class>-<n>/{img/, groundtruth.txt, full_occlusion.txt, out_of_view.txt,
    nlp.txt}`. Visible = neither fully occluded nor out of view: the flags decide, not zero boxes
    (55% of LaSOT's absent rows still carry a real box). Splits: `<split>_set.txt` or
    `<split>ing_set.txt` (the official `training_set.txt` / `testing_set.txt`) when present."""

    name = "lasot"
    molmo2 = {"LaSOT": {"train": ("train",)}}
    title = "LaSOT"
    frame_dirs = ("img",)
    sentence_files = ("nlp.txt",)

    def split_dir(self, root: str, split: str) -> str:
        return root

    def sequences(self, root: str, split: str) -> list[tuple[str, Path]]:
        """Folders with boxes, and every `<class>/<class>-<n>` folder without them (an empty or
        half-copied sequence is a rejected video naming what it lacks, not a silent gap)."""
        found = dict(super().sequences(root, split))
        for cls in sorted(p for p in Path(root).iterdir() if p.is_dir()):
            for seq in sorted(p for p in cls.iterdir() if p.is_dir() and re.fullmatch(rf"{re.escape(cls.name)}-\d+", p.name)):
                found.setdefault(seq.name, seq)
        return sorted(found.items())

    def listed(self, root: str, split: str) -> set[str] | None:
        for name in (f"{split}_set.txt", f"{split}ing_set.txt"):
            listing = os.path.join(root, name)
            if os.path.exists(listing):
                return set(read_text(listing, root=root).split())
        return None

    def side_files(self, seq: Path) -> list[Path]:
        return [seq / "nlp.txt", seq / "full_occlusion.txt", seq / "out_of_view.txt"]

    def hidden(self, ref: VideoRef, boxes: list[list[float]]) -> list[bool]:
        occluded = read_flags(ref.files[2], len(boxes), ref.root, one_line=True)
        out_of_view = read_flags(ref.files[3], len(boxes), ref.root, one_line=True)
        return [a or b for a, b in zip(occluded, out_of_view)]

    def category(self, ref: VideoRef) -> str | None:
        return Path(ref.location).parent.name


class Got10kConverter(SotConverter):
    """GOT-10k: `<split>/list.txt`, `<split>/<seq>/{00000001.jpg ..., groundtruth.txt,
    absence.label, cover.label, meta_info.ini}` (frames directly in the sequence folder, 10 fps).
    Hidden: absent, or cover 0 (fully covered). The label is `object_class` from `meta_info.ini`;
    test has first-frame boxes only and is refused."""

    name = "got10k"
    molmo2 = {"GOT10k": {"train": ("train",)}}
    title = "GOT-10k"
    OPTIONS = {"frame_fps": ((int, float), 10.0, "frame rate of the frames (GOT-10k's are at its 10 Hz)")}
    frame_dirs = ("",)
    no_public_boxes = ("test",)

    def listed(self, root: str, split: str) -> set[str] | None:
        listing = os.path.join(self.split_dir(root, split), "list.txt")
        return set(read_text(listing, root=root).split()) if os.path.exists(listing) else None

    def side_files(self, seq: Path) -> list[Path]:
        return [seq / "absence.label", seq / "cover.label", seq / "meta_info.ini"]

    def hidden(self, ref: VideoRef, boxes: list[list[float]]) -> list[bool]:
        n = len(boxes)
        absent = read_flags(ref.files[1], n, ref.root)
        cover = [v for i, line in enumerate(read_text(ref.files[2], root=ref.root).splitlines(), 1) if line.strip()
                 for v in parse_numbers(ref.files[2], line, i)]
        if len(cover) != n or any(not 0 <= v <= 8 for v in cover):
            raise SourceError(ref.files[2], f"expected {n} cover levels 0..8, got {len(cover)} values")
        return [a or c == 0 for a, c in zip(absent, cover)]

    def category(self, ref: VideoRef) -> str | None:
        meta = read_meta(ref.files[3], ref.root)
        if not meta.get("object_class"):
            raise SourceError(ref.files[3], "no object_class")
        return meta["object_class"]

    def query(self, ref: VideoRef, obj: TrackedObject) -> list[Query] | None:
        return [Query("object_class", obj.category, (obj.object_id,), "category", countable=False)]


def read_meta(path: str, root: str | None) -> dict[str, str]:
    """GOT-10k `meta_info.ini`: a `[METAINFO]` line, then `key: value` lines (split on the first ': ')."""
    lines = read_text(path, root=root).splitlines()
    meta = {}
    for line in lines[1:]:
        if ": " in line:
            key, value = line.split(": ", 1)
            meta[key.strip()] = value.strip()
    return meta


class TrackingNetConverter(SotConverter):
    """TrackingNet: chunks `TRAIN_0 .. TRAIN_11` and `TEST`, each `{frames/<seq>/<i>.jpg (0-based,
    unpadded), anno/<seq>.txt}`. `--split train` reads every TRAIN_ chunk, `--split TRAIN_3` one.
    No label: single-point tracks only. TEST boxes are first-frame only and refused."""

    name = "trackingnet"
    molmo2 = {"TrackingNet": {"train": ("train",) + tuple(f"TRAIN_{i}" for i in range(12))}}
    title = "TrackingNet"
    frame_dirs = ("",)  # the sequence's location is its frames/<seq> folder
    no_public_boxes = ("test", "TEST")

    def sequences(self, root: str, split: str) -> list[tuple[str, Path]]:
        require_dir(root, "TrackingNet root")
        chunks = sorted(Path(root).glob("TRAIN_*")) if split.lower() == "train" else [Path(root) / split]
        found = [(anno.stem, anno) for chunk in chunks for anno in sorted((chunk / "anno").glob("*.txt"))]
        if not found:
            raise SourceError(root, f"no <chunk>/anno/<seq>.txt for split {split!r} (chunks TRAIN_0..TRAIN_11)")
        return found

    def discover(self, root: str, split: str) -> list[VideoRef]:
        if split in self.no_public_boxes:
            return super().discover(root, split)
        return [self._ref(root, split, vid, anno.parent.parent / "frames" / vid, [anno])
                for vid, anno in self.sequences(root, split)]

    def query(self, ref: VideoRef, obj: TrackedObject) -> list[Query] | None:
        return []


class Tnl2kConverter(SotConverter):
    """TNL2K: `<seq>/{imgs/, groundtruth.txt, language.txt}` (under the split folder where there is
    one); `0,0,0,0` rows are absent; mixed CRLF/LF; the sentence often ends in a space."""

    name = "tnl2k"
    molmo2 = {"TNL2K": {"train": ("train",)}}
    title = "TNL2K"


# The authors' 50 test sequences (Open_VLTrack TNLLT_Evaluation_Toolkit/sequence_evaluation_config/
# testing_set.txt, the same as scripts/TNL2KLTDataset/tnl_lt_test_split.txt); the other 150 train.
TNLLT_TEST = frozenset({
    "JE_BF5_Weapon_video_Z01", "JE_BaseBall_video_02", "JE_BasketballPlayer_video_002", "JE_BatMan_video_01",
    "JE_BianLian_video_06", "JE_BianSeLong_video_02", "JE_BluceLi_video_13", "JE_CarNight_video_X02",
    "JE_ChangeWeapon_02", "JE_ClothChange_video_01", "JE_ClothChange_video_12", "JE_CrashCar_video_10",
    "JE_FaceChange_video_A06", "JE_Game_WalkingDead_video_ZZ02", "JE_GirlHead_video_01",
    "JE_GirlHead_video_14", "JE_GodWar_video_04", "JE_GuMuLiYing_video_04", "JE_GuMuLiYing_video_10",
    "JE_Gumuliying_video_12", "JE_Horizontalbar_08", "JE_Horizontalbar_09", "JE_Horse_03", "JE_Hulk_video_x1",
    "JE_KongqueKaiping_video_02", "JE_MaoXianRen_video_09", "JE_MaoXianRen_video_11", "JE_Muma_24",
    "JE_PersonFly_video_01", "JE_RaceCar_01", "JE_ShipNight_video_02", "JE_Ship_video_X02", "JE_Sking_02",
    "JE_Sking_04", "JE_SoliderHead_video_C04", "JE_SoliderHead_video_C05", "JE_SoliderHead_video_C07",
    "JE_SoliderHead_video_C08", "JE_SoliderHead_video_C13", "JE_SpaceShip_video_09", "JE_SportGirl_video_07",
    "JE_Transform_video_Q09", "JE_Transformation_video_04", "JE_Weapon_ChangeGUN_video_Z07",
    "JE_Weapon_ChangeGUN_video_Z11", "JE_Weapon_HandGUN_video_01", "JE_Wukong_video_p707",
    "JE_interlaken_00_b_01", "JE_littleAnimal_video_06", "JE_robot_x03",
})


class TnlltConverter(SotConverter):
    """TNLLT (ReasoningTrack's long-term TNL2K extension, sequences `JE_*`): `<seq>/{imgs/00001.png,
    groundtruth.txt, absent_label.txt, attributes.txt, language.txt}` under the root (or
    `frames/`, or a split folder). As TNL2K, plus `absent_label.txt`: one flag per frame, which the
    authors' toolkit and training reader read as 1 = visible (`calc_seq_err_robust.m` drops the
    frames flagged 0), the opposite of TNL2K's absent files; option `absent_label` says which.
    A zero box is hidden too. Splits: the authors' lists (`TNLLT_TEST`), not the folders."""

    name = "tnllt"
    title = "TNLLT"
    molmo2 = {"TNLLT": {"train": ("train",)}}
    frame_dirs = ("imgs",)
    OPTIONS = {**SotConverter.OPTIONS,
               "absent_label": (str, "visible", "what a 1 in absent_label.txt means: visible (the authors' reading) "
                                                "or absent")}

    def sequences(self, root: str, split: str) -> list[tuple[str, Path]]:
        """The authors' split by name: test = their 50 test sequences, train = the others, all =
        every one (wherever the archive put them: the root, `frames/` or a split folder)."""
        found = super().sequences(root, split)
        if split == "all":
            return found
        if split not in ("train", "test"):
            raise SourceError(root, f"TNLLT split {split!r}: use train, test or all")
        return [(v, seq) for v, seq in found if (v in TNLLT_TEST) == (split == "test")]

    def side_files(self, seq: Path) -> list[Path]:
        return [seq / "language.txt"] + ([seq / "absent_label.txt"] if (seq / "absent_label.txt").exists() else [])

    @classmethod
    def check_options(cls, options: dict) -> dict:
        options = super().check_options(options)
        if options.get("absent_label", "visible") not in ("visible", "absent"):
            raise ConfigError(f"source {cls.name!r}: option 'absent_label' must be visible or absent, "
                              f"got {options['absent_label']!r}")
        return options

    def hidden(self, ref: VideoRef, boxes: list[list[float]]) -> list[bool]:
        zero = super().hidden(ref, boxes)
        if len(ref.files) < 3:
            return zero
        meaning = self.options["absent_label"]
        flags = read_flags(ref.files[2], len(boxes), ref.root)
        return [z or (f == (meaning == "absent")) for f, z in zip(flags, zero)]


class LatotConverter(SotConverter):
    """LaTOT (tiny object tracking): `<seq>/{img/<n>.jpg, <seq>.txt}` under the root (or a `LaTOT/`
    or `TOT/` folder in it): the box file is named after the sequence; x,y,w,h per frame,
    tab-, comma- or space-separated floats; a box without area is the object not being visible; frames are
    numbered from anywhere (`01110.jpg` ...) and paired with the boxes in order. No text: the label
    is the name without its number (`electric_bicycle-x` -> electric bicycle), and the rows are
    single-point tracks. A `<split>.txt` beside the sequences (the authors' `train.txt`, entries
    `car15.txt`) or in `dataset-split/` (as TSN's LaTOT sample has it) selects a split; without one
    every sequence is read. The frame rate is in no
    public file (option frame_fps)."""

    name = "latot"
    title = "LaTOT"
    molmo2 = {"LaTOT": {"train": ("train",)}}
    frame_dirs = ("img",)

    def gt_file(self, seq: Path) -> Path:
        return seq / f"{seq.name}.txt"

    def sequences(self, root: str, split: str) -> list[tuple[str, Path]]:
        base = Path(root)
        require_dir(root, "LaTOT root")
        for inner in ("LaTOT", "TOT"):
            if (base / inner).is_dir():
                base = base / inner
        found = {seq.name: seq for pattern in ("*/", "*/*/") for seq in base.glob(pattern)
                 if seq.is_dir() and ((seq / f"{seq.name}.txt").exists() or (seq / "img").is_dir())}
        return sorted(found.items())

    def listed(self, root: str, split: str) -> set[str] | None:
        for folder in (Path(root), Path(root) / "LaTOT", Path(root) / "TOT", Path(root) / "dataset-split"):
            listing = folder / f"{split}.txt"
            if listing.is_file():
                return {n[:-4] if n.endswith(".txt") else n for n in read_text(str(listing), root=root).split()}
        return None

    def side_files(self, seq: Path) -> list[Path]:
        return []

    def hidden(self, ref: VideoRef, boxes: list[list[float]]) -> list[bool]:
        return [len(b) == 4 and (b[2] <= 0 or b[3] <= 0) for b in boxes]

    def category(self, ref: VideoRef) -> str | None:
        return re.sub(r"\d+$", "", ref.video_id.split("-")[0]).replace("_", " ").strip() or ref.video_id

    def query(self, ref: VideoRef, obj: TrackedObject) -> list[Query] | None:
        return []


class VastTrackConverter(SotConverter):
    """VastTrack: `<Class Name>/<Class Name>-<n>/{img/ or imgs/, Groundtruth.txt, nlp.txt}`: the
    capital G, spaces in names; `0,0,0,0` = not visible. Category = the class folder."""

    name = "vasttrack"
    molmo2 = {"VastTrack": {"train": ("train",)}}
    title = "VastTrack"
    gt_names = ("Groundtruth.txt", "groundtruth.txt")
    sentence_files = ("nlp.txt",)

    def category(self, ref: VideoRef) -> str | None:
        return Path(ref.location).parent.name


class WebUavConverter(SotConverter):
    """WebUAV-3M: `{Train,Val,Test}/<video>/{img/, groundtruth_rect.txt, absent.txt, language.txt}`;
    the `000001.jpg` at the sequence root is not a frame (only `img/` is listed). Hidden: absent or
    a zero box."""

    name = "webuav3m"
    molmo2 = {"WebUAV": {"train": ("train",)}}
    title = "WebUAV-3M"
    gt_names = ("groundtruth_rect.txt",)
    frame_dirs = ("img",)
    sentence_files = ("language.txt",)

    def side_files(self, seq: Path) -> list[Path]:
        return [seq / "language.txt"] + ([seq / "absent.txt"] if (seq / "absent.txt").exists() else [])

    def hidden(self, ref: VideoRef, boxes: list[list[float]]) -> list[bool]:
        """Absent (`absent.txt`, where the sequence has one: the authors' own toolkit never reads
        it) or a zero box."""
        zero = super().hidden(ref, boxes)
        if len(ref.files) < 3:
            return zero
        absent = read_flags(ref.files[2], len(boxes), ref.root)
        return [a or z for a, z in zip(absent, zero)]


class WebUotConverter(WebUavConverter):
    """WebUOT-1M: as WebUAV-3M with frames in `imgs/%08d.jpg`; the root `00000001.jpg` is a preview
    with the box drawn on it, never a frame."""

    name = "webuot1m"
    molmo2 = {"WebUOT": {"train": ("train",)}}
    title = "WebUOT-1M"
    frame_dirs = ("imgs",)


class UwCot220Converter(SotConverter):
    """UW-COT220: `<video>/{imgs/, groundtruth_rect.txt, language.txt, pseudo_masks/}` (the pseudo
    masks are not read: masks come from the segmenter as for every box source)."""

    name = "uw_cot220"
    molmo2 = {"UWCOT": {"train": ("test", "train", "all")}}  # one set: any split name reads it
    title = "UW-COT220"
    gt_names = ("groundtruth_rect.txt",)
    frame_dirs = ("imgs",)
    sentence_files = ("language.txt",)
