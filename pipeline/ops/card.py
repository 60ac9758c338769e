"""The dataset card (`OUT/README.md`), written by every build from its manifest.

The card is what the Hub and `datasets` read: its YAML front matter holds one `configs` entry per
(dataset, source) pair, each listing its shards per split, so every shard belongs to exactly one
config and `datasets.load_dataset(OUT_OR_REPO, "mevis")` loads MeViS's point rows. Point configs
are named after the source (`mevis`, as Molmo2's `subset` column names them); track configs add
`_track` (`mevis_track`), because the two datasets have different columns and one config can hold
only one schema; grounding rows (Molmo2's task `ground`) add `_ground` (`mevis_ground`). `dataset_info` gives each config's features and split sizes, so a reader knows the
shape without downloading. The body says where the rows come from and under what terms: every
source's licence, the card's own licence (the most restrictive of them, and it says so), citations,
the build's summary and rejects by reason, the code version and the build config.

The YAML is made by `huggingface_hub.DatasetCardData` and `datasets`' own `MetadataConfigs` and
`DatasetInfosDict`, the code that reads it back, not by hand; `RepoCard.validate` needs the
internet, so the card is checked offline by loading every config with `datasets` (tests).
"""

from __future__ import annotations

import json
import os

import yaml

from pipeline.stages.sampling import rates_text
from pipeline.stages.rows import GROUND_DATASET, POINT_DATASET, TRACK_DATASET

CONFIG_SUFFIX = {POINT_DATASET: "", TRACK_DATASET: "_track", GROUND_DATASET: "_ground"}

# From least to most restrictive; one rank may hold several licences that do not include each other.
LICENCE_RANK = {"cc0-1.0": 0, "mit": 1, "bsd-3-clause": 1, "cc-by-4.0": 2, "cc-by-sa-4.0": 3, "cc-by-nc-4.0": 4,
                "cc-by-nc-sa-3.0": 5, "cc-by-nc-sa-4.0": 5, "other": 6}


def config_name(dataset: str, source: str) -> str:
    return source + CONFIG_SUFFIX[dataset]


def shard_glob(dataset: str, source: str, split: str) -> str:
    return f"{dataset}/{source}/{split}-*-of-*.parquet"


def most_restrictive(licence_ids: dict[str, str]) -> tuple[str, str]:
    """(card licence id, why) for {source: licence id}. Two different licences at the top rank
    (e.g. CC BY-NC-SA 3.0 and 4.0) cannot both be the card's, so it becomes `other`."""
    unknown = sorted(s for s, i in licence_ids.items() if i not in LICENCE_RANK)
    if unknown:
        raise ValueError(f"unknown licence_id for {', '.join(unknown)}; known: {', '.join(LICENCE_RANK)}")
    top = max(LICENCE_RANK[i] for i in licence_ids.values())
    at_top = sorted({i for i in licence_ids.values() if LICENCE_RANK[i] == top})
    holders = sorted(s for s, i in licence_ids.items() if LICENCE_RANK[i] == top)
    if len(at_top) > 1:
        return "other", (f"the sources' most restrictive licences ({', '.join(at_top)}, from {', '.join(holders)}) "
                         "differ, so no single licence covers the whole; each source's rows keep their own terms")
    why = (f"the most restrictive licence among its sources ({at_top[0]}, from {', '.join(holders)}); "
           "each source's rows also keep their own terms")
    return at_top[0], why


def _memory_bytes(out: str | None, shard: dict) -> int:
    """The rows' uncompressed size (what `datasets` calls num_bytes), from the shard's footer;
    the file size when the shard cannot be read here."""
    import pyarrow.parquet as pq

    try:
        md = pq.read_metadata(os.path.join(out, shard["path"]))
    except (OSError, TypeError, ValueError):
        return shard["bytes"]
    return sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))


def card_configs(shards: list[dict], out: str | None = None) -> dict[str, dict]:
    """{config name: {dataset, source, splits: {split: {rows, bytes, files}}}} from the manifest's shards
    (`bytes`: uncompressed, read from the shards' footers under `out`)."""
    configs: dict[str, dict] = {}
    for s in sorted(shards, key=lambda s: s["path"]):
        name = config_name(s["dataset"], s["source"])
        c = configs.setdefault(name, {"dataset": s["dataset"], "source": s["source"], "splits": {}})
        split = c["splits"].setdefault(s["split"], {"rows": 0, "bytes": 0, "files": []})
        split["rows"] += s["rows"]
        split["bytes"] += _memory_bytes(out, s)
        split["files"].append(s["path"])
    return dict(sorted(configs.items()))


