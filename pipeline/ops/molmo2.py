"""Where allenai/molmo2's own training code looks for each of its academic video datasets, and which
of vgdata's sources, tasks, splits and rates fill it. Plain data: `vgdata export molmo2`
(`pipeline/ops/export.py`) and `vgdata publish --layout molmo2` lay a build out by it.

Read from allenai/molmo2 at commit f3cb108 (`olmo/data/get_dataset.py`,
`olmo/data/academic_video_track_datasets.py`, `olmo/data/academic_video_datasets.py`,
`olmo/data/dataset.py`); `tests/test_molmo2_reads.py` checks every entry against that code. Which
vgdata source fills which of them is said by the sources themselves (`Converter.molmo2`,
`Converter.molmo2_points`), so that a source in a package of its own fills Molmo2's names as the
built-in ones do:
- A tracking class (`TrackingDataset` subclass) reads the rows of (task, data split) with
  `datasets.load_from_disk(VIDEO_TRACK_DATA_HOME/tracking/<DATASET_NAME>/<task>/<data split>)` when
  that folder exists, else `load_dataset(HF_SOURCE, config, split=<data split>)` (config = the task,
  or the class's DATASET_NAME for the single-object-track classes, which share one repository).
  `VIDEO_TRACK_DATA_HOME` is `$MOLMO_DATA_DIR/video_datasets/video_track`.
- It opens `<its video dir>/<row video>.mp4` (`_get_video_dir`), and for a split other than
  `train` of an evaluated class, `<masks dir>/<row video>/<row qid>.json` (`MasksRLE`).
- `SPLIT_MAP` turns Molmo2's split (train, validation, test) into the data split.
- `AcademicVideoPoint` reads `$MOLMO_DATA_DIR/video_datasets/molmo2-academic-video-points-<split>`
  (train, val) and opens each row's video at a root of its subset (`_ACADEMIC_POINT_VIDEO_ROOTS`);
  it knows six subsets, any other is a KeyError.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.sources import sources

TRACK_HOME = "video_datasets/video_track"  # VIDEO_TRACK_DATA_HOME, relative to MOLMO_DATA_DIR
VIDEO_HOME = "video_datasets"  # VIDEO_DATA_HOME
MOLMO2_COMMIT = "f3cb108"


@dataclass(frozen=True)
class TrackClass:
    """One of Molmo2's tracking classes, as far as where it reads is concerned."""

    cls: str  # Molmo2's class name
    dataset_name: str  # DATASET_NAME: the cache folder under tracking/, and the SOT repository's config
    repo: str  # HF_SOURCE without its organisation (allenai/<repo>)
    home: str  # VIDEO_HOME, relative to VIDEO_TRACK_DATA_HOME
    videos: str  # _get_video_dir(data split), relative to VIDEO_TRACK_DATA_HOME ("{split}": the data split)
    tasks: tuple[str, ...]
    split_map: dict[str, str]  # Molmo2 split -> data split (SPLIT_MAP)
    masks: str | None = "{home}/{split}/MasksRLE"  # where get() opens MasksRLE on a non-train split
    sot: bool = False  # one repository for all single-object-track classes, config = dataset_name

    def video_dir(self, data_split: str) -> str:
        return self.videos.format(split=data_split)

    def masks_dir(self, data_split: str) -> str | None:
        return None if self.masks is None else self.masks.format(home=self.home, split=data_split)

    def config(self, task: str) -> str:
        return self.dataset_name if self.sot else task

    def rows_dir(self, task: str, data_split: str) -> str:
        """Where `_load_hf_dataset` looks first, relative to VIDEO_TRACK_DATA_HOME."""
        return f"tracking/{self.dataset_name}/{task}/{data_split}"

    def evaluated(self, data_split: str) -> bool:
        """`get()` opens the split's MasksRLE (`is_eval`: a Molmo2 split other than train)."""
        return self.masks is not None and any(s != "train" and d == data_split for s, d in self.split_map.items())


TRAIN = {"train": "train"}
EVAL = {"train": "train", "validation": "valid", "test": "valid"}
MOT_TASKS = ("track", "ground", "single_point_track")


def _sot(cls: str, name: str, home: str, videos: str) -> TrackClass:
    return TrackClass(cls, name, "molmo2-single-object-track", home, videos, ("single_point_track",), TRAIN, masks=None,
                      sot=True)


