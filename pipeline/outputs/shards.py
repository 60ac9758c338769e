"""Sharded Parquet writing with Hugging Face file names.

Rows are sorted by `id` so that row order and shard assignment depend only on the content. Shards
are contiguous slices of that order, sized by row count and estimated bytes; row groups stay well
under 100 MB (the Hub viewer fails above ~286 MiB). A build streams its rows in from per-video
parts (`write_shard_stream`), holding one row group at a time. Each shard is written under a
temporary name and renamed when complete, so a crash never leaves a half-written shard under a
real name.
"""

from __future__ import annotations

import glob
import hashlib
import math
import os
from collections.abc import Iterable
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


def _writer(path: str, schema: pa.Schema) -> pq.ParquetWriter:
    kwargs = dict(compression="zstd", write_page_index=True)
    try:
        return pq.ParquetWriter(path, schema, use_content_defined_chunking=True, **kwargs)
    except TypeError:  # pyarrow without content-defined chunking
        return pq.ParquetWriter(path, schema, **kwargs)


COMPACT_EVERY = 64


class _Rows:
    """Rows pulled in order from a stream of tables, a slice at a time (holds at most one slice
    plus the table it is cutting).

    One video's part is often a few kilobytes, so a row group gathers hundreds of them; each Arrow
    table read from a file carries its own buffers and metadata, which cost far more memory than
    the rows (1,000 SA-V parts: 14 MiB of rows, ~60 MiB resident). Every `COMPACT_EVERY` tables
    are therefore copied into one contiguous table as they arrive."""

    def __init__(self, tables: Iterable[pa.Table], schema: pa.Schema, where: str):
        self.tables, self.schema, self.where = iter(tables), schema, where
        self.held: list[pa.Table] = []
        self.pending: list[pa.Table] = []
        self.n_held = 0
        self.last_id: str | None = None

    def _compact(self) -> None:
        if self.pending:
            self.held.append(pa.concat_tables(self.pending).combine_chunks() if len(self.pending) > 1
                             else self.pending[0])
            self.pending = []

    def take(self, n: int) -> pa.Table:
        while self.n_held < n:
            t = next(self.tables, None)
            if t is None:
                raise ValueError(f"{self.where}: the parts hold fewer rows than planned")
            if t.num_rows:
                self._check_order(t)
                self.pending.append(t.cast(self.schema) if t.schema != self.schema else t)
                self.n_held += t.num_rows
                if len(self.pending) >= COMPACT_EVERY:
                    self._compact()
        self._compact()
        table = pa.concat_tables(self.held) if len(self.held) > 1 else self.held[0]
        out, rest = table.slice(0, n), table.slice(n)
        self.held, self.n_held = ([rest] if rest.num_rows else []), rest.num_rows
        return out

    def _check_order(self, t: pa.Table) -> None:
        ids = t.column("id")
        first, last = ids[0].as_py(), ids[-1].as_py()
        if self.last_id is not None and first <= self.last_id:
            raise ValueError(f"duplicate or unordered row ids in {self.where} ({first!r} after {self.last_id!r})")
        self.last_id = last

    def done(self) -> bool:
        return self.n_held == 0 and all(t.num_rows == 0 for t in self.tables)


def write_shard_stream(
    tables: Iterable[pa.Table],
    n_rows: int,
    nbytes: int,
    schema: pa.Schema,
    out_dir: str,
    split: str,
    max_rows: int = 10_000,
    max_bytes: int = 500 * 2**20,
    row_group_bytes: int = 64 * 2**20,
) -> list[ShardInfo]:
    """Write the rows of `tables` (each sorted by `id`, in id order, `n_rows` in all taking
    `nbytes` in memory) as `out_dir/<split>-0000i-of-0000N.parquet`, holding one row group at a
    time. The plan (shard boundaries, row groups) depends only on the counts, so the same rows give
    the same bytes however they were produced. Stale shards of the split go."""
    os.makedirs(out_dir, exist_ok=True)
    bytes_per_row = nbytes / max(1, n_rows)
    row_group_rows = max(1, int(row_group_bytes // max(bytes_per_row, 1.0)))
    plan = plan_shards(n_rows, bytes_per_row, max_rows, max_bytes)
    rows = _Rows(tables, schema, f"{out_dir}/{split}")
    infos, written = [], set()
    for i, (start, stop) in enumerate(plan):
        path = os.path.join(out_dir, shard_name(split, i, len(plan)))
        tmp = os.path.join(out_dir, f".{os.path.basename(path)}.tmp")
        with _writer(tmp, schema) as writer:
            for lo in range(start, stop, row_group_rows):
                chunk = rows.take(min(row_group_rows, stop - lo))
                writer.write_table(chunk, row_group_size=chunk.num_rows)
        os.replace(tmp, path)
        written.add(path)
        infos.append(ShardInfo(path, stop - start, os.path.getsize(path), sha256_file(path)))
    if not rows.done():
        raise ValueError(f"{out_dir}/{split}: the parts hold more rows than planned")
    for stale in glob.glob(os.path.join(out_dir, f"{split}-*-of-*.parquet")):
        if stale not in written:
            os.remove(stale)
    return infos


def write_shards(
    rows: list[dict],
    schema: pa.Schema,
    out_dir: str,
    split: str,
    max_rows: int = 10_000,
    max_bytes: int = 500 * 2**20,
    row_group_bytes: int = 64 * 2**20,
) -> list[ShardInfo]:
    """Write in-memory `rows` as `out_dir/<split>-0000i-of-0000N.parquet` (the same writer as a
    streamed build); stale shards of the split go."""
    rows = sorted(rows, key=lambda r: r["id"])
    if len({r["id"] for r in rows}) != len(rows):
        raise ValueError(f"duplicate row ids in {out_dir}/{split}")
    table = pa.Table.from_pylist(rows, schema=schema)
    return write_shard_stream([table], table.num_rows, table.nbytes, schema, out_dir, split, max_rows, max_bytes,
                              row_group_bytes)
