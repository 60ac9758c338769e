"""Video-COCO JSON family ("YouTube-VIS format"): YouTube-VIS 2019/2021, OVIS, LV-VIS.

One JSON per split: `videos[{id, width, height, length, file_names}]`, `annotations[{id, video_id,
category_id, segmentations, bboxes, areas, iscrowd}]`, `categories[{id, name}]`. Per-frame lists
align with the video's `file_names`; a segmentation is a COCO RLE (counts as a string or, for
uncompressed RLE, a list), a polygon list, or null (the object is absent on that frame). Every
listed frame is annotated. Each annotation is one object (`obj_id` = its `id`), and each category
of a video is one question over all its objects.

The JSON is split-wide (OVIS's and LV-VIS's run to GBs): it is indexed once per build
(`split_index.py`: a row per video and per annotation under the video's folder name, the category
list as a note), and a video reads only its own rows.

Quirks, per dataset (subclass attributes): where the JSON and the frames are, the frame rate of the
listed frames (not in the file: `frame_fps`), OVIS `areas` being box areas (never read: visibility
is the mask's own area), LV-VIS Windows back-slashes in `file_names` and training labels that are
not exhaustive (its training videos give track rows but no counts).
"""

from __future__ import annotations

import os

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
    category_queries,
)

from pipeline.sources.base import Converter, VideoRef, category_names, check, require_dir
from pipeline.sources.split_index import IndexWriter, stream_items, top_level


def split_video_coco(path: str, writer: IndexWriter) -> None:
    """One row per video ("video") and per annotation ("annotation"), keyed by the video's folder
    name; the categories as the note "categories" ([id, name] pairs). Three streamed passes (videos,
    annotations, categories): the file may list them in any order."""
    if top_level(path) != "map":
        raise SourceError(path, "expected a video-COCO object with a \"videos\" list")
    key_of: dict = {}
    used: set[str] = set()
    for i, v in enumerate(stream_items(path, "videos.item")):
        if not isinstance(v, dict) or "id" not in v or not isinstance(v.get("file_names"), list) or not v["file_names"]:
            raise SourceError(path, f"videos[{i}] has no id or no file_names")
        key = video_key(v)
        if key in used:  # two videos in one folder: fall back to ids
            key = str(v["id"])
        used.add(key)
        key_of[v["id"]] = key
        writer.put(key, "video", v)
    if not key_of:
        raise SourceError(path, "expected a video-COCO object with a \"videos\" list")
    found = 0
    for i, a in enumerate(stream_items(path, "annotations.item")):
        if not isinstance(a, dict) or "video_id" not in a:
            raise SourceError(path, f"annotations[{i}] has no video_id")
        found += 1
        if a["video_id"] in key_of:
            writer.put(key_of[a["video_id"]], "annotation", a)
    if not found:
        raise SourceError(path, "has no \"annotations\" (or none in it): this split's masks are not public")
    writer.note("categories", list(category_names(stream_items(path, "categories.item")).items()))


def normalise_name(name) -> str:
    return str(name).replace("\\", "/")


def video_key(video: dict) -> str:
    """The video's name: the folder of its frames (`85aa3b0e/img_0000001.jpg` -> `85aa3b0e`)."""
    folder = os.path.dirname(normalise_name(video["file_names"][0]))
    return folder or str(video["id"])


