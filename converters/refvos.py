"""Ref-VOS JSON family: referring expressions over sets of objects, masks as per-frame RLE lists.

MeViS (henghuiding/MeViS) and ReVOS (cilinyan/ReVOS-api) release a `meta_expressions.json`

    {"videos": {VIDEO: {"frames": [NAME, ...],
                        "expressions": {EXP_ID: {"exp": TEXT, "obj_id": [..], "anno_id": [..],
                                                 "type_id": 0|1|2 (ReVOS)}}}}}

and a `mask_dict.json` mapping `str(anno_id)` to one COCO RLE (or null: absent) per frame of the
video, aligned with its `frames`. Both are split-wide (a real `mask_dict.json` is GBs): each is
indexed once per build (`split_index.py`: `meta_expressions` by video, `mask_dict` by anno_id) and a
video reads only its entry and its objects' mask lists. One expression names a set of objects (its `anno_id` list), one
object has many expressions; each expression becomes one `Query` over its objects.

Dataset quirks are the subclasses' class attributes:
- MeViS: `<root>/<split>/{JPEGImages/<video>/<name>.jpg, meta_expressions.json, mask_dict.json}`,
  frames sorted as the official loader sorts them; `valid` (the challenge split) has no public
  masks and its expressions name no object: each becomes a query asked with no answer.
- ReVOS: one folder `<root>/{JPEGImages, mask_dict.json, meta_expressions_<split>_.json}` (note the
  trailing underscore), video keys that are paths (`UVO/all/-fbscFfkh4M`), frames in file order
  (the official evaluation does not sort them); `type_id` 1 = reasoning (kept, marked), 2 = no
  target (a count-0 question, no track).

Expressions are cleaned the same way everywhere (`clean_queries`): an empty text is dropped, an
expression repeated with the same objects is kept once, and one text that names different objects
in different entries is dropped (its answer would contradict itself). Each drop is a rejects row.

The frame rate of the released frames is not in the files: `frame_fps` (manifest option).
"""

from __future__ import annotations

import os
from collections import defaultdict

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages import masks as M
from pipeline.stages.records import (
    Dropped,
    FrameAnnotation,
    Query,
    TrackedObject,
    Video,
    VideoRecord,
)

from pipeline.sources.base import Converter, VideoRef, check, image_size, require_dir
from pipeline.sources.split_index import IndexWriter, SplitIndex, put_each_key

REFERRING, REASONING, NO_TARGET = 0, 1, 2
VIDEOS_SHAPE = "expected {\"videos\": {video: {...}}} at the top level"


def split_videos(path: str, writer: IndexWriter) -> None:
    """`{"videos": {video: entry}}` (meta_expressions.json, meta.json): one row per video."""
    put_each_key(path, writer, "videos", "entry", VIDEOS_SHAPE)


def split_by_key(path: str, writer: IndexWriter) -> None:
    """A top-level object (mask_dict.json: anno_id -> per-frame masks): one row per key."""
    put_each_key(path, writer, "", "value", "expected an object mapping anno_id to per-frame masks", required=False)


def meta_videos(conv: Converter, path: str, root: str) -> SplitIndex:
    """A `{"videos": {...}}` file's index: `.keys()` the videos, `.last(video, "entry")` one entry."""
    return conv.split_index(path, root, "videos", split_videos)


def video_entry(conv: Converter, path: str, root: str, video_id: str) -> dict:
    entry = meta_videos(conv, path, root).last(video_id, "entry")
    return entry if isinstance(entry, dict) else {}


