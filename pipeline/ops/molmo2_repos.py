"""The Hub repositories Molmo2's classes download from, staged from a build: what `vgdata publish
OUT --layout molmo2 --org ORG` sends, so that pointing a class's `HF_SOURCE` at ORG is the only
change to Molmo2's code.

Molmo2's `_load_hf_dataset` calls `datasets.load_dataset(HF_SOURCE, config, split=<data split>)`:
each class's repository (`ORG/molmo2-mevis`, ...) holds one config per task (`track`, `ground`,
`single_point_track`) with a split per data split; the single-object-track classes share
`ORG/molmo2-single-object-track` with one config per dataset (`lasot`, ...); the point rows are
`ORG/molmo2-academic-video-points`, splits train and val. Each repository also holds the videos
its rows name (and the evaluated splits' MasksRLE files) at the paths the classes open, relative to
`VIDEO_TRACK_DATA_HOME` (tracking) or `VIDEO_DATA_HOME` (points), so that one
`hf download ORG/<repo> --repo-type dataset --local-dir $MOLMO_DATA_DIR/video_datasets[/video_track]`
puts them where Molmo2 reads them (its own `download()` would re-encode them from the source
frames at the rows' rate, which is not how vgdata's clips are cut).

Staging reuses the export (`pipeline/ops/export.py`, under `OUT/.work/molmo2/export`: resumable,
videos hard-linked) and lays each repository out under `OUT/.work/molmo2/hub/<repo>/`: the rows as
Parquet (`<config>/<split>-00000-of-00001.parquet`, `data/` for the point repository's default
config), the videos and masks hard-linked, and a card whose `configs` list them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from pipeline.ops import molmo2 as M2
from pipeline.ops.card import most_restrictive
from pipeline.ops.export import export_molmo2
from pipeline.outputs.schemas import hf_features
from pipeline.stages.rows import POINT_DATASET, TRACK_DATASET

DEFAULT = "default"


@dataclass
class StagedRepo:
    name: str  # without the organisation
    folder: str
    home: str  # where its files go below MOLMO_DATA_DIR
    configs: dict[str, dict[str, dict]] = field(default_factory=dict)  # config -> split -> rows, bytes, path
    sources: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)

    def files(self) -> list[str]:
        """Every file of the repository, relative to its folder."""
        out = []
        for d, _, names in os.walk(self.folder):
            out += [os.path.relpath(os.path.join(d, n), self.folder) for n in names]
        return sorted(out)


def where(rel: str) -> tuple[str, str, str, str, str]:
    """(repository, config, data split, home, class) of an exported dataset folder."""
    if rel.startswith(f"{M2.TRACK_HOME}/tracking/"):
        name, task, split = rel.split("/")[-3:]
        cls = next(c for c in M2.CLASSES.values() if c.dataset_name == name)
        return cls.repo, cls.config(task), split, M2.TRACK_HOME, cls.cls
    split = rel.rsplit("-", 1)[1]
    return M2.POINT_REPO, DEFAULT, split, M2.VIDEO_HOME, "AcademicVideoPoint"


def _link(src: str, dst: str) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)  # a different file system: masks are small, videos were linked by the export


def stage_repos(out: str, overrides: dict[str, str] | None = None, echo: Callable = print) -> list[StagedRepo]:
    """The repositories of OUT's build in Molmo2's layout, under OUT/.work/molmo2/hub."""
    import datasets

    datasets.disable_progress_bars()
    base = os.path.join(out, ".work", "molmo2")
    exported = os.path.join(base, "export")
    result = export_molmo2(out, exported, overrides, echo=echo)
    hub = os.path.join(base, "hub")
    shutil.rmtree(hub, ignore_errors=True)
    repos: dict[str, StagedRepo] = {}
    for rel, info in sorted(result["datasets"].items()):
        name, config, split, home, cls = where(rel)
        r = repos.setdefault(name, StagedRepo(name, os.path.join(hub, name), home))
        r.sources.update(info["sources"])
        r.classes.add(cls)
        folder = "data" if config == DEFAULT else config
        path = f"{folder}/{split}-00000-of-00001.parquet"
        os.makedirs(os.path.join(r.folder, folder), exist_ok=True)
        ds = datasets.load_from_disk(os.path.join(exported, rel))
        ds.to_parquet(os.path.join(r.folder, path))
        r.configs.setdefault(config, {})[split] = {"rows": len(ds), "bytes": ds.data.nbytes, "path": path,
                                                   "dataset": POINT_DATASET if cls == "AcademicVideoPoint" else TRACK_DATASET}
        for f in info["files"]:
            dst = os.path.join(r.folder, os.path.relpath(f, home))
            if not os.path.exists(dst):
                _link(os.path.join(exported, f), dst)
    manifest = _manifest(out)
    for r in repos.values():
        with open(os.path.join(r.folder, "README.md"), "w", encoding="utf-8") as f:
            f.write(repo_card(r, manifest))
    return sorted(repos.values(), key=lambda r: r.name)


def _manifest(out: str) -> dict:
    with open(os.path.join(out, "build_manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def card_front(r: StagedRepo, licence: str) -> dict:
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(license=licence, pretty_name=f"{r.name}: vgdata rows for allenai/molmo2",
                           task_categories=["video-text-to-text"], tags=["video", "tracking", "pointing", "molmo2"],
                           language=["en"])
    if licence == "other":
        data.license_name = "mixed-source-licences"
        data.license_link = "README.md#licences"
    meta = MetadataConfigs({config: {"data_files": [{"split": split, "path": f"{s['path'].split('/')[0]}/{split}-*.parquet"}
                                                    for split, s in sorted(splits.items())]}
                            for config, splits in sorted(r.configs.items())})
    meta.to_dataset_card_data(data)
    infos = DatasetInfosDict()
    for config, splits in sorted(r.configs.items()):
        sd = SplitDict()
        for split, s in sorted(splits.items()):
            sd.add(SplitInfo(name=split, num_bytes=s["bytes"], num_examples=s["rows"]))
        dataset = next(iter(splits.values()))["dataset"]
        infos[config] = DatasetInfo(features=hf_features(dataset), splits=sd, config_name=config,
                                    dataset_size=sum(s["bytes"] for s in splits.values()))
    infos.to_dataset_card_data(data)
    return data.to_dict()


def repo_card(r: StagedRepo, manifest: dict) -> str:
    from pipeline.sources import load_manifest

    manifests = {s: load_manifest(s) for s in sorted(r.sources)}
    licence, why = most_restrictive({s: m["licence_id"] for s, m in manifests.items()})
    local = "video_datasets/video_track" if r.home == M2.TRACK_HOME else "video_datasets"
    classes = ", ".join(f"`{c}`" for c in sorted(r.classes))
    first = next(iter(sorted(r.configs)))
    lines = ["---", yaml.safe_dump(card_front(r, licence), sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {r.name}", "",
             f"Rows built by vgdata for allenai/molmo2's {classes} (`olmo/data/academic_video_track_datasets.py`, "
             "`olmo/data/academic_video_datasets.py` at commit " f"{M2.MOLMO2_COMMIT}), laid out as its "
             "`_load_hf_dataset` downloads them: set the class's `HF_SOURCE` to this repository, nothing else.", "",
             "The videos the rows name (and the evaluated splits' `MasksRLE/<video>/<qid>.json`) are in this "
             "repository at the paths Molmo2 opens them; put them in place with", "",
             "```sh", f"hf download ORG/{r.name} --repo-type dataset --local-dir $MOLMO_DATA_DIR/{local} "
             "--exclude '*.parquet' 'README.md'", "```", "",
             "and do not run the class's `download()` for these rows: it would encode the videos again from the "
             "source frames at the rows' `fps`, while vgdata's videos are cut into clips and written at the "
             "sampling rate.", "",
             "```python", "import datasets",
             f"rows = datasets.load_dataset('ORG/{r.name}', {first!r}, split={next(iter(sorted(r.configs[first])))!r})",
             "```", "", "| config | split | rows |", "|---|---|---|"]
    for config, splits in sorted(r.configs.items()):
        lines += [f"| `{config}` | {split} | {s['rows']} |" for split, s in sorted(splits.items())]
    lines += ["", "## Licences", "", f"This repository's licence is **{licence}**: {why}.", "",
              "| source | licence | homepage |", "|---|---|---|"]
    lines += [f"| {m['title']} | {m['licence']} (`{m['licence_id']}`) | {m['homepage']} |" for m in manifests.values()]
    code = manifest.get("code") or {}
    lines += ["", "## Build", "", f"Built {manifest.get('created', '?')} by vgdata {code.get('vgdata', '?')} "
              f"(commit `{code.get('git_commit') or 'unknown'}`).", "", "## Citations", ""]
    for m in manifests.values():
        lines += [f"{m['title']}:", "", "```bibtex", m["citation"].strip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"
