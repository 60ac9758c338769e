import numpy as np

from pipeline import masks as M
from pipeline.records import FrameAnnotation, TrackedObject, Video, VideoRecord
from pipeline.rows import RowSettings, object_tracks, point_rows, track_rows
from pipeline.sampling import sample_frames


def long_record(seconds=150, fps=2.0):
    n = int(seconds * fps)
    m = np.zeros((40, 60), bool)
    m[10:30, 20:40] = True
    rle = M.encode(m)
    obj = TrackedObject("7", "mask", category="cat",
                        frames={f: FrameAnnotation(visible=not (100 <= f < 140), rle=rle) for f in range(n)})
    video = Video("src", "train", "vid", 60, 40, n, fps, fps, video_file="/data/vid.mp4")
    return VideoRecord(video, [obj], tuple(range(n)))


def test_point_rows_split_long_videos_into_63s_clips():
    record = long_record()
    v = record.video
    sampled, _ = sample_frames(v.n_frames, v.fps, record.annotated_frames, v.annotation_fps, 2)
    tracks, _ = object_tracks(record, sampled)
    rows, rejects = point_rows(record, sampled, tracks, RowSettings(), "/data", set())
    assert not rejects
    assert [(r["clip_start_time"], r["clip_end_time"]) for r in rows] == [(0.0, 63.0), (63.0, 126.0), (126.0, 150.0)]
    # the object is hidden from 50 s to 70 s: in the second clip it first appears at 70 s
    assert [r["timestamps"] for r in rows] == [[0.0], [70.0], [126.0]]
    assert all(r["count"] == 1 and r["video_path"] == "vid.mp4" for r in rows)
    unclipped, _ = point_rows(record, sampled, tracks, RowSettings(max_clip_seconds=0), "/data", set())
    assert len(unclipped) == 1 and unclipped[0]["clip_end_time"] == 150.0


def test_track_rows_one_per_label_and_skip_incomplete_labels():
    record = long_record(seconds=10)
    v = record.video
    sampled, _ = sample_frames(v.n_frames, v.fps, record.annotated_frames, v.annotation_fps, 2)
    tracks, _ = object_tracks(record, sampled)
    (row,), _ = track_rows(record, sampled, tracks, RowSettings(), "/data", set())
    assert row["task"] == "track" and row["obj_id"] == [7] and row["mask_id"] == ["7"]
    assert len(row["frame_trajectories"]) == len(sampled) == 20
    rows, rejects = track_rows(record, sampled, tracks, RowSettings(), "/data", {"cat"})
    assert rows == [] and rejects[0].reason == "label has a dropped track"
