"""Palette-PNG folder family: one mask PNG per annotated frame, pixel value = object id.

`<frames>/<video>/<name>.jpg` and `<masks>/<video>/<name>.png`: DAVIS (Ref-DAVIS17), YouTube-VOS
(Ref-YouTube-VOS), MOSE, LVOS; VIPSeg is the same with panoptic values. The converter lists the
files only; `pipeline.stages.png_masks` opens the PNGs of the sampled frames (never a whole video's).
A video's frames are its JPEGs in name order, shown at `frame_fps`; a frame with a PNG is
annotated. The frame size is the first PNG's.

Each dataset is a small subclass saying where the folders are, which videos a split holds, which
objects its metadata declares (with a category) and which questions it asks:
- MOSE / MOSEv2: no text: single-point-track rows, as SA-V.
- LVOS: objects from `<split>_meta.json`; v1's `<split>_expression_meta.json` captions (where
  present) are referring expressions.
- Ref-YouTube-VOS: categories from `meta.json`, expressions from `meta_expressions/<split>/
  meta_expressions.json` (`obj_id` a string). The valid split ships frames and expressions without
  `obj_id`, and no masks: its expressions are asked with no answer (`answerless_splits`).
- Ref-DAVIS17: DAVIS 2017 480p folders, splits from `ImageSets/2017`, expressions from
  `davis_text_annotations/Davis17_annot{1,2}{,_full_video}.txt` (lines `video obj_id "text"`,
  annot2 in latin-1, three misspelled video names mapped to DAVIS's).
- VIPSeg: panoptic PNGs (value = category id, or category id * 100 + instance for things); one
  question per thing category, over its instances.
"""

from __future__ import annotations

import os
import re

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages.records import Dropped, PngMasks, Query, TrackedObject, Video, VideoRecord

from pipeline.sources.base import (
    Converter,
    VideoRef,
    check,
    image_size,
    once_per_file,
    read_bytes,
    read_shared_json,
    stat_stamp,
    read_text,
    require_dir,
)
from .refvos import clean_queries, meta_videos, unanswered_queries, video_entry

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def list_files(folder: str, extensions: tuple[str, ...]) -> list[str]:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    except OSError as e:
        raise SourceError(folder, f"cannot be listed ({e.strerror or e})") from None
    return sorted(n for n in names if n.lower().endswith(extensions) and not n.startswith("."))


