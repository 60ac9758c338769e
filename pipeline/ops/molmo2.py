"""Where allenai/molmo2's own training code looks for each of its academic video datasets, and which
of vgdata's sources, tasks, splits and rates fill it. Plain data: `vgdata export molmo2`
(`pipeline/ops/export.py`) and `vgdata publish --layout molmo2` lay a build out by it.

Read from allenai/molmo2 at commit f3cb108 (`olmo/data/get_dataset.py`,
`olmo/data/academic_video_track_datasets.py`, `olmo/data/academic_video_datasets.py`,
`olmo/data/dataset.py`); `tests/test_molmo2_reads.py` checks every entry against that code:
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

from dataclasses import dataclass, field

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
    source: str | None  # the vgdata source that fills it (None: not converted yet)
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict)  # data split -> vgdata splits
    masks: str | None = "{home}/{split}/MasksRLE"  # where get() opens MasksRLE on a non-train split
    sot: bool = False  # one repository for all single-object-track classes, config = dataset_name
    why_not: str = ""  # why vgdata does not fill it

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
TBD_VICAS = "ViCaS is not converted yet (the issue on the sources Molmo2 reads that are still missing)"
TBD_REASONVOS = "ReasonVOS is not converted yet (the issue on the sources Molmo2 reads that are still missing)"
TBD_LATOT = "LaTOT is not converted yet (the issue on the sources Molmo2 reads that are still missing)"
TBD_TNLLT = "TNLLT is not converted yet (the issue on the sources Molmo2 reads that are still missing)"


def _sot(cls: str, name: str, home: str, videos: str, source: str | None, splits: tuple[str, ...] = ("train",),
         why_not: str = "") -> TrackClass:
    return TrackClass(cls, name, "molmo2-single-object-track", home, videos, ("single_point_track",), TRAIN, source,
                      {"train": splits} if source else {}, masks=None, sot=True, why_not=why_not)


CLASSES: dict[str, TrackClass] = {c.cls: c for c in [
    TrackClass("Mevis", "mevis", "molmo2-mevis", "MeViS", "MeViS/{split}/videos", MOT_TASKS,
               {"train": "train", "validation": "valid_u", "test": "valid_u"}, "mevis",
               {"train": ("train",), "valid_u": ("valid_u",)}),
    TrackClass("MevisChallenge", "mevis-valid", "molmo2-mevis-valid", "MeViS", "MeViS/{split}/videos", ("track",),
               {"test": "valid"}, "mevis", {"valid": ("valid",)}),
    TrackClass("RefYoutubeVOS", "ref-yt-vos", "molmo2-ref-yt-vos", "Ref-YT-VOS", "Ref-YT-VOS/{split}/videos",
               ("track",), EVAL, "ref_youtube_vos", {"train": ("train",), "valid": ("valid",)}),
    TrackClass("RefDavis17", "ref-davis17", "molmo2-ref-davis17", "Ref-DAVIS17", "Ref-DAVIS17/{split}/videos",
               ("track",), EVAL, "ref_davis17", {"train": ("train",), "valid": ("val",)}),
    TrackClass("ReasonVOS", "reasonvos", "molmo2-reasonvos", "ReasonVOS", "ReasonVOS/videos", ("track",),
               {"test": "test"}, None, masks="{home}/MasksRLE", why_not=TBD_REASONVOS),
    TrackClass("Burst", "burst", "molmo2-burst", "TAO-Amodal", "TAO-Amodal/{split}/videos", MOT_TASKS, TRAIN,
               "burst", {"train": ("train",)}),
    TrackClass("LVVIS", "lv-vis", "molmo2-lv-vis", "LV-VIS", "LV-VIS/{split}/videos", MOT_TASKS, TRAIN, "lvvis",
               {"train": ("train",)}),
    TrackClass("YTVIS", "yt-vis", "molmo2-yt-vis", "YT-VIS", "YT-VIS/{split}/videos", ("track",), TRAIN, "ytvis",
               {"train": ("train",)}),
    TrackClass("ViCaS", "vicas", "molmo2-vicas", "ViCaS", "ViCaS/{split}/videos", MOT_TASKS, TRAIN, None,
               why_not=TBD_VICAS),
    TrackClass("ReVOS", "revos", "molmo2-revos", "ReVOS", "ReVOS/{split}/videos", MOT_TASKS, TRAIN, "revos",
               {"train": ("train",)}),
    TrackClass("MoCA", "moca", "molmo2-moca", "MoCA", "MoCA/videos", ("track", "ground"), TRAIN, "moca",
               {"train": ("all", "train")}),  # MoCA has no splits: any --split name reads every sequence
    _sot("LVOSv1", "lvosv1", "LVOSv1", "LVOSv1/{split}/videos", "lvos"),
    _sot("LVOSv2", "lvosv2", "LVOSv2", "LVOSv2/{split}/videos", "lvos_v2"),
    _sot("LaSOT", "lasot", "LaSOT", "LaSOT/{split}/videos", "lasot"),
    _sot("UWCOT", "uwcot", "UW-COT220", "UW-COT220/UW-COT220", "uw_cot220", ("test", "train", "all")),  # one set
    _sot("WebUOT", "webuot", "webuot", "webuot/Train", "webuot1m"),
    _sot("LaTOT", "latot", "LaTOT", "LaTOT/videos", None, why_not=TBD_LATOT),
    _sot("TNL2K", "tnl2k", "TNL2K", "TNL2K/videos", "tnl2k"),
    _sot("TNLLT", "tnnlt", "TNLLT", "TNLLT/videos", None, why_not=TBD_TNLLT),
    _sot("WebUAV", "webuav", "WebUAV", "WebUAV/videos", "webuav3m"),
    _sot("GOT10k", "got10k", "GOT-10k", "GOT-10k/videos", "got10k"),
    _sot("VastTrack", "vasttrack", "VastTrack", "VastTrack/videos", "vasttrack"),
    _sot("TrackingNet", "trackingnet", "TrackingNet", "TrackingNet/videos", "trackingnet",
         ("train",) + tuple(f"TRAIN_{i}" for i in range(12))),
]}


@dataclass(frozen=True)
class PointSubset:
    """A subset `AcademicVideoPoint` knows: where it opens the subset's videos (relative to
    VIDEO_DATA_HOME, "{split}" its own split: train or val) and how it names the file."""

    subset: str
    root: str
    source: str
    name_is_file: bool = False  # refdavis17, mevis, refyoutube: video_name is the file name, .mp4 included
    by_dataset: bool = False  # burst: a <dataset>/ folder between the root and the file
    splits: dict[str, str] = field(default_factory=dict)  # vgdata split -> Molmo2 point split (train, val)

    def video_path(self, split: str, video_name: str, dataset: str | None) -> str:
        """`_make_video_path`, relative to VIDEO_DATA_HOME (video_name as Molmo2 reads it)."""
        root = self.root.format(split=split)
        if self.by_dataset:
            return f"{root}/{dataset or ''}/{video_name}.mp4".replace("//", "/")
        return f"{root}/{video_name}" if self.name_is_file else f"{root}/{video_name}.mp4"


POINT_REPO = "molmo2-academic-video-points"
POINT_SPLITS = ("train", "val")
POINT_SUBSETS: dict[str, PointSubset] = {p.source: p for p in [
    PointSubset("lvvis", "LV-VIS/{split}/videos-2fps", "lvvis", splits={"train": "train", "val": "val"}),
    PointSubset("ovis", "OVIS/videos-2fps", "ovis", splits={"train": "train", "valid": "val"}),
    PointSubset("burst", "TAO-Amodal/{split}/videos-2fps", "burst", by_dataset=True,
                splits={"train": "train", "val": "val"}),
    PointSubset("refdavis17", "Ref-DAVIS17/{split}/videos-2fps", "ref_davis17", name_is_file=True,
                splits={"train": "train", "val": "val"}),
    PointSubset("mevis", "mevis/MeViS_release/{split}/videos-2fps", "mevis", name_is_file=True,
                splits={"train": "train", "valid_u": "val"}),
    PointSubset("refyoutube", "Ref-YT-VOS/{split}/videos-2fps", "ref_youtube_vos", name_is_file=True,
                splits={"train": "train", "valid": "val"}),
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


def classes_of(source: str) -> list[TrackClass]:
    return [c for c in CLASSES.values() if c.source == source]


def data_split_of(cls: TrackClass, split: str) -> str | None:
    """The Molmo2 data split a vgdata split of `cls.source` fills (None: none)."""
    return next((d for d, ours in cls.splits.items() if split in ours), None)


def molmo2_splits(cls: TrackClass, data_split: str) -> list[str]:
    """Molmo2's splits (train, validation, test) that read `data_split`."""
    return [s for s, d in cls.split_map.items() if d == data_split]
