"""allenai/molmo2's own code reads our rows: AcademicVideoPoint.load/get, TrackingDataset.load/get
(tasks track, single_point_track and ground),
its video loader and its DataFormatter, run on the demo build and the hard build (70 s, 25 fps,
capitalised label). Every row must be read (none dropped) with exactly its `answer`.

Molmo2 is not a dependency (and none of its code is in this repository): set MOLMO2_SRC to a
checkout of github.com/allenai/molmo2 whose requirements import (see docs/MOLMO2.md); without it
these tests skip."""

import glob
import os
import sys

import numpy as np
import pytest

from .test_fidelity import hard_build  # noqa: F401 - the shared fixture

MOLMO2_SRC = os.environ.get("MOLMO2_SRC")


@pytest.fixture(scope="module")
def molmo2():
    if not MOLMO2_SRC or not os.path.isdir(os.path.join(MOLMO2_SRC, "olmo")):
        pytest.skip("MOLMO2_SRC does not point at an allenai/molmo2 checkout")
    sys.path.insert(0, MOLMO2_SRC)
    try:
        import olmo.data.academic_video_datasets as points
        import olmo.data.academic_video_track_datasets as tracks
        from olmo.data.video_loader import VideoLoaderConfig
        from olmo.preprocessing.data_formatter import DataFormatter
    except ImportError as e:
        pytest.skip(f"Molmo2's code does not import here ({e})")
    formatter = DataFormatter(pointing_format="html-v2", prompt_templates="uber_model_v2")  # launch_scripts/sft.py
    loader = VideoLoaderConfig(max_frames=128, frame_sample_mode="uniform_last_frame", max_fps=[2], time_sampling=True,
                               loading_method="decord_with_av_fallback").build_video_loader()
    return points, tracks, formatter, loader


def _answer(formatter, message, video):
    message = dict(message)
    message["video"] = {"timestamps": video.timestamps, "target_fps": video.target_fps}  # as _format_example does
    _, output, _ = formatter.get_user_prompt(message, is_training=False, rng=np.random.RandomState(0))
    return output


def read_point_rows(molmo2, out, source):
    import datasets

    points, _, formatter, loader = molmo2
    ds = datasets.load_dataset("parquet", data_files=sorted(glob.glob(f"{out}/AcademicVideoPoint/{source}/train-*.parquet")),
                               split="train")
    points._load_hf_dataset = lambda *a, **k: ds
    points.VIDEO_DATA_HOME = f"{out}/AcademicVideoPoint"
    points._ACADEMIC_POINT_VIDEO_ROOTS[source] = f"{source}/{{split}}/videos-2fps"
    d = points.AcademicVideoPoint(split="train", max_seconds=63, mode="point_count", use_clips_from_metadata=True)
    assert len(d) == len(ds)  # no row dropped
    ours = {(r["video_name"], r["category"].lower(), r["clip_start_time"]): r["answer"] for r in ds}
    for i in range(len(d)):
        ex = d.get(i, np.random.RandomState(0))
        clip = (ex["metadata"]["clip_start_time"], ex["metadata"]["clip_end_time"])
        video = loader(ex["video"], clip)
        key = (os.path.basename(ex["video"])[:-4], ex["label"], clip[0])
        assert _answer(formatter, ex, video) == ours[key], key
    return len(d)


def read_track_rows(molmo2, out, source, dataset="AcademicVideoTrack"):
    """Every row of `dataset` (AcademicVideoTrack, or AcademicVideoGround: Molmo2's task `ground`
    over the same videos) read by a TrackingDataset of Molmo2's."""
    import datasets

    _, tracks, formatter, loader = molmo2
    from olmo.preprocessing.point_formatter import extract_tracks

    files = sorted(glob.glob(f"{out}/{dataset}/{source}/train-*.parquet"))
    if not files:
        return 0
    full = datasets.load_dataset("parquet", data_files=files, split="train")
    n = 0
    for task in sorted(set(full["task"])):
        ds = full.filter(lambda t: t == task, input_columns="task")
        tracks._load_hf_dataset = lambda *a, **k: ds

        class Ours(tracks.TrackingDataset):
            HF_SOURCE, DATASET_NAME = "vgdata", source
            VIDEO_HOME = f"{out}/AcademicVideoTrack/{source}"
            TASKS, SPLIT_MAP = ["track", "ground", "single_point_track"], {"train": "train"}

        d = Ours(split="train", task=task)
        assert len(d) == len(ds)  # no row dropped (fps % sampling_fps == 0)
        for i in range(len(d)):
            item, row = d.get(i, np.random.RandomState(0)), ds[i]
            video = loader(item["video"], None, **item["metadata"]["sampler_overrides"])
            (message,) = item["message_list"]
            output = _answer(formatter, message, video)
            assert output == row["answer"], row["id"]
            frames = {f["time"]: f["frame"] for f in row["frame_trajectories"]}
            assert all(frames[t["time"]] == t["frame"] for t in extract_tracks(output, row["width"], row["height"], row["fps"]))
            n += 1
    return n


@pytest.mark.slow
def test_molmo2_reads_the_demo_build_exactly(molmo2, built):
    cfg, _ = built
    assert sum(read_point_rows(molmo2, cfg.out, s) for s in ("mot", "lasot")) == 3
    assert sum(read_track_rows(molmo2, cfg.out, s) for s in ("sav", "mot", "lasot")) == 8
    assert sum(read_track_rows(molmo2, cfg.out, s, "AcademicVideoGround") for s in ("sav", "mot", "lasot")) == 3


@pytest.mark.slow
def test_molmo2_reads_the_long_25fps_capitalised_build_exactly(molmo2, hard_build):  # noqa: F811
    assert sum(read_point_rows(molmo2, hard_build, s) for s in ("mot", "lasot")) == 5
    assert sum(read_track_rows(molmo2, hard_build, s) for s in ("mot", "lasot")) == 7
    assert sum(read_track_rows(molmo2, hard_build, s, "AcademicVideoGround") for s in ("mot", "lasot")) == 5
