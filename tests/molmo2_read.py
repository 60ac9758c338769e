"""Read an export with allenai/molmo2's own, unmodified code, as its training and evaluation would.

Run by tests/test_molmo2_reads.py in a separate process whose environment holds Molmo2's code
(`MOLMO2_SRC` on PYTHONPATH), `MOLMO_DATA_DIR` pointing at the export and the Hub offline, so that
nothing but the export can be read (or, with VGDATA_TEST_HF_ORG, with HF_SOURCE pointed at that
organisation of a Hub published with `vgdata publish --layout molmo2`). Arguments: a JSON list of [name, split] (or ["MevisChallenge",
split, sampling_fps], which Molmo2's get_dataset_by_name cannot build at f3cb108). Prints one JSON
line per example, with what Molmo2 made of it: the example id, the video it opened and whether it
exists, the times its video loader returned, the answer its DataFormatter writes, and for an
evaluated split, each ground-truth point checked against the MasksRLE mask of its object and the
F1 its tracking evaluator gives our own answer.

Molmo2's settings are launch_scripts/sft.py's: DataFormatter(pointing_format="html-v2",
prompt_templates="uber_model_v2") and a TimeSampler video loader of 128 frames."""

import json
import os
import sys

import numpy as np


def formatter_and_loader():
    from olmo.data.video_loader import VideoLoaderConfig
    from olmo.preprocessing.data_formatter import DataFormatter

    formatter = DataFormatter(pointing_format="html-v2", prompt_templates="uber_model_v2")
    loader = VideoLoaderConfig(max_frames=128, frame_sample_mode="uniform_last_frame", max_fps=[2], time_sampling=True,
                               loading_method="decord_with_av_fallback").build_video_loader()
    return formatter, loader


def answer(formatter, message, video):
    message = dict(message)
    message["video"] = {"timestamps": video.timestamps, "target_fps": video.target_fps}  # as _format_example does
    _, output, _ = formatter.get_user_prompt(message, is_training=False, rng=np.random.RandomState(0))
    return output


def mask_checks(metadata: dict, our_answer: str, width: int, height: int) -> dict:
    """Every visible ground-truth point inside its object's MasksRLE mask on its frame; and the F1
    Molmo2's evaluator gives the row's own answer."""
    from olmo.eval.object_tracking_utils import ann_to_mask, evaluate_video_object_tracking
    from olmo.preprocessing.point_formatter import extract_tracks

    masks = metadata["masks"]
    checked, outside = 0, []
    for fr in metadata.get("points") or []:
        for idx, p in fr["points"].items():
            if p.get("occluded") or p.get("point") is None:
                continue
            rle = masks[str(idx)][fr["frame"]]
            m = None if rle is None else ann_to_mask(rle)
            x, y = p["point"]
            checked += 1
            if m is None or not m[min(int(y), m.shape[0] - 1), min(int(x), m.shape[1] - 1)]:
                outside.append([fr["frame"], int(idx), x, y])
    pred = extract_tracks(our_answer, width, height, metadata["video_fps"], format="video_point_track_per_frame")
    f1 = evaluate_video_object_tracking(pred, metadata.get("points"), masks, height, width)["f1"]
    return {"checked": checked, "outside": outside, "f1": float(f1), "objects": len(masks),
            "frames": [len(v) for v in masks.values()]}


def read_tracks(dataset, formatter, loader, ours: dict) -> list[dict]:
    out = []
    for i in range(len(dataset)):
        item = dataset.get(i, np.random.RandomState(0))
        meta = item["metadata"]
        rec = {"id": meta["example_id"], "video": item["video"], "exists": os.path.isfile(item["video"])}
        if rec["exists"]:
            video = loader(item["video"], None, **meta["sampler_overrides"])
            rec["times"] = [float(t) for t in video.timestamps]
            (message,) = item["message_list"]
            rec["answer"] = answer(formatter, message, video)
        if "masks" in meta:
            rec["masks"] = mask_checks(meta, ours.get(meta["example_id"], ""), meta["w"], meta["h"])
        elif dataset.is_eval:
            rec["masks"] = None  # a MasksRLE file that says null: no public answer
        out.append(rec)
    return out


def read_points(dataset, formatter, loader) -> list[dict]:
    out = []
    for i in range(len(dataset)):
        ex = dataset.get(i, np.random.RandomState(0))
        clip = (ex["metadata"]["clip_start_time"], ex["metadata"]["clip_end_time"])
        rec = {"video": ex["video"], "exists": os.path.isfile(ex["video"]), "label": ex["label"], "clip": list(clip)}
        if rec["exists"]:
            video = loader(ex["video"], clip)
            rec["times"] = [float(t) for t in video.timestamps]
            rec["answer"] = answer(formatter, ex, video)
        out.append(rec)
    return out


def from_hub(org: str) -> None:
    """The one change `vgdata publish --layout molmo2 --org ORG` asks of Molmo2: every class's
    HF_SOURCE at ORG. Then the repositories' videos and masks are put where the classes open them,
    as each repository's card says (`hf download ... --local-dir $MOLMO_DATA_DIR/video_datasets[/video_track]`)."""
    from huggingface_hub import snapshot_download
    from olmo.data import academic_video_datasets as points
    from olmo.data.academic_video_track_datasets import VIDEO_TRACK_DATA_HOME, TrackingDataset
    from olmo.data.dataset import VIDEO_DATA_HOME

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    repos = {}
    for cls in subclasses(TrackingDataset):
        if cls.HF_SOURCE:
            cls.HF_SOURCE = f"{org}/{cls.HF_SOURCE.split('/', 1)[1]}"
            repos[cls.HF_SOURCE] = VIDEO_TRACK_DATA_HOME
    points.AcademicVideoPoint.HF_SOURCE = f"{org}/{points.AcademicVideoPoint.HF_SOURCE.split('/', 1)[1]}"
    repos[points.AcademicVideoPoint.HF_SOURCE] = VIDEO_DATA_HOME
    for repo, home in repos.items():
        try:
            snapshot_download(repo, repo_type="dataset", local_dir=home, ignore_patterns=["*.parquet", "README.md", ".gitattributes"])
        except Exception as e:  # noqa: BLE001 - a class whose repository the build does not fill
            print(f"no repository {repo}: {type(e).__name__}", file=sys.stderr)


def main() -> None:
    from olmo.data.academic_video_track_datasets import MevisChallenge, TrackingDataset
    from olmo.data.get_dataset import get_dataset_by_name

    if os.environ.get("VGDATA_TEST_HF_ORG"):
        from_hub(os.environ["VGDATA_TEST_HF_ORG"])
    requests = json.loads(sys.argv[1])
    ours = json.loads(open(sys.argv[2]).read()) if len(sys.argv) > 2 else {}
    formatter, loader = formatter_and_loader()
    for req in requests:
        name, split = req[0], req[1]
        try:
            if name == "MevisChallenge":
                dataset = MevisChallenge(split=split, task="track", sampling_fps=req[2])
            else:
                dataset = get_dataset_by_name(name, split)
        except Exception as e:  # noqa: BLE001 - reported to the test, which says what failed
            print(json.dumps({"name": name, "split": split, "error": f"{type(e).__name__}: {e}"}), flush=True)
            continue
        if isinstance(dataset, TrackingDataset):
            rows = read_tracks(dataset, formatter, loader, ours)
        else:
            rows = read_points(dataset, formatter, loader)
        print(json.dumps({"name": name, "split": split, "rows": rows}), flush=True)


if __name__ == "__main__":
    main()
