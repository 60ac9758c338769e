import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import SamplingError
from pipeline.stages.sampling import sample_frames


@settings(max_examples=200, deadline=None)
@given(
    fps=st.sampled_from([24.0, 25.0, 30.0, 10.0, 6.0]),
    stride=st.integers(1, 6),
    n_frames=st.integers(1, 400),
    sampling_fps=st.integers(1, 4),
)
def test_timestamps_on_grid_and_frames_annotated(fps, stride, n_frames, sampling_fps):
    annotated = list(range(0, n_frames, stride))
    annotation_fps = fps / stride
    if sampling_fps > annotation_fps:
        # sparser than the grid: only grid times with an annotation within half a grid step
        sampled, dropped = sample_frames(n_frames, fps, annotated, annotation_fps, sampling_fps)
        for s in sampled:
            assert s.frame in annotated and abs(s.frame / fps - s.time) <= 0.5 / sampling_fps + 1e-6
        for d in dropped:
            assert min(abs(f / fps - d.time) for f in annotated) > 0.5 / sampling_fps - 1e-6 or "already" in d.reason
        assert len({s.frame for s in sampled}) == len(sampled)
        return
    sampled, dropped = sample_frames(n_frames, fps, annotated, annotation_fps, sampling_fps)
    assert not dropped  # regular annotation serves every grid time
    times = [s.time for s in sampled]
    assert times == sorted(times) and times[0] == 0.0
    for k, s in enumerate(sampled):
        assert s.time == pytest.approx(k / sampling_fps)  # on the 1/sampling_fps grid, no gaps
        assert s.frame in annotated
        # nearest annotated frame: within half an annotation interval
        assert abs(s.frame / fps - s.time) <= 0.5 / annotation_fps + 1e-6
    assert len({s.frame for s in sampled}) == len(sampled)
    # the grid runs to the end of the annotated span, not beyond
    end = min((n_frames - 1) / fps, annotated[-1] / fps + 0.5 / annotation_fps)
    assert times[-1] <= end + 1e-6 < times[-1] + 1 / sampling_fps


def test_sav_like_every_fourth_frame():
    sampled, _ = sample_frames(483, 24.0, range(0, 483, 4), 6.0, 2)
    assert [s.frame for s in sampled[:4]] == [0, 12, 24, 36]
    assert sampled[-1].time == 20.0 and sampled[-1].frame == 480


def test_one_fps_annotation_on_the_two_fps_grid_drops_the_half_seconds():
    sampled, dropped = sample_frames(100, 10.0, range(0, 100, 10), 1.0, 2)
    assert [s.time for s in sampled] == [float(t) for t in range(10)]
    assert [s.frame for s in sampled] == list(range(0, 100, 10))
    assert [d.time for d in dropped] == [t + 0.5 for t in range(9)] and "away" in dropped[0].reason


def test_rates_must_be_positive():
    with pytest.raises(SamplingError, match="positive"):
        sample_frames(100, 10.0, range(0, 100, 10), 0.0, 2)


def test_gap_in_annotation_drops_times_and_says_why():
    annotated = [0, 1, 2, 3, 4, 5, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]  # frames 6..19 missing (10 fps)
    sampled, dropped = sample_frames(30, 10.0, annotated, 10.0, 2)
    assert [s.time for s in sampled] == [0.0, 0.5, 2.0, 2.5]
    assert [d.time for d in dropped] == [1.0, 1.5]
    assert "away" in dropped[0].reason