class PaletteConverter(Converter):
    kind = "mask"
    OPTIONS = {"frame_fps": ((int, float), 6.0, "frame rate of the released frames")}
    encoding = "palette"

    # -- what a subclass says -----------------------------------------------------------------
    def folders(self, root: str, split: str) -> tuple[str, str]:
        """(frames folder, masks folder), each holding one sub-folder per video."""
        return os.path.join(root, split, "JPEGImages"), os.path.join(root, split, "Annotations")

    def video_ids(self, root: str, split: str, masks: str) -> list[str]:
        """The split's videos: by default every folder of the masks folder."""
        require_dir(masks, f"{self.name} {split} masks")
        return sorted(d for d in os.listdir(masks) if os.path.isdir(os.path.join(masks, d)))

    def side_files(self, root: str, split: str) -> list[str]:
        """Metadata files every video of the split reads (cache keys)."""
        return []

    # `{"videos": {video: ...}}` side files (Ref-YouTube-VOS, LVOS) are indexed per video: a video's
    # cache key is its own entry's digest there, not the file's mtime.
    videos_side_files = False

    def fingerprint(self, ref: VideoRef) -> list:
        if not self.videos_side_files:
            return super().fingerprint(ref)
        return [stat_stamp(ref.files[0])] + [meta_videos(self, f, ref.root).digest(ref.video_id) for f in ref.files[1:]]

    def objects(self, ref: VideoRef) -> list[TrackedObject]:
        """Objects the metadata declares (with their categories); others are found in the PNGs."""
        return []

    def queries(self, ref: VideoRef, objects: list[TrackedObject]) -> tuple[list[Query] | None, list[Dropped]]:
        """The video's questions; None asks one per category found."""
        return [], []

    # -- the family's work ----------------------------------------------------------------------
    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, f"{self.name} root")
        frames, masks = self.folders(root, split)
        side = self.side_files(root, split)
        per_video = frames if self.answerless(root, split) else masks  # no masks: the frames say what changed
        refs = []
        for vid in self.video_ids(root, split, masks):
            check(masks, checks.relative_path, vid, "video folder")
            location = os.path.join(per_video, vid)
            refs.append(self._ref(root, split, vid, location, [location, *side]))
        return refs

    # Splits whose masks are not public (Ref-YouTube-VOS valid): without a masks folder, each video
    # asks its queries with no answer (`VideoRecord.answered`, `answerless_queries`).
    answerless_splits: tuple[str, ...] = ()

    def answerless_queries(self, ref: VideoRef) -> tuple[list[Query], list[Dropped]]:
        return [], []

    def answerless(self, root: str, split: str) -> bool:
        return split in self.answerless_splits and not os.path.isdir(self.folders(root, split)[1])

    def load(self, ref: VideoRef) -> VideoRecord:
        frames_root, masks_root = self.folders(ref.root, ref.split)
        frames_dir, masks_dir = os.path.join(frames_root, ref.video_id), os.path.join(masks_root, ref.video_id)
        if self.answerless(ref.root, ref.split):
            return self._unanswered(ref, frames_dir)
        require_dir(masks_dir, f"video {ref.video_id!r} masks")
        pngs = list_files(masks_dir, (".png",))
        if not pngs:
            raise SourceError(masks_dir, "no mask PNGs")
        images = list_files(frames_dir, IMAGE_EXTENSIONS)
        # Without the frames folder the masks still give the rows (`--videos skip`); writing the
        # videos then fails on the missing folder, naming it.
        frame_files = tuple(images) if images else tuple(pngs)
        stems = [os.path.splitext(n)[0] for n in frame_files]
        check(frames_dir, checks.frame_count, len(stems), "number of frames")
        position = {s: i for i, s in enumerate(stems)}
        files = {}
        for png in pngs:
            stem = os.path.splitext(png)[0]
            if stem not in position:
                raise SourceError(os.path.join(masks_dir, png), f"mask has no frame {stem} in {frames_dir}")
            files[position[stem]] = os.path.join(masks_dir, png)
        width, height = image_size(files[min(files)], ref.root)
        objects = self.objects(ref)
        queries, dropped = self.queries(ref, objects)
        named = {o.object_id for o in objects}
        for q in queries or []:  # an object an expression names exists even where no frame shows it
            objects += [palette_object(oid) for oid in q.object_ids if oid not in named]
            named.update(q.object_ids)
        declared = tuple(o.object_id for o in objects)
        fps = float(self.options["frame_fps"])
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=len(stems), fps=fps, annotation_fps=fps, frames_dir=frames_dir, frame_files=frame_files,
            input_files=ref.files, root=ref.root,
        )
        spec = PngMasks(files, self.encoding, ignore=(0,) if self.encoding == "panoptic" else (0, 255),
                        objects=declared, categories=self.thing_categories(ref))
        return VideoRecord(video, objects, tuple(sorted(files)), dropped, queries=queries, png_masks=spec)

    def thing_categories(self, ref: VideoRef) -> tuple[tuple[int, str], ...]:
        return ()

    def _unanswered(self, ref: VideoRef, frames_dir: str) -> VideoRecord:
        require_dir(frames_dir, f"video {ref.video_id!r} frames")
        images = list_files(frames_dir, IMAGE_EXTENSIONS)
        if not images:
            raise SourceError(frames_dir, "no frame images")
        check(frames_dir, checks.frame_count, len(images), "number of frames")
        width, height = image_size(os.path.join(frames_dir, images[0]), ref.root)
        queries, dropped = self.answerless_queries(ref)
        fps = float(self.options["frame_fps"])
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=len(images), fps=fps, annotation_fps=fps, frames_dir=frames_dir, frame_files=tuple(images),
            input_files=ref.files, root=ref.root,
        )
        return VideoRecord(video, [], tuple(range(len(images))), dropped, queries=queries, answered=False)