def card_yaml(manifest: dict, manifests: dict[str, dict], out: str | None = None) -> dict:
    """The front matter as a plain dict (what the Hub and `datasets` parse)."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    from pipeline.outputs.schemas import hf_features

    configs = card_configs(manifest["shards"], out)
    licence, _ = most_restrictive({s: m["licence_id"] for s, m in manifests.items()})
    data = DatasetCardData(
        license=licence, pretty_name="AcademicVideoPoint and AcademicVideoTrack (vgdata build)",
        task_categories=["video-text-to-text"], tags=["video", "pointing", "counting", "tracking", "molmo2"],
        language=["en"])
    if licence == "other":
        data.license_name = "mixed-source-licences"
        data.license_link = "README.md#licences"
    meta = MetadataConfigs({name: {"data_files": [{"split": split, "path": shard_glob(c["dataset"], c["source"], split)}
                                                  for split in sorted(c["splits"])]}
                            for name, c in configs.items()})
    meta.to_dataset_card_data(data)
    infos = DatasetInfosDict()
    for name, c in configs.items():
        splits = SplitDict()
        for split, s in sorted(c["splits"].items()):
            splits.add(SplitInfo(name=split, num_bytes=s["bytes"], num_examples=s["rows"]))
        infos[name] = DatasetInfo(features=hf_features(c["dataset"]), splits=splits, config_name=name,
                                  dataset_size=sum(s["bytes"] for s in c["splits"].values()))
    infos.to_dataset_card_data(data)
    return data.to_dict()


def _source_manifests(manifest: dict) -> dict[str, dict]:
    from pipeline.sources import load_manifest

    names = {s["source"] for s in manifest["shards"]} | {s["name"] for s in manifest["config"]["sources"]}
    return {n: load_manifest(n) for n in sorted(names)}


def card_text(manifest: dict, out: str | None = None) -> str:
    manifests = _source_manifests(manifest)
    front = card_yaml(manifest, manifests, out)
    configs = card_configs(manifest["shards"], out)
    licence, why = most_restrictive({s: m["licence_id"] for s, m in manifests.items()})
    summary = manifest.get("summary") or {}
    code = manifest.get("code") or {}
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             "# AcademicVideoPoint and AcademicVideoTrack", "",
             "Video pointing, counting and point-tracking rows in the style of Ai2's Molmo2, built by "
             "vgdata from public tracking and segmentation datasets: "
             "AcademicVideoPoint holds point and count questions (one point per object, at the first sampled "
             "frame where it appears), AcademicVideoTrack holds point tracks at the sampling rate, "
             "AcademicVideoGround holds Molmo2's grounding rows (task `ground`: each object's first and last "
             "visible point of a track row, over the same video). "
             "Answers are Molmo2's plain-text point format.", "",
             "## Configs", "",
             "One config per dataset and source; point configs are named after the source, track configs add "
             "`_track`, grounding configs `_ground`. Every shard belongs to exactly one config.", "",
             "```python", "from datasets import load_dataset",
             f"ds = load_dataset(REPO, {next(iter(configs), 'CONFIG')!r}, split="
             f"{next(iter(next(iter(configs.values()))['splits'])) if configs else 'train'!r})",
             "# a whole dataset across sources:",
             f"points = load_dataset(REPO, data_files={{'train': '{POINT_DATASET}/*/train-*.parquet'}})", "```", "",
             "| config | dataset | source | split | rows | shards |", "|---|---|---|---|---|---|"]
    for name, c in configs.items():
        for split, s in sorted(c["splits"].items()):
            lines.append(f"| `{name}` | {c['dataset']} | {c['source']} | {split} | {s['rows']} | {len(s['files'])} |")
    lines += ["", "## Licences", "",
              f"This card's licence is **{licence}**: {why}.", "",
              "| source | licence | homepage |", "|---|---|---|"]
    for name, m in manifests.items():
        lines.append(f"| {m['title']} | {m['licence']} (`{m['licence_id']}`) | {m['homepage']} |")
    lines += ["", "## Build", "",
              f"- built {manifest.get('created', '?')} by vgdata {code.get('vgdata', '?')}, "
              f"commit `{code.get('git_commit') or 'unknown'}`, Python {code.get('python', '?')}",
              f"- segmenter: {summary.get('segmenter', '?')}; sampling: {rates_text(summary.get('sampling_fps') or 2)}",
              "- rows: " + ", ".join(f"{k} {v}" for k, v in (summary.get("rows") or {}).items())]
    for key, s in (summary.get("sources") or {}).items():
        if s.get("carried_over"):
            lines.append(f"- {key}: kept from an earlier build")
        else:
            lines.append(f"- {key}: {s['videos_ok']}/{s['videos']} videos, {s['objects']} objects, tracks kept "
                         f"{s['tracks_kept']}, dropped {s['tracks_dropped']}, rows {s['point_rows']} point + "
                         f"{s['track_rows']} track + {s.get('ground_rows', 0)} ground")
    rejects = summary.get("rejects_by_reason") or {}
    lines += ["", "### Left out (rejects by reason; every one is a row of `rejects.parquet`)", ""]
    lines += [f"- {n} x {reason}" for reason, n in rejects.items()] or ["- none"]
    lines += ["", "### Build config", "", "```json", json.dumps(manifest.get("config"), indent=2, sort_keys=True),
              "```", "", "## Citations", ""]
    for name, m in manifests.items():
        lines += [f"{m['title']}:", "", "```bibtex", m["citation"].strip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_card(out: str, manifest: dict) -> str:
    path = os.path.join(out, "README.md")
    tmp = os.path.join(out, ".README.md.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(card_text(manifest, out))
    os.replace(tmp, path)
    return path
