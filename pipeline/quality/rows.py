"""A build's rows, one source video at a time, both datasets together.

Shards hold rows sorted by id, and every id starts with `source/split/video_id/`, so the rows of one
video are contiguous in each dataset's shards, and the videos come in the same order (that of
`video_id + "/"`) in the point and the track shards. `rows_by_video` streams both datasets' shards
of a (source, split) a batch at a time and merges them by video: a command that checks rows against
their source (audit, eval, report) reads each source video once, and holds one video's rows.
"""

from __future__ import annotations

import heapq
import os
from collections import defaultdict
from typing import Callable, Iterator

import pyarrow.parquet as pq

BATCH_ROWS = 256


def video_of(row: dict) -> str:
    """The source video a row is about (a video id may hold '/', as ReVOS's and BURST's do)."""
    return row["video_name"] if "video_name" in row else row["source_video"]


def shards_by_pair(manifest: dict) -> dict[tuple[str, str], dict[str, list[dict]]]:
    """(source, split) -> dataset -> its shard entries, in shard order."""
    out: dict[tuple[str, str], dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for s in sorted(manifest.get("shards", []), key=lambda s: s["path"]):
        out[(s["source"], s["split"])][s["dataset"]].append(s)
    return {k: dict(v) for k, v in sorted(out.items())}


def _videos(out: str, shards: list[dict], keep: Callable[[dict], bool] | None,
            on_error: Callable[[dict, Exception], None]) -> Iterator[tuple[str, list[dict]]]:
    """(video, its rows) of a dataset's shards, in order. A shard that cannot be read is reported
    to `on_error` and skipped."""
    current, rows = None, []
    for s in shards:
        path = os.path.join(out, s["path"])
        if not os.path.isfile(path):
            continue
        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)
            for batch in batches:
                for row in batch.to_pylist():
                    if keep is not None and not keep(row):
                        continue
                    video = video_of(row)
                    if video != current and rows:
                        yield current, rows
                        rows = []
                    current = video
                    rows.append(row)
        except Exception as e:  # noqa: BLE001 - a damaged shard is a finding for the caller, not a crash
            on_error(s, e)
    if rows:
        yield current, rows


def rows_by_video(out: str, shards: dict[str, list[dict]], keep: Callable[[dict], bool] | None = None,
                  on_error: Callable[[dict, Exception], None] = lambda s, e: None) -> Iterator[tuple[str, dict[str, list[dict]]]]:
    """(video, {dataset: its rows}) over one (source, split)'s shards (`shards_by_pair`), each video
    once, in id order; `keep` filters rows."""
    def keyed(dataset: str, entries: list[dict]):
        for video, rows in _videos(out, entries, keep, on_error):
            yield video + "/", dataset, rows

    streams = [keyed(dataset, entries) for dataset, entries in sorted(shards.items())]
    current, group = None, {}
    for key, dataset, rows in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
        if key != current and group:
            yield current[:-1], group
            group = {}
        current = key
        group.setdefault(dataset, []).extend(rows)
    if group:
        yield current[:-1], group