def palette_object(oid, category: str | None = None) -> TrackedObject:
    oid = str(oid)
    return TrackedObject(oid, "mask", category=category, number=int(oid) if oid.isdigit() else None)


class MoseConverter(PaletteConverter):
    """MOSE / MOSEv2: `<root>/<split>/{JPEGImages,Annotations}/<video>/00000.{jpg,png}`; valid holds
    first-frame masks only. Annotated at 5 fps at least (MOSEv2 paper, 3.1)."""

    name = "mose"
    OPTIONS = {"frame_fps": ((int, float), 5.0, "frame rate of the released frames")}


class MoseV2Converter(MoseConverter):
    """MOSEv2 (Ding et al., 2025): MOSE's layout and palette PNGs (`<split>/{JPEGImages,
    Annotations}/<video>/00000.{jpg,png}`), more videos and categories, `meta_<split>.json` beside
    them (frames and sizes, not read); valid holds first-frame masks only. A source of its own so
    that one build holds both releases (Molmo2 reads them apart, as MOSESource and MOSEv2Source)."""

    name = "mosev2"


class LvosConverter(PaletteConverter):
    """LVOS (v1; v2 is `LvosV2Converter`): `<root>/<split>/{JPEGImages,Annotations}/<video>/`,
    `<split>_meta.json` and (v1) `<split>_expression_meta.json`, beside the split folders or inside them."""

    name = "lvos"
    molmo2 = {"LVOSv1": {"train": ("train",)}}

    def _side(self, root: str, split: str, name: str) -> str | None:
        for path in (os.path.join(root, split, name), os.path.join(root, name)):
            if os.path.exists(path):
                return path
        return None

    def side_files(self, root, split):
        return [p for p in (self._side(root, split, f"{split}_meta.json"),
                            self._side(root, split, f"{split}_expression_meta.json")) if p]

    videos_side_files = True

    def _entry(self, ref: VideoRef, suffix: str) -> tuple[str | None, dict]:
        path = next((f for f in ref.files[1:] if f.endswith(suffix)), None)
        if path is None:
            return None, {}
        objects = video_entry(self, path, ref.root, ref.video_id).get("objects")
        return path, objects if isinstance(objects, dict) else {}

    def objects(self, ref):
        _, objects = self._entry(ref, f"{ref.split}_meta.json")
        return [palette_object(oid) for oid in sorted(objects, key=lambda k: (len(k), k))]

    def queries(self, ref, objects):
        path, described = self._entry(ref, "_expression_meta.json")
        queries = []
        for oid in sorted(described, key=lambda k: (len(k), k)):
            caption = described[oid].get("caption") if isinstance(described[oid], dict) else None
            if isinstance(caption, str) and caption.strip():
                queries.append(Query(oid, " ".join(caption.split()), (str(oid),), "referring"))
        return clean_queries(queries, path) if path else ([], [])


class LvosV2Converter(LvosConverter):
    """LVOS v2: the v1 layout (more videos; `<split>_meta_attribute.json` beside the meta, no
    captions), a source of its own so that one build can hold both releases (Molmo2 reads them as
    two datasets, LVOSv1 and LVOSv2)."""

    name = "lvos_v2"
    molmo2 = {"LVOSv2": {"train": ("train",)}}


