"""Rows from records: clip windows, clip-relative answers, track clips with their own videos."""

import numpy as np

from pipeline.stages import masks as M
from pipeline.stages import molmo_text as T
from pipeline.stages.records import FrameAnnotation, TrackedObject, Video, VideoRecord
from pipeline.stages.rows import RowSettings, ground_rows, grid_length, make_layout, object_tracks, point_rows, track_rows
from pipeline.stages.sampling import sample_frames


def long_record(seconds=150, fps=2.0, label="cat", width=60, height=40):
    n = int(seconds * fps)
    m = np.zeros((height, width), bool)
    m[10:30, 20:40] = True
    rle = M.encode(m)
    obj = TrackedObject("7", "mask", category=label,
                        frames={f: FrameAnnotation(visible=not (100 <= f < 140), rle=rle) for f in range(n)})
    video = Video("src", "train", "vid", width, height, n, fps, fps, video_file="/data/vid.mp4")
    return VideoRecord(video, [obj], tuple(range(n)))


def prepare(record, **settings):
    v = record.video
    sampled, _ = sample_frames(v.n_frames, v.fps, record.annotated_frames, v.annotation_fps, 2)
    tracks, _ = object_tracks(record, sampled)
    s = RowSettings(**settings)
    return sampled, tracks, s, make_layout(record, sampled, s)


def test_point_rows_split_long_videos_into_63s_clips_with_clip_relative_answers():
    record = long_record()
    sampled, tracks, s, layout = prepare(record)
    rows, rejects = point_rows(record, sampled, tracks, s, layout)
    assert not rejects
    assert [(r["clip_start_time"], r["clip_end_time"]) for r in rows] == [(0.0, 63.0), (63.0, 126.0), (126.0, 150.0)]
    # the object is hidden from 50 s to 70 s: in the second clip it first appears at 70 s
    assert [r["timestamps"] for r in rows] == [[0.0], [70.0], [126.0]]
    # ... and Molmo2 reads the answer's times relative to the clip: 70 s is 7.0 s into the second clip
    assert [T.parse(r["answer"])[0].frames[0].time for r in rows] == [0.0, 7.0, 0.0]
    assert all(r["count"] == 1 and r["video_path"] == "AcademicVideoPoint/src/train/videos-2fps/vid.mp4" for r in rows)
    assert all(r["video_duration"] == 150.0 for r in rows)


def test_point_labels_are_lower_cased_in_question_and_answer_as_molmo2_does():
    record = long_record(seconds=5, label="Red Ball")
    sampled, tracks, s, layout = prepare(record)
    (row,), _ = point_rows(record, sampled, tracks, s, layout)
    assert row["category"] == "Red Ball"  # the source's label is kept in the data
    assert T.parse(row["answer"])[0].label == "red ball" and "red ball" in row["question"]
    assert "Red" not in row["question"] + row["answer"]
    val = long_record(seconds=5, label="Red Ball")
    val.video.split = "val"
    sampled, tracks, s, layout = prepare(val)
    (row,), _ = point_rows(val, sampled, tracks, s, layout)
    assert row["question"] == 'How many "red ball" are there in the video?'


def test_track_rows_are_cut_into_64s_clips_each_with_its_own_video():
    record = long_record(seconds=150)
    sampled, tracks, s, layout = prepare(record, tasks=("track",))
    rows, _ = track_rows(record, sampled, tracks, s, layout)
    assert [(r["video"], r["start_frame"], r["end_frame"], r["n_frames"]) for r in rows] == [
        ("vid_clip000", 0, 127, 128), ("vid_clip001", 128, 255, 128), ("vid_clip002", 256, 299, 44)]
    for r in rows:
        assert r["fps"] == r["sampling_fps"] == 2 and r["clip"] == r["video"] and r["source_video"] == "vid"
        assert r["video_path"] == f"AcademicVideoTrack/src/train/videos/{r['video']}.mp4"
        times = [f["time"] for f in r["frame_trajectories"]]
        frames = [f["frame"] for f in r["frame_trajectories"]]
        assert frames == [round(t * r["fps"]) for t in times]  # Molmo2's parser: frame = round(time * fps)
        assert max(times) < 64 and max(frames) < r["n_frames"]
        # clip-relative times map back to the source frames they were sampled from
        assert [r["clip_start_time"] + t for t in times] == [f / 2.0 for f in r["source_frames"]]
    # answers only list visible frames: 50..70 s hidden falls in the first clip (50..64 s)
    first = T.parse(rows[0]["answer"])[0]
    assert [f.time for f in first.frames] == [k / 2 for k in range(100)]


