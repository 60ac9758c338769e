"""BURST (Ali2500/BURST-benchmark): TAO videos with per-track RLE masks and LVIS categories.

`<split>/all_classes.json` holds `sequences[{id, dataset, seq_name, fps, width, height,
all_image_paths, annotated_image_paths, track_category_ids, not_exhaustive_category_ids,
neg_category_ids, segmentations}]` and `categories` (LVIS ids). `segmentations` has one dict per
annotated frame, aligned with `annotated_image_paths` (not `all_image_paths`), mapping a track id
(a string) to `{"rle": COUNTS}`: the counts string only, the size being the sequence's
(height, width). A track missing from an annotated frame's dict is not visible there.

The video is every frame of `all_image_paths` at the sequence's `fps`; the annotated frames (1 fps
in val/test) sit where their paths are in that list, and the 2 fps grid keeps only the times an
annotation serves (the half seconds are dropped with their reason). Each category of a sequence is
one question over its tracks; a category the sequence lists as not exhaustively annotated gives
track rows but no count.

Frames: `<root>/frames/<split>/<dataset>/<seq_name>/<path>`; annotations
`<root>/annotations/<split>/all_classes.json` (or `<root>/<split>/all_classes.json`). The
annotation file is split-wide: it is indexed once per build (`split_index.py`, a row per sequence,
the categories as a note), and a sequence reads only its own row.
"""

from __future__ import annotations

import os

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages import masks as M
from pipeline.stages.records import FrameAnnotation, Query, TrackedObject, Video, VideoRecord

from pipeline.sources.base import Converter, VideoRef, category_names, check, require_dir
from pipeline.sources.split_index import IndexWriter, stream_items, top_level

SHAPE = "expected an object with a \"sequences\" list"


def split_sequences(path: str, writer: IndexWriter) -> None:
    """One row per sequence, keyed `<dataset>/<seq_name>`; the categories as the note
    "categories" ([id, name] pairs)."""
    if top_level(path) != "map":
        raise SourceError(path, SHAPE)
    found = 0
    for i, s in enumerate(stream_items(path, "sequences.item")):
        if not isinstance(s, dict) or not isinstance(s.get("seq_name"), str) or not isinstance(s.get("dataset"), str):
            raise SourceError(path, f"sequences[{i}] has no dataset or seq_name")
        writer.put(f"{s['dataset']}/{s['seq_name']}", "sequence", s)
        found += 1
    if not found:
        raise SourceError(path, SHAPE + " (no sequences in it)")
    writer.note("categories", list(category_names(stream_items(path, "categories.item")).items()))


