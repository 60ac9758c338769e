"""The rejects table: every dropped video, track or frame with its reason.

A build never loses data silently: each stage that drops something appends a
`pipeline.stages.records.Reject`, and the build writes them all to `OUT/rejects.parquet` (this
schema) and counts them by reason in the summary.
"""

from __future__ import annotations

import pyarrow as pa

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
