"""The rejects table: every dropped video, track or frame with its reason.

A build never loses data silently: each stage that drops something appends a `Reject`, and the
build writes them all to `OUT/rejects.parquet` and counts them by reason in the summary. `level`
says how much was lost: a whole video, a track, one frame of a track (or one source row), or an
output row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import pyarrow as pa

Level = Literal["video", "track", "frame", "row"]


@dataclass(frozen=True)
class Reject:
    source: str
    split: str
    video_id: str
    level: Level
    stage: str
    reason: str
    detail: str = ""
    object_id: str | None = None
    frame: int | None = None
    file: str | None = None
    line: int | None = None  # line in `file`, for text sources

    def to_dict(self) -> dict:
        return asdict(self)


REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("split", pa.string()),
        ("video_id", pa.string()),
        ("level", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("object_id", pa.string()),
        ("frame", pa.int64()),
        ("file", pa.string()),
        ("line", pa.int64()),
    ]
)