CLASSES: dict[str, TrackClass] = {c.cls: c for c in [
    TrackClass("Mevis", "mevis", "molmo2-mevis", "MeViS", "MeViS/{split}/videos", MOT_TASKS,
               {"train": "train", "validation": "valid_u", "test": "valid_u"}),
    TrackClass("MevisChallenge", "mevis-valid", "molmo2-mevis-valid", "MeViS", "MeViS/{split}/videos", ("track",),
               {"test": "valid"}),
    TrackClass("RefYoutubeVOS", "ref-yt-vos", "molmo2-ref-yt-vos", "Ref-YT-VOS", "Ref-YT-VOS/{split}/videos",
               ("track",), EVAL),
    TrackClass("RefDavis17", "ref-davis17", "molmo2-ref-davis17", "Ref-DAVIS17", "Ref-DAVIS17/{split}/videos",
               ("track",), EVAL),
    TrackClass("ReasonVOS", "reasonvos", "molmo2-reasonvos", "ReasonVOS", "ReasonVOS/videos", ("track",),
               {"test": "test"}, masks="{home}/MasksRLE"),
    TrackClass("Burst", "burst", "molmo2-burst", "TAO-Amodal", "TAO-Amodal/{split}/videos", MOT_TASKS, TRAIN),
    TrackClass("LVVIS", "lv-vis", "molmo2-lv-vis", "LV-VIS", "LV-VIS/{split}/videos", MOT_TASKS, TRAIN),
    TrackClass("YTVIS", "yt-vis", "molmo2-yt-vis", "YT-VIS", "YT-VIS/{split}/videos", ("track",), TRAIN),
    TrackClass("ViCaS", "vicas", "molmo2-vicas", "ViCaS", "ViCaS/{split}/videos", MOT_TASKS, TRAIN),
    TrackClass("ReVOS", "revos", "molmo2-revos", "ReVOS", "ReVOS/{split}/videos", MOT_TASKS, TRAIN),
    TrackClass("MoCA", "moca", "molmo2-moca", "MoCA", "MoCA/videos", ("track", "ground"), TRAIN),
    _sot("LVOSv1", "lvosv1", "LVOSv1", "LVOSv1/{split}/videos"),
    _sot("LVOSv2", "lvosv2", "LVOSv2", "LVOSv2/{split}/videos"),
    _sot("LaSOT", "lasot", "LaSOT", "LaSOT/{split}/videos"),
    _sot("UWCOT", "uwcot", "UW-COT220", "UW-COT220/UW-COT220"),
    _sot("WebUOT", "webuot", "webuot", "webuot/Train"),
    _sot("LaTOT", "latot", "LaTOT", "LaTOT/videos"),
    _sot("TNL2K", "tnl2k", "TNL2K", "TNL2K/videos"),
    _sot("TNLLT", "tnnlt", "TNLLT", "TNLLT/videos"),
    _sot("WebUAV", "webuav", "WebUAV", "WebUAV/videos"),
    _sot("GOT10k", "got10k", "GOT-10k", "GOT-10k/videos"),
    _sot("VastTrack", "vasttrack", "VastTrack", "VastTrack/videos"),
    _sot("TrackingNet", "trackingnet", "TrackingNet", "TrackingNet/videos"),
]}


@dataclass(frozen=True)
class PointSubset:
    """A subset `AcademicVideoPoint` knows: where it opens the subset's videos (relative to
    VIDEO_DATA_HOME, "{split}" its own split: train or val) and how it names the file."""

    subset: str
    root: str
    name_is_file: bool = False  # refdavis17, mevis, refyoutube: video_name is the file name, .mp4 included
    by_dataset: bool = False  # burst: a <dataset>/ folder between the root and the file

    def video_path(self, split: str, video_name: str, dataset: str | None) -> str:
        """`_make_video_path`, relative to VIDEO_DATA_HOME (video_name as Molmo2 reads it)."""
        root = self.root.format(split=split)
        if self.by_dataset:
            return f"{root}/{dataset or ''}/{video_name}.mp4".replace("//", "/")
        return f"{root}/{video_name}" if self.name_is_file else f"{root}/{video_name}.mp4"


POINT_REPO = "molmo2-academic-video-points"
POINT_SPLITS = ("train", "val")
POINT_SUBSETS: dict[str, PointSubset] = {p.subset: p for p in [
    PointSubset("lvvis", "LV-VIS/{split}/videos-2fps"),
    PointSubset("ovis", "OVIS/videos-2fps"),
    PointSubset("burst", "TAO-Amodal/{split}/videos-2fps", by_dataset=True),
    PointSubset("refdavis17", "Ref-DAVIS17/{split}/videos-2fps", name_is_file=True),
    PointSubset("mevis", "mevis/MeViS_release/{split}/videos-2fps", name_is_file=True),
    PointSubset("refyoutube", "Ref-YT-VOS/{split}/videos-2fps", name_is_file=True),
]}
POINT_RATE = 2  # AcademicVideoPoint(fps=2) and its videos-2fps roots


