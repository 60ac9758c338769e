"""COCO-style multi-object tracking JSON: SeaDronesSee MOT
(`annotations/instances_<split>_objects_in_water.json` beside `images/<split>/<id>.png`), and APTv2
(COCO keypoint files whose images carry `video_id` and objects `track_id`; see `AptV2Converter`).

One JSON per split: `images` `{id, file_name, height, width, video_id, frame_index}` (the frame's
number in the source video, e.g. 715: not 0..N), `videos` `{id, height, width, "name:"}` (the key
really is spelt with a colon; older files may say `name`), `annotations` `{id, image_id, bbox
[x, y, w, h], category_id, video_id, track_id}`, `categories`. A video's frames are its images
ordered by `frame_index`; its annotation rate is the frame rate over the usual gap between them.
Each category (swimmer, swimmer with life jacket, boat, ...) is one query; a category named
"ignored" is an ignore region (never a track, in the rejects table); an annotation without a
`track_id` is left out with the reason; two boxes of one track on one image (some files have
them) keep the larger, the other reported. Images whose `video_id` has no `videos` entry form a video
named `video_<id>`. `--option annotation=swimmer` reads `instances_<split>_swimmer.json` instead;
images may also sit in `<root>/<split>/`. The JSON is split-wide: it is indexed once per build
(`split_index.py`: a row per image and per annotation under its video's name, the categories as a
note), and a video reads only its own rows.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

from pipeline import checks
from pipeline.errors import SourceError
from pipeline.stages.masks import source_box
from pipeline.stages.records import Dropped, FrameAnnotation, TrackedObject, Video, VideoRecord

from pipeline.sources.base import Converter, VideoRef, annotation_rate, category_names, check, require_dir
from pipeline.sources.split_index import IndexWriter, stream_items, top_level

IGNORED = {"ignored", "ignore"}


def split_coco_tracking(path: str, writer: IndexWriter) -> None:
    """Rows "image" and "annotation" keyed by their video's name; the categories as the note
    "categories" ([id, name] pairs). Streamed passes: videos (names), images, annotations,
    categories. Held meanwhile: video id -> name and image id -> video name (small numbers). A file
    without a `videos` list (APTv2) names each video `video_<id>`."""
    if top_level(path) != "map":
        raise SourceError(path, "not a COCO tracking JSON (no images list)")
    names = {}
    for v in stream_items(path, "videos.item"):
        if isinstance(v, dict) and "id" in v:
            raw = v.get("name:") or v.get("name") or f"video_{v['id']}"
            names[v["id"]] = os.path.splitext(os.path.basename(str(raw)))[0] or f"video_{v['id']}"
    image_video = {}
    for im in stream_items(path, "images.item"):
        if isinstance(im, dict) and "id" in im and "video_id" in im:
            key = names.get(im["video_id"], f"video_{im['video_id']}")
            writer.put(key, "image", im)
            image_video[im["id"]] = key
    if not image_video:
        raise SourceError(path, "not a COCO tracking JSON (no images list)")
    for a in stream_items(path, "annotations.item"):
        if isinstance(a, dict) and a.get("image_id") in image_video:
            writer.put(image_video[a["image_id"]], "annotation", a)
    writer.note("categories", list(category_names(stream_items(path, "categories.item")).items()))


def _box_area(box: tuple | None) -> float:
    """A clipped (x0, y0, x1, y1) box's area; -1 for no box, so any box beats none."""
    return -1.0 if box is None else (box[2] - box[0]) * (box[3] - box[1])