class RefYoutubeVosConverter(PaletteConverter):
    """Ref-YouTube-VOS: `<root>/<split>/{JPEGImages,Annotations}/<video>/00000.{jpg,png}` (every
    5th frame of 30 fps video: 6 fps), `<root>/<split>/meta.json` (categories) and
    `<root>/meta_expressions/<split>/meta_expressions.json`."""

    name = "ref_youtube_vos"
    molmo2 = {"RefYoutubeVOS": {"train": ("train",), "valid": ("valid",)}}
    molmo2_points = {"refyoutube": {"train": "train", "valid": "val"}}
    videos_side_files = True
    answerless_splits = ("valid", "test")

    def _meta_expressions(self, root, split):
        return os.path.join(root, "meta_expressions", split, "meta_expressions.json")

    def side_files(self, root, split):
        meta = os.path.join(root, split, "meta.json")
        return [self._meta_expressions(root, split)] + ([meta] if os.path.exists(meta) else [])

    def video_ids(self, root, split, masks):
        expressions = self._meta_expressions(root, split)
        videos = sorted(meta_videos(self, expressions, root).keys())
        if self.answerless(root, split):
            # The release's valid expressions file also lists the test videos; the split's videos
            # are those whose frames it ships.
            frames = self.folders(root, split)[0]
            require_dir(frames, f"{self.name} {split} frames")
            return [v for v in videos if os.path.isdir(os.path.join(frames, v))]
        if not os.path.isdir(masks):
            raise SourceError(masks, f"split {split!r} has no Annotations folder: its rows cannot be built")
        return videos

    def answerless_queries(self, ref):
        """The valid split's expressions (each only an `exp`, no obj_id)."""
        path = ref.files[1]
        return unanswered_queries(path, ref.video_id, video_entry(self, path, ref.root, ref.video_id).get("expressions") or {})

    def objects(self, ref):
        meta = ref.files[2] if len(ref.files) > 2 else None
        declared = video_entry(self, meta, ref.root, ref.video_id).get("objects", {}) if meta else {}
        return [palette_object(oid, (o or {}).get("category")) for oid, o in
                sorted(declared.items(), key=lambda kv: (len(kv[0]), kv[0]))]

    def queries(self, ref, objects):
        path = ref.files[1]
        entry = video_entry(self, path, ref.root, ref.video_id)
        queries = []
        for eid, e in (entry.get("expressions") or {}).items():
            if not isinstance(e, dict) or not isinstance(e.get("exp"), str):
                raise SourceError(path, f"video {ref.video_id!r}, expression {eid}: no \"exp\" text")
            if "obj_id" not in e:
                raise SourceError(path, f"video {ref.video_id!r}, expression {eid}: no obj_id (valid-split "
                                  "expressions name no object)")
            oid = str(check(path, checks.whole, int(e["obj_id"]) if str(e["obj_id"]).isdigit() else e["obj_id"],
                            f"expression {eid}: obj_id"))
            queries.append(Query(str(eid), " ".join(e["exp"].split()), (oid,), "referring"))
        return clean_queries(queries, path)


DAVIS_MISSPELLED = {"clasic-car": "classic-car", "dog-scale": "dogs-scale", "motor-bike": "motorbike"}
DAVIS_TEXT_FILES = {"full_video": ("Davis17_annot1_full_video.txt", "Davis17_annot2_full_video.txt"),
                    "first_frame": ("Davis17_annot1.txt", "Davis17_annot2.txt")}
DAVIS_TEXT_FILES["both"] = DAVIS_TEXT_FILES["full_video"] + DAVIS_TEXT_FILES["first_frame"]
_DAVIS_LINE = re.compile(r'^\s*(\S+)\s+(\d+)\s+"?(.*?)"?\s*$')


@once_per_file(maxsize=4)  # "both" reads four files per video
def davis_expressions(path: str, root: str | None = None) -> tuple[dict, list[Dropped]]:
    """{video: [(obj_id, text, line)]} of one text file (UTF-8, else latin-1)."""
    data = read_bytes(path, root)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    out: dict[str, list] = {}
    dropped = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _DAVIS_LINE.match(line)
        if not m or not m.group(3).strip():
            dropped.append(Dropped("unreadable expression line", line.strip()[:80], level="row", file=path, line=lineno))
            continue
        video = DAVIS_MISSPELLED.get(m.group(1), m.group(1))
        out.setdefault(video, []).append((m.group(2), " ".join(m.group(3).split()), lineno))
    return out, dropped