class BurstConverter(Converter):
    name = "burst"
    molmo2 = {"Burst": {"train": ("train",)}}
    molmo2_points = {"burst": {"train": "train", "val": "val"}}
    kind = "mask"
    OPTIONS = {"annotation_file": (str, "all_classes.json", "which annotation file of the split to read")}

    def annotation_file(self, root: str, split: str) -> str:
        """`annotations/<split>/all_classes.json` (or `<split>/...`); the train split's file is
        `train.json` (burstapi's layout, and OpenVIS's load_burst_json reads it so), taken where
        no all_classes.json is there."""
        name = self.options["annotation_file"]
        names = [name] + ([f"{split}.json"] if name == "all_classes.json" else [])
        for candidate in names:
            for path in (os.path.join(root, "annotations", split, candidate), os.path.join(root, split, candidate)):
                if os.path.exists(path):
                    return path
        raise SourceError(os.path.join(root, "annotations", split, name), f"BURST split {split!r} not found "
                          f"(looked for {' or '.join(names)})")

    def index(self, path: str, root: str):
        return self.split_index(path, root, "burst", split_sequences)

    def fingerprint(self, ref: VideoRef) -> list:
        """The sequence's own row and the category list, not the file's mtime."""
        return [self.index(ref.files[0], ref.root).digest(ref.video_id, notes=("categories",))]

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, "BURST root")
        path = self.annotation_file(root, split)
        seqs = self.index(path, root).keys("sequence")
        refs = []
        for key in sorted(seqs):
            check(path, checks.relative_path, key, "sequence")
            refs.append(self._ref(root, split, key, os.path.join(root, "frames", split, key), [path]))
        return refs

    def load(self, ref: VideoRef) -> VideoRecord:
        (path,) = ref.files
        index = self.index(path, ref.root)
        s = index.last(ref.video_id, "sequence")
        cats = dict(index.note("categories", []))
        if s is None:
            raise SourceError(path, f"sequence {ref.video_id!r} is not in the file")
        where = f"sequence {ref.video_id!r}"
        width, height = check(path, checks.frame_size, s.get("width"), s.get("height"), where)
        fps = check(path, checks.frame_rate, s.get("fps"), f"{where} fps")
        all_paths, annotated_paths = s.get("all_image_paths"), s.get("annotated_image_paths")
        segs = s.get("segmentations")
        if not all(isinstance(x, list) for x in (all_paths, annotated_paths, segs)):
            raise SourceError(path, f"{where}: all_image_paths, annotated_image_paths and segmentations must be lists")
        n = check(path, checks.frame_count, len(all_paths), f"{where} frame count")
        if len(segs) != len(annotated_paths):
            raise SourceError(path, f"{where}: {len(segs)} segmentations for {len(annotated_paths)} annotated frames")
        position = {p: i for i, p in enumerate(all_paths)}
        missing = [p for p in annotated_paths if p not in position]
        if missing:
            raise SourceError(path, f"{where}: annotated frame {missing[0]!r} is not in all_image_paths")
        frames = [position[p] for p in annotated_paths]
        track_cats = s.get("track_category_ids") or {}
        if not isinstance(track_cats, dict):
            raise SourceError(path, f"{where}: track_category_ids is not an object")
        objects: dict[str, TrackedObject] = {}
        for tid, cat in sorted(track_cats.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0):
            tid = str(check(path, checks.whole, int(tid) if str(tid).isdigit() else tid, f"{where}: track id"))
            name = cats.get(cat)
            if name is None:
                raise SourceError(path, f"{where}: track {tid} has category {cat!r}, not in categories")
            objects[tid] = TrackedObject(tid, "mask", category=name, number=int(tid))
        for k, (frame, per_track) in enumerate(zip(frames, segs)):
            if not isinstance(per_track, dict):
                raise SourceError(path, f"{where}: segmentations[{k}] is not an object")
            unknown = set(per_track) - set(objects)
            if unknown:
                raise SourceError(path, f"{where}: segmentations[{k}] has track {sorted(unknown)[0]!r} with no category")
            for tid, obj in objects.items():
                seg = per_track.get(tid)
                if seg is None:
                    obj.frames[frame] = FrameAnnotation(visible=False)
                    continue
                counts = seg.get("rle") if isinstance(seg, dict) else None
                try:
                    rle = M.check_rle({"size": [height, width], "counts": counts}, height, width, check_runs=False)
                except ValueError as e:
                    raise SourceError(path, f"{where}, annotated frame {k}, track {tid}: {e}") from None
                obj.frames[frame] = FrameAnnotation(visible=M.area(rle) > 0, rle=rle)
        not_exhaustive = {cats.get(c) for c in s.get("not_exhaustive_category_ids") or []}
        by_cat: dict[str, list[str]] = {}
        for o in objects.values():
            by_cat.setdefault(o.category, []).append(o.object_id)
        queries = [Query(c, c, tuple(ids), "category", countable=c not in not_exhaustive) for c, ids in sorted(by_cat.items())]
        annotation_fps = fps * len(set(frames)) / n if n > 1 else fps
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=n, fps=fps, annotation_fps=max(annotation_fps, 1e-3), frames_dir=ref.location,
            frame_files=tuple(str(p) for p in all_paths), input_files=ref.files, root=ref.root,
        )
        return VideoRecord(video, list(objects.values()), tuple(sorted(set(frames))), queries=queries)