class VideoCocoConverter(Converter):
    kind = "mask"
    OPTIONS = {"frame_fps": ((int, float), 6.0, "frame rate of the frames listed in file_names")}
    exhaustive_splits: tuple[str, ...] | None = None  # None: every split labels every object

    def annotation_file(self, root: str, split: str) -> str:
        raise NotImplementedError

    def frames_root(self, root: str, split: str) -> str:
        raise NotImplementedError

    def index(self, path: str, root: str):
        return self.split_index(path, root, "video-coco", split_video_coco)

    def fingerprint(self, ref: VideoRef) -> list:
        """The video's own rows and the category list, not the file's mtime."""
        return [self.index(ref.files[0], ref.root).digest(ref.video_id, notes=("categories",))]

    def discover(self, root: str, split: str) -> list[VideoRef]:
        require_dir(root, f"{self.name} root")
        path = self.annotation_file(root, split)
        videos = self.index(path, root).keys("video")
        frames = self.frames_root(root, split)
        refs = []
        for key in sorted(videos):
            check(path, checks.relative_path, key, "video folder")
            refs.append(self._ref(root, split, key, os.path.join(frames, key), [path]))
        return refs

    def load(self, ref: VideoRef) -> VideoRecord:
        (path,) = ref.files
        index = self.index(path, ref.root)
        rows = index.get(ref.video_id)
        if not rows.get("video"):
            raise SourceError(path, f"video {ref.video_id!r} is not in the file")
        v = rows["video"][-1]
        cats = dict(index.note("categories", []))
        names = [normalise_name(n) for n in v["file_names"]]
        width, height = check(path, checks.frame_size, v.get("width"), v.get("height"), f"video {ref.video_id!r}")
        n = check(path, checks.frame_count, len(names), f"video {ref.video_id!r} frame count")
        objects, dropped = [], []
        for a in sorted(rows.get("annotation", []), key=lambda a: str(a.get("id"))):
            aid = a.get("id")
            where = f"video {ref.video_id!r}, annotation {aid}"
            aid = check(path, checks.whole, aid, f"{where}: id")
            if a.get("iscrowd"):
                dropped.append(Dropped("crowd annotation", "iscrowd regions are not objects", str(aid), file=path))
                continue
            segs = a.get("segmentations")
            if not isinstance(segs, list):
                raise SourceError(path, f"{where}: no segmentations list")
            if len(segs) != n:
                raise SourceError(path, f"{where}: {len(segs)} segmentations for the video's {n} frames")
            category = cats.get(a.get("category_id"))
            if category is None:
                raise SourceError(path, f"{where}: category_id {a.get('category_id')!r} is not in categories")
            obj = TrackedObject(str(aid), "mask", category=category, number=aid)
            for i, seg in enumerate(segs):
                obj.frames[i] = self._frame(path, f"{where}, frame {i}", seg, height, width)
            objects.append(obj)
        fps = float(self.options["frame_fps"])
        frames_dir = self.frames_root(ref.root, ref.split)
        video = Video(
            source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
            n_frames=n, fps=fps, annotation_fps=fps, frames_dir=frames_dir, frame_files=tuple(names),
            input_files=ref.files, root=ref.root,
        )
        queries = category_queries(objects)
        if self.exhaustive_splits is not None and ref.split not in self.exhaustive_splits:
            queries = [Query(q.query_id, q.text, q.object_ids, q.type, countable=False) for q in queries]
        return VideoRecord(video, objects, tuple(range(n)), dropped, queries=queries)

    @staticmethod
    def _frame(path: str, where: str, seg, height: int, width: int) -> FrameAnnotation:
        if seg is None or seg == [] or seg == {}:
            return FrameAnnotation(visible=False)
        try:
            if isinstance(seg, list):  # polygons: [[x0, y0, x1, y1, ...], ...]
                if not all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and
                           all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p) for p in seg):
                    raise ValueError("polygon is not a list of at least three x, y pairs")
                for p in seg:
                    for x in p:
                        checks.finite(x, "polygon coordinate", -checks.MAX_SIDE, 2 * checks.MAX_SIDE)
                rle = M.polygons_to_rle(seg, height, width)
            else:
                rle = M.check_rle(seg, height, width, check_runs=False)
        except ValueError as e:
            raise SourceError(path, f"{where}: {e}") from None
        return FrameAnnotation(visible=M.area(rle) > 0, rle=rle)


class OvisConverter(VideoCocoConverter):
    """OVIS: `<root>/annotations_<split>.json`, frames `<root>/<split>/<video>/img_0000001.jpg`."""

    name = "ovis"
    molmo2_points = {"ovis": {"train": "train", "valid": "val"}}

    def annotation_file(self, root, split):
        return os.path.join(root, f"annotations_{split}.json")

    def frames_root(self, root, split):
        return os.path.join(root, split)


class LvvisConverter(VideoCocoConverter):
    """LV-VIS: `<root>/Annotations/<split>_instances.json`, frames
    `<root>/JPEGImages/<split>/<video>/00000.jpg` (haochenheheda/LVVIS README). Training videos are
    not exhaustively labelled: no count rows from them. Molmo2 reads LV-VIS at 4 fps."""

    name = "lvvis"
    molmo2 = {"LVVIS": {"train": ("train",)}}
    molmo2_points = {"lvvis": {"train": "train", "val": "val"}}
    OPTIONS = {"frame_fps": ((int, float), 4.0, "frame rate of the frames listed in file_names")}
    exhaustive_splits = ("val",)

    def annotation_file(self, root, split):
        return os.path.join(root, "Annotations", f"{split}_instances.json")

    def frames_root(self, root, split):
        """`JPEGImages/<split>/` as the README draws it; `<split>/JPEGImages/` as third-party
        readers (OpenVIS, OVFormer) lay it out, where that is what the root holds."""
        official, other = os.path.join(root, "JPEGImages", split), os.path.join(root, split, "JPEGImages")
        return other if not os.path.isdir(official) and os.path.isdir(other) else official


class YtvisConverter(VideoCocoConverter):
    """YouTube-VIS: 2021 `<root>/<split>/instances.json`, 2019 `<root>/<split>.json`; frames
    `<root>/<split>/JPEGImages/<video>/00000.jpg` (every 5th frame of 30 fps video: 6 fps)."""

    name = "ytvis"
    molmo2 = {"YTVIS": {"train": ("train",)}}

    def annotation_file(self, root, split):
        for path in (os.path.join(root, split, "instances.json"), os.path.join(root, f"{split}.json")):
            if os.path.exists(path):
                return path
        return os.path.join(root, split, "instances.json")

    def frames_root(self, root, split):
        return os.path.join(root, split, "JPEGImages")