DAVIS_MASK_FOLDERS = {"unsupervised": "Annotations_unsupervised", "semisupervised": "Annotations"}


class RefDavis17Converter(PaletteConverter):
    """Ref-DAVIS17: `<root>/DAVIS/{JPEGImages,Annotations_unsupervised}/480p/<video>/00000.*`,
    `<root>/DAVIS/ImageSets/2017/<split>.txt`, `<root>/davis_text_annotations/*.txt`. DAVIS is
    24 fps, every frame annotated.

    Which DAVIS masks the texts' object ids number is not said in any public file, and the two
    public readers differ: ReferFormer (convert_davis_to_ytvos.py) reads `Annotations_unsupervised`,
    RefVOS (data/davis2017.py) the semi-supervised `Annotations`; the two sets number objects
    independently. Option `masks`: `auto` (the unsupervised set where present, as ReferFormer;
    else `Annotations`, the set DAVIS 2017 trainval ships), or either set by name."""

    name = "ref_davis17"
    molmo2 = {"RefDavis17": {"train": ("train",), "valid": ("val",)}}
    molmo2_points = {"refdavis17": {"train": "train", "val": "val"}}
    OPTIONS = {"frame_fps": ((int, float), 24.0, "frame rate of the DAVIS frames"),
               "expressions": (str, "full_video", "which text files: full_video, first_frame or both"),
               "masks": (str, "auto", "which DAVIS masks: auto, unsupervised or semisupervised")}

    def folders(self, root, split):
        davis = os.path.join(root, "DAVIS")
        which = self.options["masks"]
        if which == "auto":
            found = os.path.join(davis, DAVIS_MASK_FOLDERS["unsupervised"], "480p")
            which = "unsupervised" if os.path.isdir(found) else "semisupervised"
        if which not in DAVIS_MASK_FOLDERS:
            raise SourceError(root, f"option masks={which!r}: use auto, unsupervised or semisupervised")
        return (os.path.join(davis, "JPEGImages", "480p"), os.path.join(davis, DAVIS_MASK_FOLDERS[which], "480p"))

    def _text_files(self, root):
        which = self.options["expressions"]
        if which not in DAVIS_TEXT_FILES:
            raise SourceError(root, f"option expressions={which!r}: use full_video, first_frame or both")
        return [os.path.join(root, "davis_text_annotations", n) for n in DAVIS_TEXT_FILES[which]]

    def side_files(self, root, split):
        return [p for p in self._text_files(root) if os.path.exists(p)]

    def video_ids(self, root, split, masks):
        listing = os.path.join(root, "DAVIS", "ImageSets", "2017", f"{split}.txt")
        names = [line.strip() for line in read_text(listing, root=root).splitlines() if line.strip()]
        if not self.side_files(root, split):
            raise SourceError(os.path.join(root, "davis_text_annotations"), "no expression files found")
        return sorted(set(names))

    def queries(self, ref, objects):
        queries, dropped = [], []
        for path in ref.files[1:]:
            per_video, bad = davis_expressions(path, ref.root)
            dropped += bad
            tag = os.path.splitext(os.path.basename(path))[0]
            for oid, text, lineno in per_video.get(ref.video_id, []):
                queries.append(Query(f"{tag}:{lineno}", text, (str(int(oid)),), "referring"))
        kept, more = clean_queries(queries, ref.files[1] if len(ref.files) > 1 else ref.location)
        return kept, dropped + more


