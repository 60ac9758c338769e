"""Sharded Parquet writing with Hugging Face file names.

Rows are sorted by `id` so that row order and shard assignment depend only on the content. Shards
are contiguous slices of that order, sized by row count and estimated bytes; row groups stay well
under 100 MB (the Hub viewer fails above ~286 MiB). Each shard is written under a temporary name
and renamed when complete, so a crash never leaves a half-written shard under a real name.
"""

from __future__ import annotations

import glob
import hashlib
import math
import os
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True)
class ShardInfo:
    path: str
    rows: int
    bytes: int
    sha256: str


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def plan_shards(n_rows: int, bytes_per_row: float, max_rows: int, max_bytes: int) -> list[tuple[int, int]]:
    """Contiguous, balanced (start, stop) slices honouring both limits."""
    if n_rows == 0:
        return []
    per_shard = max(1, min(max_rows, int(max_bytes // max(bytes_per_row, 1.0))))
    count = math.ceil(n_rows / per_shard)
    size = math.ceil(n_rows / count)
    return [(i * size, min(n_rows, (i + 1) * size)) for i in range(count)]


def _write(table: pa.Table, path: str, row_group_rows: int) -> None:
    kwargs = dict(compression="zstd", row_group_size=row_group_rows, write_page_index=True)
    try:
        pq.write_table(table, path, use_content_defined_chunking=True, **kwargs)
    except TypeError:  # pyarrow without content-defined chunking
        pq.write_table(table, path, **kwargs)


def write_shards(
    rows: list[dict],
    schema: pa.Schema,
    out_dir: str,
    split: str,
    max_rows: int = 10_000,
    max_bytes: int = 500 * 2**20,
    row_group_bytes: int = 64 * 2**20,
) -> list[ShardInfo]:
    """Write `rows` as `out_dir/<split>-0000i-of-0000N.parquet`; stale shards of the split go."""
    os.makedirs(out_dir, exist_ok=True)
    rows = sorted(rows, key=lambda r: r["id"])
    if len({r["id"] for r in rows}) != len(rows):
        raise ValueError(f"duplicate row ids in {out_dir}/{split}")
    table = pa.Table.from_pylist(rows, schema=schema)
    bytes_per_row = table.nbytes / max(1, table.num_rows)
    row_group_rows = max(1, int(row_group_bytes // max(bytes_per_row, 1.0)))
    plan = plan_shards(table.num_rows, bytes_per_row, max_rows, max_bytes)
    infos, written = [], set()
    for i, (start, stop) in enumerate(plan):
        path = os.path.join(out_dir, shard_name(split, i, len(plan)))
        tmp = os.path.join(out_dir, f".{os.path.basename(path)}.tmp")
        _write(table.slice(start, stop - start), tmp, row_group_rows)
        os.replace(tmp, path)
        written.add(path)
        infos.append(ShardInfo(path, stop - start, os.path.getsize(path), sha256_file(path)))
    for stale in glob.glob(os.path.join(out_dir, f"{split}-*-of-*.parquet")):
        if stale not in written:
            os.remove(stale)
    return infos
