"""The videos rows name: frame alignment with the sampling, determinism, padding, atomic writes."""

import os

import numpy as np
import pytest

from pipeline.errors import SourceError
from pipeline.outputs.shards import sha256_file
from pipeline.outputs.videos import VideoOutput, grid_source_frames, write_videos
from pipeline.stages.records import Video

from .synthetic import mot_sequence


def video_of(root, name, fps, n, width=96, height=64):
    folder = os.path.join(root, "train", name, "img1")
    return Video("mot", "train", name, width, height, n, float(fps), float(fps), frames_dir=folder,
                 frame_files=tuple(f"{i:06d}.jpg" for i in range(1, n + 1)), root=str(root))


def test_grid_frames_are_the_nearest_source_frames_ties_to_the_earlier():
    v25 = Video("s", "train", "v", 10, 10, 100, 25.0, 25.0)
    assert grid_source_frames(v25, 4, 2, {}) == [0, 12, 25, 37]  # 0.5 s and 1.5 s fall between two frames
    assert grid_source_frames(v25, 4, 2, {1: 13}) == [0, 13, 25, 37]  # a sampled frame wins
    v30 = Video("s", "train", "v", 10, 10, 31, 30.0, 30.0)
    assert grid_source_frames(v30, 3, 2, {}) == [0, 15, 30]


@pytest.fixture(scope="module")
def seq25(tmp_path_factory):
    root = tmp_path_factory.mktemp("seq25")
    truth = mot_sequence(str(root), "S", 25, 6.0, width=95, height=63)  # odd sizes on purpose
    return root, truth


def test_frames_sizes_rate_and_content(seq25, tmp_path):
    import decord

    root, truth = seq25
    v = video_of(root, "S", 25, 150, 95, 63)
    grid = grid_source_frames(v, 12, 2, {})
    (entry,) = write_videos(v, grid, [VideoOutput("a/v.mp4", 0, 12)], str(tmp_path), 2, 96, 64)
    vr = decord.VideoReader(str(tmp_path / "a" / "v.mp4"))
    assert len(vr) == entry["frames"] == 12 and vr.get_avg_fps() == 2.0
    assert vr[0].shape == (64, 96, 3)  # padded to even sizes at the right and bottom
    for k in (1, 3, 7):  # each grid frame shows its own source frame, not a neighbour 1/2 s away
        decoded = vr[k].asnumpy()[:63, :95].astype(float)
        own = np.abs(decoded - truth["frames"][grid[k]]).mean()
        other = np.abs(decoded - truth["frames"][grid[k] + 12]).mean()
        assert own < 8 and own < 0.75 * other, (k, own, other)
    assert vr[0].asnumpy()[63].max() < 16 and vr[0].asnumpy()[:, 95].max() < 16  # the padding is black (lossy)


def test_deterministic_linked_duplicates_and_listed(seq25, tmp_path):
    root, _ = seq25
    v = video_of(root, "S", 25, 150, 95, 63)
    grid = grid_source_frames(v, 12, 2, {})
    outputs = [VideoOutput("p/whole.mp4", 0, 12), VideoOutput("t/whole.mp4", 0, 12), VideoOutput("t/part.mp4", 4, 9)]
    a = write_videos(v, grid, outputs, str(tmp_path / "a"), 2, 96, 64)
    b = write_videos(v, grid, outputs, str(tmp_path / "b"), 2, 96, 64)
    assert [e["sha256"] for e in a] == [e["sha256"] for e in b]  # byte-identical on every run
    assert a[0]["sha256"] == a[1]["sha256"] and a[2]["frames"] == 5
    assert os.stat(tmp_path / "a" / "p" / "whole.mp4").st_ino == os.stat(tmp_path / "a" / "t" / "whole.mp4").st_ino
    assert all(e["sha256"] == sha256_file(tmp_path / "a" / e["path"]) for e in a)
    assert not [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith(".tmp")]


def test_a_frame_that_cannot_be_read_leaves_no_partial_file(seq25, tmp_path):
    root, _ = seq25
    v = video_of(root, "S", 25, 150, 95, 63)
    grid = grid_source_frames(v, 12, 2, {})
    grid[9] = 10_000  # past the end of the frame folder
    with pytest.raises(SourceError, match="only 150 frames exist"):
        write_videos(v, grid, [VideoOutput("x/v.mp4", 0, 12)], str(tmp_path), 2, 96, 64)
    assert not [f for _, _, files in os.walk(tmp_path) for f in files]


def test_output_paths_must_stay_inside_out(seq25, tmp_path):
    root, _ = seq25
    v = video_of(root, "S", 25, 150, 95, 63)
    with pytest.raises(ValueError, match="could escape"):
        write_videos(v, [0], [VideoOutput("../escape.mp4", 0, 1)], str(tmp_path / "out"), 2, 96, 64)