class VipsegConverter(PaletteConverter):
    """VIPSeg in either of its two layouts (the repository's README figures and scripts):
    - as released: `<root>/imgs/<video>/00000001.jpg`, `<root>/panomasks/<video>/00000001.png`,
      `<root>/<split>.txt`, names from `<root>/label_num_dic_final.json` (`{name: "id"}`, ids
      1-based as in the PNGs, `"others": "0"`, no thing flag);
    - after the official `change2_720p.py`: frames in `images/`, and `panoVIPSeg_categories.json`
      (`[{id, name, isthing}]`, ids 0-based: PNG value = id + 1).
    Panoptic values: below 125 a stuff category id, else category * 100 + instance (instances from 0,
    so 6100 is the first person). Only instance values become objects; with the categories JSON
    only its thing classes do."""

    name = "vipseg"
    encoding = "panoptic"
    CATEGORY_FILES = ("panoVIPSeg_categories.json", "label_num_dic_final.json")

    def folders(self, root, split):
        frames = os.path.join(root, "images")
        return (frames if os.path.isdir(frames) else os.path.join(root, "imgs")), os.path.join(root, "panomasks")

    def side_files(self, root, split):
        for name in self.CATEGORY_FILES:
            if os.path.exists(os.path.join(root, name)):
                return [os.path.join(root, name)]
        raise SourceError(root, f"no category file: expected {' or '.join(self.CATEGORY_FILES)}")

    def video_ids(self, root, split, masks):
        listing = os.path.join(root, f"{split}.txt")
        return sorted({line.strip() for line in read_text(listing, root=root).splitlines() if line.strip()})

    def thing_categories(self, ref):
        """PNG category value -> name: from the categories JSON its thing classes (0-based ids, +1 as
        VIPSeg's create_panoptic_video_labels.py does), from label_num_dic_final.json every class
        (already 1-based; stuff values never reach 125, so only things become objects)."""
        path = ref.files[1]
        cats = read_shared_json(path, ref.root)
        if isinstance(cats, dict):
            out = []
            for name, value in cats.items():
                if not str(value).strip().isdigit():
                    raise SourceError(path, f"category {name!r}: id {value!r} is not a whole number")
                if int(value) > 0:  # "others": "0" is void
                    out.append((int(value), str(name)))
            return tuple(sorted(out))
        if not isinstance(cats, list):
            raise SourceError(path, "expected a list of categories or a {name: id} map")
        return tuple(sorted((int(c["id"]) + 1, str(c["name"])) for c in cats
                            if isinstance(c, dict) and c.get("isthing") and "id" in c and "name" in c))

    def queries(self, ref, objects):
        return None, []  # one per thing category found on the sampled frames


