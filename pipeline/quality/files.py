"""Is a finished build whole? Its files checked against its manifest (sizes, sha256, Parquet
footers and row counts), the summary reconciled with the shards, and the card's configs covering
every shard exactly once. `vgdata audit` runs it as its `files` check, `vgdata publish` before
anything is sent, and the `build-and-publish` flow before publishing.
"""

from __future__ import annotations

import os
from collections import defaultdict

from pipeline.outputs.manifest import HashCache

TOP_FILES = ("README.md", "build_manifest.json", "summary.json", "rejects.parquet", "tracks.parquet", "masks.parquet")


def check_build(out: str, manifest: dict, hashes: HashCache | None = None) -> list[str]:
    """Problems that forbid publishing `out` (empty when it may go): missing or changed shards and
    videos, row counts that do not reconcile, configs that miss or repeat a shard."""
    import pyarrow.parquet as pq

    hashes = hashes or HashCache(os.path.join(out, ".work", "hashes.json"))
    problems = []
    for name in TOP_FILES:
        if not os.path.isfile(os.path.join(out, name)):
            problems.append(f"{os.path.join(out, name)}: missing")
    for entry in manifest.get("shards", []) + manifest.get("videos", []):
        full = os.path.join(out, entry["path"])
        if not os.path.isfile(full):
            problems.append(f"{full}: listed in the manifest but missing")
            continue
        if os.path.getsize(full) != entry["bytes"]:
            problems.append(f"{full}: {os.path.getsize(full)} bytes, the manifest says {entry['bytes']}")
        elif hashes.sha256(full) != entry["sha256"]:
            problems.append(f"{full}: sha256 differs from the manifest's")
        elif "rows" in entry:
            try:
                rows = pq.read_metadata(full).num_rows
            except Exception as e:  # noqa: BLE001 - any unreadable footer is a problem to report
                problems.append(f"{full}: not a readable Parquet file ({e})")
                continue
            if rows != entry["rows"]:
                problems.append(f"{full}: {rows} rows, the manifest says {entry['rows']}")
    hashes.save()
    totals: dict[str, int] = {}
    for s in manifest.get("shards", []):
        totals[s["dataset"]] = totals.get(s["dataset"], 0) + s["rows"]
    for dataset, n in ((manifest.get("summary") or {}).get("rows") or {}).items():
        if totals.get(dataset, 0) != n:
            problems.append(f"summary says {n} {dataset} rows, the shards hold {totals.get(dataset, 0)}")
    if os.path.isfile(os.path.join(out, "README.md")):
        listed = sorted(s["path"] for s in manifest.get("shards", []))
        covered = sorted(p for splits in configs_by_split(out).values() for paths in splits.values() for p in paths)
        for p in sorted(set(listed) - set(covered)):
            problems.append(f"{p}: in no config of the card")
        for p in sorted({p for p in covered if covered.count(p) > 1}):
            problems.append(f"{p}: in more than one config of the card")
        for p in sorted(set(covered) - set(listed)):
            problems.append(f"{os.path.join(out, p)}: matched by the card but not in the manifest (a stale shard?)")
    return problems


def configs_by_split(out: str) -> dict[str, dict[str, list[str]]]:
    """{config: {split: [shard paths]}} from the card's own globs expanded on disk (what a reader gets)."""
    import glob

    from huggingface_hub import DatasetCard

    card = DatasetCard.load(os.path.join(out, "README.md"))
    found: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for c in card.data.to_dict().get("configs") or []:
        for df in c["data_files"]:
            found[c["config_name"]][df["split"]] = sorted(
                os.path.relpath(p, out) for p in glob.glob(os.path.join(out, df["path"])))
    return dict(found)