class SeaDronesSeeConverter(Converter):
    name = "seadronessee"
    title = "SeaDronesSee"
    kind = "box"
    annotation = "instances_{split}_{which}.json"
    OPTIONS = {"frame_fps": ((int, float), 30.0, "frame rate of the source videos (the images' frame_index counts in it)"),
               "annotation": (str, "objects_in_water", "which annotation file: objects_in_water or swimmer")}

    def _json(self, root: str, split: str) -> str:
        name = self.annotation.format(split=split, which=self.options["annotation"])
        for folder in ("annotations", ""):
            path = os.path.join(root, folder, name)
            if os.path.exists(path):
                return path
        raise SourceError(os.path.join(root, "annotations", name), "annotation JSON not found")

    def index(self, path: str, root: str):
        return self.split_index(path, root, "coco-tracking", split_coco_tracking)

    def fingerprint(self, ref: VideoRef) -> list:
        """The video's own images and annotations and the category list, not the file's mtime."""
        return [self.index(ref.files[0], ref.root).digest(ref.video_id, notes=("categories",))]

    def frame_numbers(self, path: str, images: list[dict]) -> dict[int, dict]:
        """{frame number in the source video: image}: the images' `frame_index`."""
        by_number = {}
        for im in images:
            number = im.get("frame_index")
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise SourceError(path, f"image {im.get('id')}: frame_index {number!r} is not a whole number >= 0")
            by_number[number] = im
        return by_number

    def file_name(self, image: dict) -> str:
        return str(image.get("file_name", ""))

    def frame_rate(self, ref: VideoRef) -> float:
        return float(ref.option("frame_fps", 30.0))

    def images_dir(self, root: str, split: str) -> str:
        """`<root>/images/<split>/`, or `<root>/<split>/` where that is what the root holds."""
        images, other = os.path.join(root, "images", split), os.path.join(root, split)
        return other if not os.path.isdir(images) and os.path.isdir(other) else images

    def discover(self, root: str, split: str) -> list[VideoRef]:
        path = self._json(root, split)
        images = self.images_dir(root, split)
        require_dir(images, f"{self.title} images")
        return [self._ref(root, split, key, images, [path]) for key in sorted(self.index(path, root).keys("image"))]

    def load(self, ref: VideoRef) -> VideoRecord:
        path = ref.files[0]
        index = self.index(path, ref.root)
        entry, names = index.get(ref.video_id), dict(index.note("categories", []))
        if not entry.get("image"):
            raise SourceError(path, f"video {ref.video_id!r} has no images")
        for im in entry["image"]:
            check(path, checks.relative_path, self.file_name(im), f"image {im.get('id')} file_name")
        by_number = self.frame_numbers(path, entry["image"])
        first = min(by_number)
        n = check(path, checks.frame_count, max(by_number) - first + 1, "frame_index span")
        files = tuple(self.file_name(by_number[first + i]) if first + i in by_number else "" for i in range(n))
        sizes = {(im.get("width"), im.get("height")) for im in by_number.values()}
        if len(sizes) != 1:
            raise SourceError(path, f"video {ref.video_id!r}: images of different sizes {sorted(sizes, key=str)[:3]}")
        width, height = check(path, checks.frame_size, *sizes.pop(), "image width/height")
        frame_of = {im["id"]: number - first for number, im in by_number.items()}
        tracks: dict[str, dict[int, tuple | None]] = defaultdict(dict)
        category: dict[str, str] = {}
        dropped = []
        for a in entry.get("annotation", []):
            cat = names.get(a.get("category_id"), str(a.get("category_id")))
            if a.get("track_id") is None:
                dropped.append(Dropped("annotation without track_id", f"annotation {a.get('id')}: left out", None,
                                       "frame", frame_of[a["image_id"]], path))
                continue
            tid, frame, bb = str(a["track_id"]), frame_of[a["image_id"]], a.get("bbox")
            category.setdefault(tid, cat)
            ok = isinstance(bb, list) and len(bb) == 4 and all(isinstance(v, (int, float)) for v in bb)
            box, problem = source_box(bb[0], bb[1], bb[0] + bb[2], bb[1] + bb[3], width, height) if ok else (
                None, "box is not [x, y, w, h]")
            if box is None:
                dropped.append(Dropped(problem, f"annotation {a.get('id')}: kept as not visible", tid, "frame", frame, path))
            if frame in tracks[tid]:  # a second box of the track on this image: keep the larger
                dropped.append(Dropped("two boxes of one track on one image", f"annotation {a.get('id')}: the larger "
                                       "box is kept", tid, "frame", frame, path))
                if _box_area(box) <= _box_area(tracks[tid][frame]):
                    continue
            tracks[tid][frame] = box
        objects = []
        for tid in sorted(tracks, key=lambda t: (len(t), t)):
            if category[tid].lower() in IGNORED:
                dropped.append(Dropped(f"ignore region ({category[tid]})", f"{len(tracks[tid])} boxes", tid, file=path))
                continue
            obj = TrackedObject(object_id=tid, kind="box", category=category[tid])
            obj.frames = {f: FrameAnnotation(visible=b is not None, box=b) for f, b in sorted(tracks[tid].items())}
            objects.append(obj)
        annotated = tuple(sorted(frame_of.values()))
        fps = self.frame_rate(ref)
        video = Video(source=ref.source, split=ref.split, video_id=ref.video_id, width=width, height=height,
                      n_frames=n, fps=fps, annotation_fps=annotation_rate(fps, annotated),
                      frames_dir=ref.location, frame_files=files, input_files=ref.files, root=ref.root)
        return VideoRecord(video, objects, annotated, dropped)


