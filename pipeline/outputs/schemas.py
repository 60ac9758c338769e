"""Arrow schemas of the two datasets and the Hugging Face features they load as.

Track rows carry the MolmoPoint-TrackAny columns with the same names and types; point rows carry
the public molmo2-academic-video-points columns. Both add `question`, `answer` (the Molmo2 plain
text), `source` and `query_type` (what kind of query the row asks: a category, a referring or a
reasoning expression, a no-target expression). Track rows also carry their clip bounds as Molmo2's track-instruction data does
(`clip`, `start_frame`, `end_frame`), where the clip lies in the source video (`source_video`,
`clip_start_time`, `clip_end_time`, `source_fps`) and, per `frame_trajectories` entry, the source
frame it was sampled from (`source_frames`). docs/MOLMO2.md says which Molmo2 code reads each
column. Tests check that `datasets.load_dataset("parquet", ...)` yields these features.
"""

from __future__ import annotations

import pyarrow as pa

POINT_XY = pa.struct([("x", pa.float64()), ("y", pa.float64())])

POINT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("subset", pa.string()),
        ("video_name", pa.string()),
        ("dataset", pa.string()),
        ("count", pa.int64()),
        ("timestamps", pa.list_(pa.float64())),
        ("points", pa.list_(pa.list_(POINT_XY))),  # per timestamp, x/y on a 0..100 scale
        ("category", pa.string()),
        ("video_duration", pa.float64()),
        ("clip_start_time", pa.float64()),
        ("clip_end_time", pa.float64()),
        ("video_path", pa.string()),
        ("question", pa.string()),
        ("answer", pa.string()),
        ("source", pa.string()),
        ("query_type", pa.string()),  # category, referring, reasoning or no_target
    ]
)

TRACK_POINT = pa.struct(
    [("id", pa.int64()), ("point", pa.list_(pa.float64())), ("occluded", pa.bool_())]
)
FRAME_TRAJECTORY = pa.struct(
    [("frame", pa.int64()), ("time", pa.float64()), ("points", pa.list_(TRACK_POINT))]
)

TRACK_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("video", pa.string()),
        ("expression", pa.string()),
        ("task", pa.string()),
        ("qid", pa.string()),
        ("video_path", pa.string()),
        ("video_source", pa.string()),
        ("fps", pa.int64()),
        ("sampling_fps", pa.int64()),
        ("height", pa.int64()),
        ("width", pa.int64()),
        ("n_frames", pa.int64()),
        ("frame_trajectories", pa.list_(FRAME_TRAJECTORY)),
        ("mask_id", pa.list_(pa.string())),
        ("anno_id", pa.list_(pa.string())),
        ("obj_id", pa.list_(pa.int64())),
        ("question", pa.string()),
        ("answer", pa.string()),
        ("source", pa.string()),
        ("clip", pa.string()),  # the clip's video name (== video)
        ("start_frame", pa.int64()),  # first and last frame of the clip in the whole video at `fps`
        ("end_frame", pa.int64()),
        ("clip_start_time", pa.float64()),  # the clip in seconds of the source video
        ("clip_end_time", pa.float64()),
        ("source_video", pa.string()),
        ("source_fps", pa.float64()),
        ("source_frames", pa.list_(pa.int64())),  # source frame index of each frame_trajectories entry
        ("query_type", pa.string()),  # category, referring or reasoning (track); point (single_point_track)
    ]
)

# The masks SAM 2 (or GrabCut) made for box objects, on the sampled frames, kept and dropped tracks
# alike: `OUT/masks.parquet`, so that `vgdata audit` and `vgdata report` can check and draw a box
# source's points against the mask they were drawn from (mask sources re-read their own masks).
MASK_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # source/split/video_id/object_id/frame (zero-padded): sorts like the rows
        ("source", pa.string()),
        ("split", pa.string()),
        ("video_id", pa.string()),
        ("object_id", pa.string()),  # the source's object id (a track row's anno_id)
        ("frame", pa.int64()),  # source frame index
        ("height", pa.int64()),
        ("width", pa.int64()),
        ("counts", pa.string()),  # COCO compressed RLE of the mask
        ("box", pa.list_(pa.float64())),  # the clipped ground-truth box x0, y0, x1, y1 in pixels
        ("kept", pa.bool_()),  # the track passed the mask/box IoU filter
    ]
)

# OUT/tracks.parquet: every object's track and what became of it (kept, dropped by the filter, or
# unseen: never visible on a sampled frame).
TRACK_LOG_SCHEMA = pa.schema([
    ("source", pa.string()), ("split", pa.string()), ("video_id", pa.string()), ("object_id", pa.string()),
    ("kept", pa.bool_()), ("mean_iou", pa.float64()), ("n_frames", pa.int64()), ("reprompts", pa.int64()),
    ("label", pa.string()), ("status", pa.string()),
])

DATASET_SCHEMAS = {"AcademicVideoPoint": POINT_SCHEMA, "AcademicVideoTrack": TRACK_SCHEMA,
                   "AcademicVideoGround": TRACK_SCHEMA}  # ground rows: the track columns, task `ground`


def hf_features(dataset: str):
    """The `datasets.Features` a shard of `dataset` loads as (datasets imported lazily)."""
    from datasets import Features

    return Features.from_arrow_schema(DATASET_SCHEMAS[dataset])