class ReasonVosConverter(Converter):
    """ReasonVOS (VideoLISA's reasoning benchmark, evaluation only): `<root>/{meta_expressions.json,
    JPEGImages/<video>/<frame>.jpg, Annotations/<source>_<video>_<obj_id>/<frame>.png}` (or those
    inside `<root>/ReasonVOS/`). `meta_expressions.json`: `videos -> {source, frames, expressions:
    [{obj_id, exp_id, exp_text, is_sent}]}` (a list; the release before 2024-12-27 kept a dict, read
    too). Each object has a folder of binary masks named by the source, the video and its `obj_id`
    (verbatim: VIPSeg's are zero-padded), any non-zero pixel the object's; each expression is a
    reasoning query over its object. An `exp_id` repeated in a video (independent readers renumber
    them) gets a suffix, `-2`, ...: a query id must be unique in its video. One split, test. The
    frames come from MeViS, MOSE, BURST and VIPSeg; no file gives their rate (option frame_fps)."""

    name = "reasonvos"
    title = "ReasonVOS"
    kind = "mask"
    molmo2 = {"ReasonVOS": {"test": ("test",)}}
    OPTIONS = {"frame_fps": ((int, float), 6.0, "frame rate of the frames (no file gives it)")}

    @staticmethod
    def base(root: str) -> str:
        inner = os.path.join(root, "ReasonVOS")
        return inner if os.path.isfile(os.path.join(inner, "meta_expressions.json")) else root

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, "ReasonVOS root")
        base = self.base(root)
        meta = os.path.join(base, "meta_expressions.json")
        refs = []
        for vid in sorted(meta_videos(self, meta, root).keys()):
            check(meta, checks.relative_path, vid, "video key")
            refs.append(self._ref(root, split, vid, os.path.join(base, "JPEGImages", vid), [meta]))
        return refs

    def fingerprint(self, ref: VideoRef) -> list:
        return [meta_videos(self, ref.files[0], ref.root).digest(ref.video_id)]

    def load(self, ref: VideoRef) -> VideoRecord:
        meta = ref.files[0]
        entry = video_entry(self, meta, ref.root, ref.video_id)
        source = entry.get("source")
        if not isinstance(source, str) or not source:
            raise SourceError(meta, f"video {ref.video_id!r}: no \"source\" (the dataset its frames come from)")
        images = list_files(ref.location, IMAGE_EXTENSIONS)
        if not images:
            raise SourceError(ref.location, "no frame images")
        check(ref.location, checks.frame_count, len(images), "number of frames")
        position = {os.path.splitext(n)[0]: i for i, n in enumerate(images)}
        expressions = entry.get("expressions")
        items = list(expressions.values()) if isinstance(expressions, dict) else expressions
        if not isinstance(items, list) or not items:
            raise SourceError(meta, f"video {ref.video_id!r}: no \"expressions\"")
        objects: dict[str, TrackedObject] = {}
        object_files: dict[str, dict[int, str]] = {}
        queries, seen, dropped = [], {}, []
        for k, e in enumerate(items):
            if not isinstance(e, dict) or not isinstance(e.get("exp_text"), str) or e.get("obj_id") is None:
                raise SourceError(meta, f"video {ref.video_id!r}, expression {k}: needs exp_text and obj_id")
            anno = f"{source}_{ref.video_id}_{e['obj_id']}"
            if anno not in objects:
                folder = os.path.join(self.base(ref.root), "Annotations", anno)
                require_dir(folder, f"object {anno!r} masks")
                files = {}
                for png in list_files(folder, (".png",)):
                    stem = os.path.splitext(png)[0]
                    if stem not in position:
                        raise SourceError(os.path.join(folder, png), f"mask has no frame {stem} in {ref.location}")
                    files[position[stem]] = os.path.join(folder, png)
                objects[anno] = TrackedObject(anno, "mask")
                object_files[anno] = files
            qid = str(e.get("exp_id", k))
            seen[qid] = seen.get(qid, 0) + 1
            if seen[qid] > 1:
                dropped.append(Dropped("repeated exp_id", f"expression {k}: exp_id {qid} again, asked as {qid}-{seen[qid]}",
                                       level="row", file=meta))
                qid = f"{qid}-{seen[qid]}"
            if not e["exp_text"].strip():
                dropped.append(Dropped("empty expression", f"expression {qid}", level="row", file=meta))
                continue
            queries.append(Query(qid, " ".join(e["exp_text"].split()), (anno,), "reasoning"))
        annotated = sorted({f for files in object_files.values() for f in files})
        if not annotated:
            raise SourceError(os.path.join(self.base(ref.root), "Annotations"), f"no mask of video {ref.video_id!r}")
        first = object_files[next(a for a in object_files if object_files[a])]
        width, height = image_size(first[min(first)], ref.root)
        fps = float(self.options["frame_fps"])
        video = Video(source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
                      n_frames=len(images), fps=fps, annotation_fps=fps, frames_dir=ref.location,
                      frame_files=tuple(images), input_files=ref.files, root=ref.root)
        spec = PngMasks({f: next(files[f] for files in object_files.values() if f in files) for f in annotated},
                        "binary", objects=tuple(objects), declared_only=True, object_files=object_files)
        return VideoRecord(video, list(objects.values()), tuple(annotated), dropped, queries=queries, png_masks=spec)