_NUMBER = re.compile(r"(\d+)(?!.*\d)")


class AptV2Converter(SeaDronesSeeConverter):
    """APTv2 (animal pose estimation and tracking; Yang et al. 2023): 2,749 clips of 15 frames from
    30 species, `annotations_{easy,hard}/{train,val,test}_annotations.json` beside the images, whose
    `file_name`s are relative to the root (the official configs, ViTAE-Transformer/APTv2: mmpose's
    AP-10K reader with `img_prefix` = the data root). COCO keypoint files whose images carry
    `video_id` and whose objects carry `track_id` (the one reader of those fields found, an APT-36K
    loader, groups frames by `video_id` and objects by `track_id`); `file_name`s may use Windows
    back-slashes. Boxes (`bbox`, x, y, w, h) are the objects; keypoints are not read. A clip's frames
    are its images in the order of the last number in their file names (ties by image id). No public
    file gives the clips' frame rate: `--option frame_fps=N` is required. Option `subset`: the
    easy or hard annotation files (the official configs validate and test on hard)."""

    name = "aptv2"
    title = "APTv2"
    OPTIONS = {"frame_fps": ((int, float), 0.0, "frame rate of the clips' frames (not recorded by APTv2; required)"),
               "subset": (str, "hard", "which annotation files: easy or hard")}

    def _json(self, root: str, split: str) -> str:
        subset = self.options["subset"]
        if subset not in ("easy", "hard"):
            raise SourceError(root, f"option subset={subset!r}: use easy or hard")
        path = os.path.join(root, f"annotations_{subset}", f"{split}_annotations.json")
        if not os.path.exists(path):
            raise SourceError(path, "annotation JSON not found")
        return path

    def images_dir(self, root: str, split: str) -> str:
        return root

    def discover(self, root: str, split: str) -> list[VideoRef]:
        if not float(self.options["frame_fps"]) > 0:
            raise SourceError(root, "APTv2 does not record its clips' frame rate: pass --option frame_fps=N "
                                    "(the rate the clips' frames were taken at)")
        return super().discover(root, split)

    def frame_rate(self, ref: VideoRef) -> float:
        return float(ref.option("frame_fps"))

    def file_name(self, image: dict) -> str:
        return str(image.get("file_name", "")).replace("\\", "/")

    def frame_numbers(self, path: str, images: list[dict]) -> dict[int, dict]:
        def key(im):
            m = _NUMBER.search(os.path.basename(self.file_name(im)))
            return (int(m.group(1)) if m else -1, im.get("id", 0))
        return dict(enumerate(sorted(images, key=key)))
