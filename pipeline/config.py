"""Build configuration: what to build from where, and with which settings.

A YAML file (see `flows/configs/demo.yaml`) or the same fields from `vgdata convert`'s options.
Relative paths are taken relative to the directory the command runs in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import ConfigError
from .segmenters.base import SegmenterSettings


@dataclass(frozen=True)
class SourceSpec:
    name: str
    root: str
    split: str = "train"
    options: tuple[tuple[str, object], ...] = ()
    limit: int | None = None  # only the first N videos (smoke runs)


@dataclass(frozen=True)
class BuildConfig:
    out: str
    sources: tuple[SourceSpec, ...]
    sampling_fps: int = 2
    seed: int = 0
    max_clip_seconds: float = 63.0
    min_track_iou: float = 0.5
    segmenter: SegmenterSettings = field(default_factory=SegmenterSettings)
    max_shard_rows: int = 10_000
    max_shard_bytes: int = 500 * 2**20
    row_group_bytes: int = 64 * 2**20
    workers: int = 1
    resume: bool = True
    hash_frames: bool = False  # sha256 every frame image in the build manifest (slow on big sets)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _settings(raw: dict, cls, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    return cls(**raw)


def config_from_dict(raw: dict, where: str = "config") -> BuildConfig:
    raw = dict(raw or {})
    if "out" not in raw or "sources" not in raw:
        raise ConfigError(f"{where}: needs 'out' and 'sources'")
    sources = []
    for i, s in enumerate(raw.pop("sources") or []):
        if not isinstance(s, dict) or "name" not in s or "root" not in s:
            raise ConfigError(f"{where}: sources[{i}] needs 'name' and 'root'")
        s = dict(s)
        s["options"] = tuple(sorted(dict(s.get("options") or {}).items()))
        sources.append(_settings(s, SourceSpec, f"{where}: sources[{i}]"))
    if not sources:
        raise ConfigError(f"{where}: 'sources' is empty")
    seg = raw.pop("segmenter", None) or {}
    if isinstance(seg, str):
        seg = {"name": seg}
    raw["segmenter"] = _settings(seg, SegmenterSettings, f"{where}: segmenter")
    raw["sources"] = tuple(sources)
    cfg = _settings(raw, BuildConfig, where)
    if int(cfg.sampling_fps) != cfg.sampling_fps or not 1 <= cfg.sampling_fps <= 10:
        raise ConfigError(f"{where}: sampling_fps must be a whole number from 1 to 10, got {cfg.sampling_fps}")
    return cfg


def load_config(path: str) -> BuildConfig:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return config_from_dict(raw, where=str(path))