def test_single_point_track_rows_start_after_their_query_point():
    record = long_record(seconds=10)
    sampled, tracks, s, layout = prepare(record, tasks=("single_point_track",))
    (row,), _ = track_rows(record, sampled, tracks, s, layout)
    assert row["task"] == "single_point_track" and row["expression"] == "object" and row["mask_id"] == ["7"]
    query = T.parse(row["question"])[0]
    answer = T.parse(row["answer"])[0]
    assert query.frames[0].time == 0.0 and [f.time for f in answer.frames] == [k / 2 for k in range(1, 20)]


def test_queries_over_a_dropped_track_give_no_rows():
    record = long_record(seconds=10)
    sampled, tracks, s, layout = prepare(record, tasks=("track", "point_count"))
    (row,), _ = track_rows(record, sampled, tracks, s, layout)
    assert row["task"] == "track" and row["obj_id"] == [7] and row["mask_id"] == ["7"]
    assert len(row["frame_trajectories"]) == len(sampled) == 20
    record.queries = record.all_queries()  # fixed before the filter runs, as process_video does
    record.filtered = {"7": frozenset(record.objects[0].visible_frames())}
    record.objects = []  # the filter dropped the cat's only track
    for make in (track_rows, point_rows):
        rows, rejects = make(record, sampled, [], s, layout)
        assert rows == [] and rejects[0].reason == "query has a dropped track"


def test_a_dropped_track_leaves_the_rows_over_times_it_is_not_seen():
    """Cat 8 (dropped by the filter) is visible from 70 to 80 s only: the "cat" rows stay wherever
    it is not, and never count or track cat 7 alone where cat 8 is seen."""
    record = long_record(seconds=150)
    record.objects.append(TrackedObject("8", "mask", category="cat"))
    record.queries = record.all_queries()
    record.objects.pop()  # the filter dropped 8
    record.filtered = {"8": frozenset(range(140, 160)) | {260}}  # frames at 2 fps: 70..80 s and 130 s
    sampled, tracks, s, layout = prepare(record, tasks=("track", "point_count"))
    rows, rejects = point_rows(record, sampled, tracks, s, layout)
    # window 0-63 is whole; 63-126 loses 70-80 s: 63-70 (cat 7 hidden until 70: no row) and 80-126
    # (cat 7 seen at 80; it ends with its window, not at the next sighting at 130); 126-150 loses 130 s
    assert [(r["clip_start_time"], r["clip_end_time"], r["count"], r["timestamps"]) for r in rows] == [
        (0.0, 63.0, 1, [0.0]), (80.0, 126.0, 1, [80.0]), (126.0, 130.0, 1, [126.0]), (130.5, 150.0, 1, [130.5])]
    assert T.parse(rows[1]["answer"])[0].frames[0].time == 0.0  # relative to its own clip start
    assert [r.reason for r in rejects] == ["query has a dropped track"] * 2
    rows, rejects = track_rows(record, sampled, tracks, s, layout)
    # track clips are 0-64, 64-128, 128-150 s: the last two show cat 8
    assert [r["clip"] for r in rows] == ["vid_clip000"]
    assert [r.reason for r in rejects] == ["query has a dropped track"] * 2 and "vid_clip001" in rejects[0].detail