def clean_queries(queries: list[Query], where: str) -> tuple[list[Query], list[Dropped]]:
    """Drop empty texts, repeats and self-contradicting texts (see the module docstring)."""
    dropped: list[Dropped] = []
    by_text: dict[str, list[Query]] = defaultdict(list)
    for q in queries:
        if not q.text.strip():
            dropped.append(Dropped("empty expression", f"expression {q.query_id}", level="row", file=where))
            continue
        by_text[" ".join(q.text.lower().split())].append(q)
    kept = []
    for text, group in by_text.items():
        sets = {frozenset(q.object_ids) for q in group}
        if len(sets) > 1:
            ids = ", ".join(q.query_id for q in group)
            dropped.append(Dropped("expression names different objects", f"{text!r} in expressions {ids}",
                                   level="row", file=where))
            continue
        kept.append(group[0])
        for q in group[1:]:
            dropped.append(Dropped("repeated expression", f"expression {q.query_id} repeats {group[0].query_id}: "
                                   f"{text!r}", level="row", file=where))
    kept.sort(key=lambda q: _id_order(q.query_id))
    return kept, dropped


def unanswered_queries(path: str, vid: str, expressions) -> tuple[list[Query], list[Dropped]]:
    """The expressions of a split whose answers are not public (MeViS valid, Ref-YouTube-VOS valid):
    each only an `exp`, a query over no object. Every one is kept, repeats included, since the
    benchmark wants an answer for each expression id; only an empty text is dropped."""
    if not isinstance(expressions, dict):
        raise SourceError(path, f"video {vid!r}: no \"expressions\" object")
    queries, dropped = [], []
    for eid, e in expressions.items():
        if not isinstance(e, dict) or not isinstance(e.get("exp"), str):
            raise SourceError(path, f"video {vid!r}, expression {eid}: no \"exp\" text")
        if not e["exp"].strip():
            dropped.append(Dropped("empty expression", f"expression {eid}", level="row", file=path))
            continue
        queries.append(Query(str(eid), " ".join(e["exp"].split()), (), "referring"))
    return sorted(queries, key=lambda q: _id_order(q.query_id)), dropped


def _id_order(value: str):
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def _id_list(path: str, value, what: str) -> list[str]:
    """An expression's `obj_id` / `anno_id`: a list (or a single value) of whole numbers, as strings."""
    items = value if isinstance(value, list) else [value]
    return [str(check(path, checks.whole, v, what)) for v in items]


