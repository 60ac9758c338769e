import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stages import molmo_text as T

coord = st.integers(0, 1000)


def test_documented_example():
    frames = [(0.0, {"car": (635, 522)}), (0.5, {"car": (606, 490), "b": (511, 124)}), (1.0, {"b": (515, 164)})]
    assert T.encode_tracks(frames, "red car") == \
        '<tracks coords="0.0 1 635 522;0.5 1 606 490 2 511 124;1.0 2 515 164">red car</tracks>'


def test_points_ids_run_across_frames_and_sort_by_xy():
    text = T.encode_points([(0.0, [(7, 7)]), (1.0, [(300, 5), (20, 900)])], "dog")
    assert text == '<points coords="0.0 1 007 007;1.0 2 020 900 3 300 005">dog</points>'


def test_track_ids_by_first_appearance_ties_by_xy_and_empty_frames_dropped():
    frames = [(0.0, {}), (0.5, {"z": (900, 100), "a": (100, 100)}), (1.0, {"a": (110, 100)})]
    assert T.encode_tracks(frames, "x") == '<tracks coords="0.5 1 100 100 2 900 100;1.0 1 110 100">x</tracks>'


def test_scale_rounds_and_clamps():
    assert T.to_scale(0, 640) == 0 and T.to_scale(640, 640) == 1000 and T.to_scale(700, 640) == 1000
    assert T.to_scale(-3, 640) == 0 and T.to_scale(3.2, 640) == 5
    assert T.fmt_coord(7) == "007" and T.fmt_coord(1000) == "1000"


def test_scale_divides_first_as_molmo2_does():
    """Molmo2 computes round(1000 * (v / size)); round(1000 * v / size) differs on exact halves."""
    assert T.to_scale(501.5, 1000) == 501  # 1000 * 501.5 / 1000 would round to 502
    # a point row stores 0..100 values; a point at x = 3.5 px of a 1000 px frame is stored as 0.35
    assert T.to_scale(0.35, 100) == 3  # round(1000 * 3.5 / 1000) would give 4
    assert T.to_scale(0.45, 100) == 5


def test_times_are_written_like_molmo2():
    assert [T.fmt_time(t) for t in (0.0, 0.5, 63.0, 12.25, 1 / 3)] == ["0.0", "0.5", "63.0", "12.2", "0.3"]


def point_row(**kw):
    row = {"count": 2, "category": "Red Ball", "clip_start_time": 63.0, "timestamps": [64.0, 63.5],
           "points": [[{"x": 0.35, "y": 50.0}], [{"x": 40.0, "y": 10.0}]]}
    return {**row, **kw}


def test_point_answer_is_clip_relative_lower_cased_and_sorted_by_time():
    assert T.point_answer(point_row()) == \
        'Counting the <points coords="0.5 1 400 100;1.0 2 003 500">red ball</points> shows a total of 2.'
    assert T.point_answer(point_row(count=0, timestamps=[], points=[])) == "There are none."


def track_row(task="track", **kw):
    traj = [{"frame": 0, "time": 0.0, "points": [{"id": 5, "point": None, "occluded": True},
                                                 {"id": 9, "point": [10.0, 20.0], "occluded": False}]},
            {"frame": 1, "time": 0.5, "points": [{"id": 5, "point": [50.0, 20.0], "occluded": False},
                                                 {"id": 9, "point": [11.0, 20.0], "occluded": False}]},
            {"frame": 2, "time": 1.0, "points": [{"id": 5, "point": [40.0, 10.0], "occluded": False}]}]
    row = {"task": task, "expression": "Dog", "frame_trajectories": traj, "mask_id": ["5", "9"], "sampling_fps": 2,
           "width": 100, "height": 100}
    return {**row, **kw}


def test_track_answer_ids_by_first_appearance_and_occluded_left_out():
    assert T.track_answer(track_row()) == \
        '<tracks coords="0.0 1 100 200;0.5 1 110 200 2 500 200;1.0 2 400 100">Dog</tracks>'
    # objects outside mask_id are not part of the row (Molmo2 keys points by mask_id)
    assert T.track_answer(track_row(mask_id=["9"])) == '<tracks coords="0.0 1 100 200;0.5 1 110 200">Dog</tracks>'


def test_single_point_track_answer_starts_after_the_first_visible_point():
    row = track_row("single_point_track", mask_id=["5"], expression="object")
    assert T.first_visible(row) == (0.5, [50.0, 20.0])
    assert T.query_points_text(row) == '<points coords="0.5 1 500 200">object</points>'
    assert T.track_answer(row) == '<tracks coords="1.0 1 400 100">object</tracks>'


def test_parser_rejects_malformed():
    with pytest.raises(ValueError):
        T.parse('<points coords="0.0 1 100">x</points>')
    with pytest.raises(ValueError):
        T.parse('<tracks coords="0.0 1 100 1200">x</tracks>')


@settings(max_examples=300, deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.integers(0, 200), st.dictionaries(st.integers(0, 9), st.tuples(coord, coord), max_size=5)),
        max_size=8, unique_by=lambda f: f[0],
    ),
    label=st.text(alphabet=st.characters(blacklist_characters='<>"', blacklist_categories=("Cs",)), min_size=1, max_size=20),
)
def test_tracks_round_trip(frames, label):
    frames = [(k / 2, pts) for k, pts in frames]
    text = T.encode_tracks(frames, label)
    if not any(pts for _, pts in frames):
        assert text == ""  # as Molmo2: no coordinates, no tag
        return
    (parsed,) = T.parse(text)
    assert parsed.tag == "tracks" and parsed.label == label
    visible = [(t, pts) for t, pts in sorted(frames) if pts]
    assert [f.time for f in parsed.frames] == [round(t, 1) for t, _ in visible]
    # same points, with ids remapped consistently
    mapping = {}
    for (t, pts), f in zip(visible, parsed.frames):
        assert sorted(pts.values()) == sorted((x, y) for _, x, y in f.points)
        for i, x, y in f.points:
            keys = [k for k, v in pts.items() if v == (x, y)]
            mapping.setdefault(i, set()).update(keys)
    # re-encoding the parsed form gives the same text
    again = T.encode_tracks([(f.time, {i: (x, y) for i, x, y in f.points}) for f in parsed.frames], label)
    assert again == text


@settings(max_examples=200, deadline=None)
@given(frames=st.lists(st.tuples(st.integers(0, 200), st.lists(st.tuples(coord, coord), max_size=6)), max_size=6,
                       unique_by=lambda f: f[0]))
def test_points_round_trip(frames):
    frames = sorted((k / 2, pts) for k, pts in frames)
    (parsed,) = T.parse(T.encode_points(frames, "thing"))
    n = sum(len(p) for _, p in frames)
    assert parsed.ids == list(range(1, n + 1))
    for (t, pts), f in zip([(t, p) for t, p in sorted(frames) if p], parsed.frames):
        assert f.time == round(t, 1)
        assert [(x, y) for _, x, y in f.points] == sorted(pts)