def test_odd_frame_sizes_are_padded_to_even_for_h264():
    record = long_record(seconds=3, width=61, height=41)
    sampled, tracks, s, layout = prepare(record)
    assert (layout.width, layout.height) == (62, 42)
    (row,), _ = track_rows(record, sampled, tracks, RowSettings(tasks=("track",)), layout)
    assert (row["width"], row["height"]) == (62, 42)


def test_grid_covers_the_whole_video():
    assert grid_length(40, 10.0, 2) == 8  # frames 0..39 at 10 fps: last frame at 3.9 s -> 0.0..3.5
    assert grid_length(1750, 25.0, 2) == 140  # 70 s at 25 fps
    assert grid_length(1, 30.0, 2) == 1


def test_ground_rows_keep_each_objects_first_and_last_visible_point_of_its_track_row():
    record = long_record(seconds=150)
    # a second object, annotated but hidden at its start and end: its ground points are the visible ends
    frames = {f: FrameAnnotation(visible=20 <= f < 90, rle=record.objects[0].frames[0].rle) for f in range(10, 120)}
    record.objects.append(TrackedObject("9", "mask", category="cat", frames=frames))
    sampled, tracks, s, layout = prepare(record, tasks=("track",))
    track, _ = track_rows(record, sampled, tracks, s, layout)
    ground = ground_rows(track, s)
    assert [g["id"] for g in ground] == [t["id"].replace("/track/", "/ground/") for t in track]
    first = ground[0]
    assert first["task"] == "ground" and first["video"] == track[0]["video"] and first["mask_id"] == track[0]["mask_id"]
    # object 7: visible 0..50 s of the first clip (hidden 50..70 s); object 9: annotated 5..60 s, visible 10..45 s
    points = {(p["id"], f["time"]) for f in first["frame_trajectories"] for p in f["points"]}
    assert points == {(7, 0.0), (7, 49.5), (9, 10.0), (9, 44.5)}
    assert not any(p["occluded"] for f in first["frame_trajectories"] for p in f["points"])
    assert [f["time"] for f in first["frame_trajectories"]] == [0.0, 10.0, 44.5, 49.5]
    assert first["source_frames"] == [0, 20, 89, 99]
    # the answer lists exactly those points, objects numbered by first appearance
    (parsed,) = T.parse(first["answer"])
    assert [(f.time, [i for i, _, _ in f.points]) for f in parsed.frames] == [(0.0, [1]), (10.0, [2]), (44.5, [2]), (49.5, [1])]
    assert "cat" in first["question"]
    # the third clip (128 s..150 s) shows object 7 throughout: its first and last grid times
    last = ground[-1]
    assert [(f["time"], f["frame"]) for f in last["frame_trajectories"]] == [(0.0, 0), (21.5, 43)]


def test_ground_answer_follows_molmo2s_start_end_filter_on_occluded_entries():
    """Molmo2's start/end filter takes an object's first and last *entry*, occluded or not; a
    ground row therefore holds no occluded entry, and its answer equals the filter's output."""
    row = {"task": "ground", "mask_id": ["1", "2"], "expression": "dog", "width": 100, "height": 100, "sampling_fps": 2,
           "frame_trajectories": [
               {"frame": 0, "time": 0.0, "points": [{"id": 1, "point": [10.0, 10.0], "occluded": False}]},
               {"frame": 1, "time": 0.5, "points": [{"id": 1, "point": [20.0, 20.0], "occluded": False},
                                                    {"id": 2, "point": [90.0, 90.0], "occluded": False}]},
               {"frame": 3, "time": 1.5, "points": [{"id": 1, "point": [30.0, 30.0], "occluded": False},
                                                    {"id": 2, "point": [80.0, 80.0], "occluded": False}]}]}
    assert T.track_answer(row) == '<tracks coords="0.0 1 100 100;0.5 2 900 900;1.5 1 300 300 2 800 800">dog</tracks>'
