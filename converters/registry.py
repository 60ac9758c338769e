"""Source name -> converter class and data manifest (`data_manifests/<name>.yaml`).

Adding a source: write the converter (or reuse a family's), add its manifest, and list it here.
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import yaml

from pipeline.errors import ConfigError

from .base import Converter
from .burst import BurstConverter
from .coco_mot import AptV2Converter, SeaDronesSeeConverter
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
from .palette import (
    LvosConverter,
    LvosV2Converter,
    MoseConverter,
    RefDavis17Converter,
    RefYoutubeVosConverter,
    VipsegConverter,
)
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
    "lvos_v2": LvosV2Converter,
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
    "aptv2": AptV2Converter,
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


NOT_INDEPENDENT = ("not independent:", "partial:", "second independent reader: not found")
NOT_FOUND = "second independent reader: not found"


def evidence(m: dict) -> tuple[str, str]:
    """(status, what) of a manifest's `checked_against`: "real file" (what, and the test that
    converts it), "two readers", "one reader" (the second not found), or "unchecked"."""
    c = m.get("checked_against") or {}
    if c.get("real_file"):
        return "real file", f"{c['real_file']} [{c['test']}]"
    listed = c.get("readers") or []
    readers = [r for r in listed if not r.startswith(NOT_INDEPENDENT)]
    if len(readers) >= 2:
        return "two readers", " | ".join(f"{i}) {r}" for i, r in enumerate(readers, 1))
    if readers:
        more = [r for r in listed if r.startswith(NOT_INDEPENDENT) and r != NOT_FOUND]
        return "one reader", " | ".join([f"1) {readers[0]}"] + more + ["a second, independent reader was not found"])
    return "unchecked", "nothing recorded"


def _builds(m: dict) -> list[str]:
    track_tasks = [t for t in m["tasks"] if t != "point_count"]
    builds = ["AcademicVideoPoint"] if "point_count" in m["tasks"] else []
    if track_tasks:
        builds.append(f"AcademicVideoTrack ({', '.join(track_tasks)})")
    if "track" in m["tasks"]:
        builds.append("AcademicVideoGround (ground, from the track rows)")
    return builds


def _evidence_by_source() -> tuple[dict[str, tuple[str, str]], Counter]:
    """{source: (status, what)} in name order, and how many sources have each status."""
    found = {name: evidence(load_manifest(name)) for name in sorted(SOURCES)}
    return found, Counter(status for status, _ in found.values())


def sources_markdown() -> str:
    """The README's table of what each source's layout was checked against (`vgdata sources --markdown`)."""
    lines = ["| source | checked against | what |", "|---|---|---|"]
    found, counts = _evidence_by_source()
    for name, (status, what) in found.items():
        lines.append(f"| `{name}` | {status} | {what.replace('|', '/')} |")
    lines += ["", f"{len(SOURCES)} sources: {counts['real file']} on real files, {counts['two readers']} on two "
              f"independent readers, {counts['one reader']} on one reader (no second found)."]
    return "\n".join(lines) + "\n"


def print_sources(markdown: bool = False) -> None:
    """`vgdata sources`: one row per source, from its data manifest, with the real file or the two
    readers its layout was checked against (`--markdown`: the README's table of those)."""
    if markdown:
        print(sources_markdown(), end="")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="vgdata sources", show_lines=False)
    for col in ("name", "kind", "licence", "builds", "checked against"):
        table.add_column(col, overflow="fold")
    found, counts = _evidence_by_source()
    for name, (status, what) in found.items():
        m = load_manifest(name)
        table.add_row(name, m["kind"], m["licence"], "; ".join(_builds(m)), f"{status}: {what}")
    console = Console(width=200)
    console.print(table)
    console.print(f"{counts['real file']} sources on real files, {counts['two readers']} on two readers, "
                  f"{counts['one reader']} on one reader (no second found), {counts['unchecked']} unchecked.")