class RefVosConverter(Converter):
    """Expressions + per-frame RLE lists (MeViS, ReVOS)."""

    kind = "mask"
    OPTIONS = {"frame_fps": ((int, float), 6.0, "frame rate of the released JPEG frames")}
    sort_frames = True
    no_mask_splits: tuple[str, ...] = ()

    def split_files(self, root: str, split: str) -> tuple[str, str, str]:
        """(frames folder, meta_expressions, mask_dict) of a split."""
        raise NotImplementedError

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, f"{self.name} root")
        frames_dir, meta, masks = self.split_files(root, split)
        answered = not (split in self.no_mask_splits and not os.path.exists(masks))
        if answered and not os.path.exists(masks):
            raise SourceError(masks, f"split {split!r} has no mask_dict.json: its rows cannot be built")
        videos = meta_videos(self, meta, root).keys()
        if answered:
            self.mask_index(masks, root)  # streamed now, once, not by the first video that asks
        refs = []
        for vid in sorted(videos):
            check(meta, checks.relative_path, vid, "video key")
            refs.append(self._ref(root, split, vid, os.path.join(frames_dir, vid), [meta, masks] if answered else [meta]))
        return refs

    def mask_index(self, path: str, root: str) -> SplitIndex:
        return self.split_index(path, root, "by-key", split_by_key)

    def fingerprint(self, ref: VideoRef) -> list:
        """The video's own entry and its objects' mask lists, not the files' mtimes: editing one
        video's masks recomputes that video only."""
        if len(ref.files) == 1:  # a split without public masks: the video's expressions alone
            return [meta_videos(self, ref.files[0], ref.root).digest(ref.video_id)]
        meta_path, masks_path = ref.files
        meta, masks = meta_videos(self, meta_path, ref.root), self.mask_index(masks_path, ref.root)
        expressions = video_entry(self, meta_path, ref.root, ref.video_id).get("expressions")
        annos = set()
        for e in (expressions.values() if isinstance(expressions, dict) else ()):
            ids = e.get("anno_id") if isinstance(e, dict) else None
            annos.update(str(a) for a in (ids if isinstance(ids, list) else [ids]) if a is not None)
        return [meta.digest(ref.video_id), {a: masks.digest(a) for a in sorted(annos)}]

    def load(self, ref: VideoRef) -> VideoRecord:
        meta_path = ref.files[0]
        entry = meta_videos(self, meta_path, ref.root).last(ref.video_id, "entry")
        if not isinstance(entry, dict) or not isinstance(entry.get("frames"), list):
            raise SourceError(meta_path, f"video {ref.video_id!r}: no \"frames\" list")
        names = [str(n) for n in entry["frames"]]
        if self.sort_frames:
            names = sorted(names)
        if not names:
            raise SourceError(meta_path, f"video {ref.video_id!r} has an empty frame list")
        check(meta_path, checks.frame_count, len(names), f"video {ref.video_id!r} frame count")
        if len(ref.files) == 1:
            return self.unanswered(ref, names, entry.get("expressions"))
        masks_path = ref.files[1]
        queries, objects_of, dropped = self.queries(meta_path, ref.video_id, entry.get("expressions"))
        index = self.mask_index(masks_path, ref.root)
        mask_lists = {a: index.last(a, "value") for a in objects_of}
        width, height = self.frame_size(ref, names, list(mask_lists.values()))
        objects = []
        for anno_id, number in objects_of.items():
            per_frame = mask_lists[anno_id]
            if not isinstance(per_frame, list):
                raise SourceError(masks_path, f"no mask list for anno_id {anno_id} (video {ref.video_id!r})")
            if len(per_frame) != len(names):
                raise SourceError(masks_path, f"anno_id {anno_id}: {len(per_frame)} masks for the {len(names)} frames "
                                  f"of video {ref.video_id!r}")
            obj = TrackedObject(anno_id, "mask", number=number)
            for i, rle in enumerate(per_frame):
                if not rle:  # null (or an empty list, as the official code reads it): absent
                    obj.frames[i] = FrameAnnotation(visible=False)
                    continue
                try:
                    rle = M.check_rle(rle, height, width, check_runs=False)
                except ValueError as e:
                    raise SourceError(masks_path, f"anno_id {anno_id}, frame {i} ({names[i]}): {e}") from None
                obj.frames[i] = FrameAnnotation(visible=M.area(rle) > 0, rle=rle)
            objects.append(obj)
        fps = float(self.options["frame_fps"])
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=len(names), fps=fps, annotation_fps=fps, frames_dir=ref.location,
            frame_files=tuple(f"{n}.jpg" for n in names), input_files=ref.files, root=ref.root,
        )
        return VideoRecord(video, objects, tuple(range(len(names))), dropped, queries=queries)

    def unanswered(self, ref: VideoRef, names: list[str], expressions) -> VideoRecord:
        """A video of a split without public masks (MeViS valid): its expressions (each only an
        `exp`) as queries with no objects, asked by rows with no answer (`VideoRecord.answered`)."""
        kept, dropped = unanswered_queries(ref.files[0], ref.video_id, expressions)
        width, height = image_size(os.path.join(ref.location, f"{names[0]}.jpg"), ref.root)
        fps = float(self.options["frame_fps"])
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=len(names), fps=fps, annotation_fps=fps, frames_dir=ref.location,
            frame_files=tuple(f"{n}.jpg" for n in names), input_files=ref.files, root=ref.root,
        )
        return VideoRecord(video, [], tuple(range(len(names))), dropped, queries=kept, answered=False)

    def queries(self, path: str, vid: str, expressions) -> tuple[list[Query], dict[str, int | None], list[Dropped]]:
        """The video's queries, the objects they name (anno_id -> obj_id) and what was dropped."""
        if not isinstance(expressions, dict):
            raise SourceError(path, f"video {vid!r}: no \"expressions\" object")
        queries, dropped, objects = [], [], {}
        for eid, e in expressions.items():
            if not isinstance(e, dict) or not isinstance(e.get("exp"), str):
                raise SourceError(path, f"video {vid!r}, expression {eid}: no \"exp\" text")
            annos = _id_list(path, e.get("anno_id", []), f"video {vid!r}, expression {eid}: anno_id")
            objs = e.get("obj_id", [])
            objs = _id_list(path, objs, f"video {vid!r}, expression {eid}: obj_id") if objs is not None else []
            type_id = e.get("type_id", REFERRING)
            if objs and len(objs) != len(annos):
                dropped.append(Dropped("obj_id and anno_id differ in length", f"expression {eid}: {objs} / {annos}",
                                       level="row", file=path))
                continue
            if type_id == NO_TARGET and annos:
                dropped.append(Dropped("no-target expression names objects", f"expression {eid}: anno_id {annos}",
                                       level="row", file=path))
                continue
            kind = "no_target" if not annos else "reasoning" if type_id == REASONING else "referring"
            for k, a in enumerate(annos):
                objects.setdefault(a, int(objs[k]) if objs else None)
            queries.append(Query(str(eid), " ".join(e["exp"].split()), tuple(annos), kind))
        kept, more = clean_queries(queries, path)
        used = {a for q in kept for a in q.object_ids}
        return kept, {a: n for a, n in sorted(objects.items(), key=lambda kv: _id_order(kv[0])) if a in used}, \
            dropped + more

    def frame_size(self, ref: VideoRef, names: list[str], mask_lists: list) -> tuple[int, int]:
        """(width, height): the first frame's, else the first mask's size."""
        first = os.path.join(ref.location, f"{names[0]}.jpg")
        if os.path.exists(first):
            return image_size(first, ref.root)
        for masks in mask_lists:
            for rle in masks if isinstance(masks, list) else []:
                if isinstance(rle, dict) and isinstance(rle.get("size"), list) and len(rle["size"]) == 2:
                    h, w = rle["size"]
                    return check(ref.files[1], checks.frame_size, w, h, "mask size")
        raise SourceError(ref.location, "frames folder is missing and no mask gives the frame size")


