"""Build configuration: what to build from where, and with which settings.

A YAML file (see `flows/configs/demo.yaml`) or the same fields from `vgdata convert`'s options.
Relative paths are taken relative to the directory the command runs in.

Every setting is validated when the config is built (pydantic, strict): a wrong type (`workers:
two`), an unknown key, a value out of range or a split name that could leave OUT is a
`ConfigError` whose one line names the setting, before any work starts. Converter options are
checked against what each converter declares (`min_visiblity` is refused, naming the known ones).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, PlainValidator, ValidationError
from pydantic.dataclasses import dataclass

from pipeline import checks
from pipeline.errors import ConfigError
from pipeline.stages.sampling import rates_of
from pipeline.stages.segmenters.base import STRICT, Fraction, SegmenterSettings


def _plain_name(what: str):
    return AfterValidator(lambda v: checks.name(v, what))


def _rates(value: int | tuple[int, ...]) -> int | tuple[int, ...]:
    """One sampling rate, or several (sorted, distinct) that each divide the highest: the videos are
    written at the highest rate and every lower rate's grid lies inside its grid."""
    for r in (value,) if isinstance(value, int) else value:
        if not 1 <= r <= 10:
            raise ValueError(f"a rate must be 1 to 10 frames a second, got {r}")
    if isinstance(value, int):
        return value
    rates = tuple(sorted(set(value)))
    if not rates:
        raise ValueError("give at least one rate")
    bad = [r for r in rates if rates[-1] % r]
    if bad:
        raise ValueError(f"every rate must divide the highest ({rates[-1]}); {', '.join(map(str, bad))} does not "
                         "(the lower rates reuse the highest rate's frames, masks and videos)")
    return rates[0] if len(rates) == 1 else rates


# Molmo2's own loaders bound these (docs/MOLMO2.md): AcademicVideoPoint asserts clips of at most 63 s,
# and its video sampler shows `sampling_fps` frames a second for at most 128 frames.
MOLMO2_MAX_POINT_CLIP_SECONDS = 63.0
MOLMO2_MAX_FRAMES = 128


@dataclass(frozen=True, config=STRICT)
class SourceSpec:
    name: Annotated[str, _plain_name("source name")]
    root: Annotated[str, Field(min_length=1)]
    split: Annotated[str, _plain_name("split")] = "train"
    options: tuple[tuple[str, Any], ...] = ()
    limit: Annotated[int, Field(ge=1)] | None = None  # only the first N videos (smoke runs)
    pull: bool = False  # download the source (`vgdata pull`) before building; complete files are skipped
    pull_to: str | None = None  # where to download (default: root); root is then the folder the archives unpack to


def _workers(value: Any) -> int | str:
    """A whole number of workers from 1 to 256, or "auto"."""
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 256:
        raise ValueError("must be a whole number from 1 to 256, or auto")
    return value


@dataclass(frozen=True, config=STRICT)
class BuildConfig:
    out: Annotated[str, Field(min_length=1)]
    sources: Annotated[tuple[SourceSpec, ...], Field(min_length=1)]
    # Frames a second the rows sample: one rate, or several ([1, 2]: track, ground and
    # single_point_track rows at each rate, over the same videos, written at the highest).
    sampling_fps: Annotated[int | tuple[int, ...], AfterValidator(_rates)] = 2
    seed: int = 0
    # AcademicVideoPoint rows cover clip windows of at most this many seconds.
    max_clip_seconds: Annotated[float, Field(gt=0, le=MOLMO2_MAX_POINT_CLIP_SECONDS, allow_inf_nan=False)] = 63.0
    # AcademicVideoTrack rows (and their videos) cover clips of at most this many seconds; with
    # sampling_fps it must fit Molmo2's 128 frames. None: exactly that (64 s at 2 fps).
    max_track_seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    min_track_iou: Fraction = 0.5
    segmenter: SegmenterSettings = SegmenterSettings()
    # encode: write the H.264 videos the rows name; skip: write rows only (the videos are made elsewhere).
    videos: Literal["encode", "skip"] = "encode"
    max_shard_rows: Annotated[int, Field(ge=1)] = 10_000
    max_shard_bytes: Annotated[int, Field(ge=2**20)] = 500 * 2**20
    row_group_bytes: Annotated[int, Field(ge=2**16)] = 4 * 2**20
    # Videos at once, each in a worker process of its own (one: in the build's process); "auto":
    # one per usable core, or one per GPU when SAM 2 runs on CUDA.
    workers: Annotated[int | str, PlainValidator(_workers)] = 1
    # Prefect and Ray runners: videos per task (amortises the per-task cost; 1: a task per video).
    videos_per_task: Annotated[int, Field(ge=1, le=10_000)] = 8
    resume: bool = True
    hash_frames: bool = False  # sha256 every frame image in the build manifest (slow on big sets)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def rates(self) -> tuple[int, ...]:
        """Every sampling rate of the build, lowest first."""
        return rates_of(self.sampling_fps)

    @property
    def video_fps(self) -> int:
        """The highest rate: the grid frames are sampled on, videos and point rows are written at."""
        return self.rates[-1]

    @property
    def track_clip_seconds(self) -> float:
        return self.max_track_seconds or MOLMO2_MAX_FRAMES / self.video_fps


