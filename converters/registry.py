"""Source name -> converter class and data manifest (`data_manifests/<name>.yaml`).

Adding a source: write the converter (or reuse a family's), add its manifest, and list it here.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from pipeline.errors import ConfigError

from .base import Converter
from .burst import BurstConverter
from .coco_mot import SeaDronesSeeConverter
from .gluoncv_motion import PersonPath22Converter
from .moca import MocaConverter
from .mot import (
    AnimalTrackConverter,
    BftConverter,
    DanceTrackConverter,
    MotConverter,
    SoccerNetConverter,
    SportsMotConverter,
    TeamTrackConverter,
)
from .palette import LvosConverter, MoseConverter, RefDavis17Converter, RefYoutubeVosConverter, VipsegConverter
from .refvos import MevisConverter, RevosConverter
from .sav import SavConverter
from .scalabel import ScalabelConverter
from .sot import (
    Got10kConverter,
    LasotConverter,
    Tnl2kConverter,
    TrackingNetConverter,
    UwCot220Converter,
    VastTrackConverter,
    WebUavConverter,
    WebUotConverter,
)
from .vcoco import LvvisConverter, OvisConverter, YtvisConverter

SOURCES: dict[str, type[Converter]] = {
    "sav": SavConverter,
    "mot": MotConverter,
    "lasot": LasotConverter,
    "mevis": MevisConverter,
    "revos": RevosConverter,
    "ref_youtube_vos": RefYoutubeVosConverter,
    "ref_davis17": RefDavis17Converter,
    "lvvis": LvvisConverter,
    "ovis": OvisConverter,
    "burst": BurstConverter,
    "ytvis": YtvisConverter,
    "lvos": LvosConverter,
    "mose": MoseConverter,
    "vipseg": VipsegConverter,
    "sportsmot": SportsMotConverter,
    "dancetrack": DanceTrackConverter,
    "teamtrack": TeamTrackConverter,
    "soccernet": SoccerNetConverter,
    "got10k": Got10kConverter,
    "trackingnet": TrackingNetConverter,
    "tnl2k": Tnl2kConverter,
    "vasttrack": VastTrackConverter,
    "webuav3m": WebUavConverter,
    "webuot1m": WebUotConverter,
    "uw_cot220": UwCot220Converter,
    "bdd100k": ScalabelConverter,
    "moca": MocaConverter,
    "personpath22": PersonPath22Converter,
    "seadronessee": SeaDronesSeeConverter,
    "bft": BftConverter,
    "animaltrack": AnimalTrackConverter,
}

MANIFEST_DIR = Path(__file__).resolve().parent.parent / "data_manifests"
REQUIRED_MANIFEST_KEYS = ("name", "title", "homepage", "licence", "licence_id", "citation", "format", "kind",
                          "annotation_fps", "splits", "tasks", "layout")


def get_converter(name: str, **options) -> Converter:
    try:
        cls = SOURCES[name]
    except KeyError:
        raise ConfigError(f"unknown source {name!r}; known sources: {', '.join(sorted(SOURCES))}") from None
    return cls(**options)


@functools.lru_cache(maxsize=None)
def load_manifest(name: str) -> dict:
    path = MANIFEST_DIR / f"{name}.yaml"
    if not path.exists():
        raise ConfigError(f"no data manifest for source {name!r} at {path}")
    data = yaml.safe_load(path.read_text())
    missing = [k for k in REQUIRED_MANIFEST_KEYS if k not in data]
    if missing:
        raise ConfigError(f"{path}: missing keys {missing}")
    return data


def print_sources() -> None:
    """`vgdata sources`: one row per source, from its data manifest."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="vgdata sources", show_lines=False)
    for col in ("name", "kind", "licence", "builds", "layout confirmed against"):
        table.add_column(col, overflow="fold")
    for name in sorted(SOURCES):
        m = load_manifest(name)
        track_tasks = [t for t in m["tasks"] if t != "point_count"]
        builds = ["AcademicVideoPoint"] if "point_count" in m["tasks"] else []
        if track_tasks:
            builds.append(f"AcademicVideoTrack ({', '.join(track_tasks)})")
        if "track" in m["tasks"]:
            builds.append("AcademicVideoGround (ground, from the track rows)")
        table.add_row(name, m["kind"], m["licence"], "; ".join(builds), m.get("confirmed", "not recorded"))
    Console(width=200).print(table)
