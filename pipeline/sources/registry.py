"""Which sources there are: every converter registered under the entry-point group
`vgdata.sources` of an installed package, vgdata's own included (its built-in sources register in
its `pyproject.toml` the same way). A source in a package of its own is a `Converter` subclass
and its data manifest; installing the package is all it takes for `vgdata convert`, `build`,
`audit`, `eval`, `report`, `pull`, `sources`, the card and the export to find it: nothing under
`pipeline/` imports a converter module (the layers contract in pyproject.toml says so).

A source that cannot be loaded (an import error in its package, an entry point that names no
Converter, a name that is not the converter's own, two packages claiming one name) is left out,
and asking for it says why, naming its package.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections import Counter

import yaml

from pipeline.errors import ConfigError

from .base import Converter

GROUP = "vgdata.sources"


@functools.lru_cache(maxsize=1)
def _registry() -> tuple[dict[str, type[Converter]], dict[str, str]]:
    """({name: converter class}, {name: why it could not be registered}) of the installed packages."""
    found: dict[str, type[Converter]] = {}
    broken: dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group=GROUP):
        where = f"entry point {ep.name} = {ep.value!r}" + (f" of {ep.dist.name}" if ep.dist else "")
        try:
            cls = ep.load()
        except Exception as e:  # noqa: BLE001 - a broken package must not stop the others
            broken[ep.name] = f"{where} cannot be loaded ({type(e).__name__}: {e})"
            continue
        if not (isinstance(cls, type) and issubclass(cls, Converter)):
            broken[ep.name] = f"{where} is not a Converter subclass"
        elif getattr(cls, "name", None) != ep.name:
            broken[ep.name] = f"{where}: the converter's name is {getattr(cls, 'name', None)!r}, not {ep.name!r}"
        elif ep.name in found and found[ep.name] is not cls:
            broken[ep.name] = f"{where}: {ep.name!r} is registered twice ({found.pop(ep.name).__module__} too)"
        elif ep.name not in broken:
            found[ep.name] = cls
    return dict(sorted(found.items())), broken


def sources() -> dict[str, type[Converter]]:
    """Every registered source, by name."""
    found, _ = _registry()
    if not found:
        raise ConfigError(f"no source is registered under the entry-point group {GROUP!r}: install vgdata "
                          "(`make install`, or `pip install -e .` in its checkout)")
    return found


def broken_sources() -> dict[str, str]:
    return _registry()[1]


def refresh() -> None:
    """Read the installed packages' entry points again (after installing a source package)."""
    _registry.cache_clear()
    load_manifest.cache_clear()


def get_converter(name: str, **options) -> Converter:
    return source_class(name)(**options)


REQUIRED_MANIFEST_KEYS = ("name", "title", "homepage", "licence", "licence_id", "citation", "format", "kind",
                          "annotation_fps", "splits", "tasks", "layout")


def source_class(name: str) -> type[Converter]:
    found, broken = _registry()
    if name in broken:
        raise ConfigError(f"source {name!r}: {broken[name]}")
    if name not in found:
        raise ConfigError(f"unknown source {name!r}; known sources: {', '.join(sorted(found))}")
    return found[name]


@functools.lru_cache(maxsize=None)
def load_manifest(name: str) -> dict:
    """The source's data manifest (`Converter.manifest_path`), checked for the keys every one has."""
    path = source_class(name).manifest_path()
    if not path.exists():
        raise ConfigError(f"no data manifest for source {name!r} at {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(e).split())})") from None
    missing = [k for k in REQUIRED_MANIFEST_KEYS if k not in (data if isinstance(data, dict) else {})]
    if missing:
        raise ConfigError(f"{path}: missing keys {missing}")
    if data["name"] != name:
        raise ConfigError(f"{path}: name {data['name']!r} is not the source's, {name!r}")
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
    found = {name: evidence(load_manifest(name)) for name in sources()}
    return found, Counter(status for status, _ in found.values())


def sources_markdown() -> str:
    """The README's table of what each source's layout was checked against (`vgdata sources --markdown`)."""
    lines = ["| source | checked against | what |", "|---|---|---|"]
    found, counts = _evidence_by_source()
    for name, (status, what) in found.items():
        lines.append(f"| `{name}` | {status} | {what.replace('|', '/')} |")
    lines += ["", f"{len(found)} sources: {counts['real file']} on real files, {counts['two readers']} on two "
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
    for name, why in broken_sources().items():
        console.print(f"not registered: {name}: {why}")