@dataclass(frozen=True)
class Name:
    """One name `get_dataset_by_name` knows, and what it reads."""

    name: str
    cls: str  # a TrackClass key, or "AcademicVideoPoint"
    task: str  # track, ground, single_point_track; point_count for the point dataset
    rate: int | None  # the sampling_fps it keeps (None: every rate)

    @property
    def points(self) -> bool:
        return self.cls == "AcademicVideoPoint"


def _names() -> list[Name]:
    out = []
    for prefix, cls, tasks in [("mevis", "Mevis", MOT_TASKS)]:
        out.append(Name(f"{prefix}_track", cls, "track", None))
        out.append(Name(f"{prefix}_track_1fps", cls, "track", 1))
        out.append(Name(f"{prefix}_track_2fps", cls, "track", 2))
        out.append(Name(f"{prefix}_ground", cls, "ground", None))
        out.append(Name(f"{prefix}_single_point_track", cls, "single_point_track", None))
        out.append(Name(f"{prefix}_track_eval_1fps", cls, "track", 1))
    out.append(Name("mevis_valid_track_eval_1fps", "MevisChallenge", "track", 1))
    for prefix, cls in [("ref_yt_vos", "RefYoutubeVOS"), ("ref_davis17", "RefDavis17")]:
        out += [Name(f"{prefix}_track", cls, "track", None), Name(f"{prefix}_track_eval_1fps", cls, "track", 1)]
    out.append(Name("reasonvos_track_eval_1fps", "ReasonVOS", "track", 1))
    for prefix, cls in [("burst", "Burst"), ("lv_vis", "LVVIS")]:
        out += [Name(f"{prefix}_{t}", cls, t, None) for t in MOT_TASKS]
    out.append(Name("yt_vis_track", "YTVIS", "track", None))
    for prefix, cls in [("vicas", "ViCaS"), ("revos", "ReVOS")]:
        out += [Name(f"{prefix}_{t}", cls, t, None) for t in MOT_TASKS]
    out += [Name("moca_track", "MoCA", "track", None), Name("moca_ground", "MoCA", "ground", None)]
    for c in CLASSES.values():
        if c.sot:
            out.append(Name(f"{c.dataset_name if c.cls != 'TNLLT' else 'tnllt'}_single_point_track", c.cls,
                            "single_point_track", None))
    out += [Name("academic_video_points", "AcademicVideoPoint", "point_count", POINT_RATE),
            Name("academic_points_clip_63s_2fps", "AcademicVideoPoint", "point_count", POINT_RATE)]
    return out


NAMES: list[Name] = _names()


def claims() -> dict[str, dict[str, dict[str, tuple[str, ...]]]]:
    """{Molmo2 class: {source: {data split: the source's splits that fill it}}}, from the sources."""
    found: dict[str, dict] = {}
    for name, conv in sources().items():
        for cls, splits in (vars(conv).get("molmo2") or {}).items():
            if cls not in CLASSES:
                continue
            found.setdefault(cls, {})[name] = {d: tuple(s) for d, s in splits.items()}
    return found


def point_claims() -> dict[str, tuple[str, dict[str, str]]]:
    """{source: (Molmo2 point subset, {source split: Molmo2 point split})}, from the sources."""
    found = {}
    for name, conv in sources().items():
        for subset, splits in (vars(conv).get("molmo2_points") or {}).items():
            if subset in POINT_SUBSETS:
                found[name] = (subset, dict(splits))
    return found


def classes_of(source: str) -> list[TrackClass]:
    return [CLASSES[c] for c, by_source in claims().items() if source in by_source]


def data_split_of(cls: TrackClass, source: str, split: str) -> str | None:
    """The Molmo2 data split `source`'s split fills in `cls` (None: none)."""
    return next((d for d, ours in claims().get(cls.cls, {}).get(source, {}).items() if split in ours), None)


def molmo2_splits(cls: TrackClass, data_split: str) -> list[str]:
    """Molmo2's splits (train, validation, test) that read `data_split`."""
    return [s for s, d in cls.split_map.items() if d == data_split]