def _one_line(e: ValidationError, where: str) -> str:
    errors = e.errors()
    first = errors[0]
    # A union (sampling_fps: a rate or a list) names the branch tried ("int", "tuple[int, ...]"):
    # the setting is what the user wrote, and one line says it.
    branches = {"int", "tuple[int, ...]"}
    loc = ".".join(str(p) for p in first["loc"] if p not in branches) or "value"
    union = sum(1 for x in errors if tuple(x["loc"][:-1]) == tuple(first["loc"][:-1]) and x["loc"][-1] in branches)
    if union > 1:
        errors = errors[union - 1:]
    given = f" (got {first['input']!r})" if "input" in first and not isinstance(first["input"], dict) else ""
    msg = first["msg"].removeprefix("Value error, ")
    if union > 1:
        msg += " or a list of them"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {loc}: {msg}{given}{more}"


def build(cls, where: str, **fields):
    """`cls(**fields)`, with a validation error turned into a one-line ConfigError."""
    try:
        return cls(**fields)
    except ValidationError as e:
        raise ConfigError(_one_line(e, where)) from None


def check_config(cfg: BuildConfig, where: str = "config") -> BuildConfig:
    """Checks across settings, and each source's converter options."""
    from pipeline.sources import get_converter

    if cfg.track_clip_seconds * cfg.video_fps > MOLMO2_MAX_FRAMES + 1e-9:
        raise ConfigError(f"{where}: max_track_seconds {cfg.max_track_seconds:g} at sampling_fps {cfg.video_fps} is "
                          f"more than the {MOLMO2_MAX_FRAMES} frames Molmo2's sampler shows; use at most "
                          f"{MOLMO2_MAX_FRAMES / cfg.video_fps:g}")
    seen = set()
    for i, s in enumerate(cfg.sources):
        get_converter(s.name, **dict(s.options))  # unknown source or option -> ConfigError
        if (s.name, s.split) in seen:
            raise ConfigError(f"{where}: sources[{i}]: {s.name}/{s.split} is listed twice")
        seen.add((s.name, s.split))
    return cfg


def config_from_dict(raw: dict, where: str = "config") -> BuildConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(raw).__name__}")
    raw = dict(raw)
    if "out" not in raw or "sources" not in raw:
        raise ConfigError(f"{where}: needs 'out' and 'sources'")
    if not isinstance(raw["sources"], (list, tuple)) or not raw["sources"]:
        raise ConfigError(f"{where}: 'sources' must be a non-empty list")
    sources = []
    for i, s in enumerate(raw.pop("sources")):
        if not isinstance(s, dict) or "name" not in s or "root" not in s:
            raise ConfigError(f"{where}: sources[{i}] needs 'name' and 'root'")
        s = dict(s)
        options = s.get("options") or {}
        if isinstance(options, (list, tuple)) and all(isinstance(o, (list, tuple)) and len(o) == 2 for o in options):
            options = dict(options)  # the (key, value) pairs of BuildConfig.to_dict(), as a flow parameter
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: sources[{i}].options must be a mapping, got {options!r}")
        s["options"] = tuple(sorted(options.items()))
        sources.append(build(SourceSpec, f"{where}: sources[{i}]", **s))
    seg = raw.pop("segmenter", None) or {}
    if isinstance(seg, str):
        seg = {"name": seg}
    if not isinstance(seg, dict):
        raise ConfigError(f"{where}: segmenter must be a name or a mapping, got {seg!r}")
    raw["segmenter"] = build(SegmenterSettings, f"{where}: segmenter", **seg)
    if isinstance(raw.get("sampling_fps"), list):  # YAML and JSON give a list
        raw["sampling_fps"] = tuple(raw["sampling_fps"])
    raw["sources"] = tuple(sources)
    return check_config(build(BuildConfig, where, **raw), where)


def load_config(path: str) -> BuildConfig:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} cannot be read ({e})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(e).split())})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return config_from_dict(raw, where=str(path))