class MevisConverter(RefVosConverter):
    """Most MeViS videos were extracted at 5 fps (a few at 3 or 30; no per-video list is public:
    henghuiding/MeViS issue #18), hence `frame_fps` 5."""

    name = "mevis"
    # The Molmo2 datasets this source fills ({class: {data split: our splits}}; pipeline/ops/molmo2.py)
    molmo2 = {"Mevis": {"train": ("train",), "valid_u": ("valid_u",)}, "MevisChallenge": {"valid": ("valid",)}}
    molmo2_points = {"mevis": {"train": "train", "valid_u": "val"}}
    OPTIONS = {"frame_fps": ((int, float), 5.0, "frame rate of the released JPEG frames")}
    no_mask_splits = ("valid",)

    def split_files(self, root, split):
        base = os.path.join(root, split)
        require_dir(base, f"MeViS split {split!r}")
        return (os.path.join(base, "JPEGImages"), os.path.join(base, "meta_expressions.json"),
                os.path.join(base, "mask_dict.json"))


class RevosConverter(RefVosConverter):
    name = "revos"
    molmo2 = {"ReVOS": {"train": ("train",)}}
    sort_frames = False

    def split_files(self, root, split):
        meta = os.path.join(root, f"meta_expressions_{split}_.json")
        if not os.path.exists(meta):
            raise SourceError(meta, f"ReVOS split {split!r} not found (expected meta_expressions_{split}_.json, "
                              "with the trailing underscore)")
        return os.path.join(root, "JPEGImages"), meta, os.path.join(root, "mask_dict.json")
