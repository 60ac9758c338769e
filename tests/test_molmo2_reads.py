"""allenai/molmo2's own code reads an export unmodified: with `MOLMO_DATA_DIR` at `vgdata export
molmo2 OUT --to DIR` and the Hub offline, `get_dataset_by_name(name, split)` for every name
`vgdata export molmo2 --list` claims loads every row of OUT the name covers, opens each row's video
where its class looks, and its DataFormatter writes exactly the row's answer from the frames its
video loader returns; on the evaluated splits every ground-truth point lies in its object's
MasksRLE mask, and Molmo2's tracking evaluator scores a single object's own answer 1.

Molmo2 runs in a process of its own (tests/molmo2_read.py) with nothing patched. It is not a
dependency (and none of its code is in this repository): set MOLMO2_SRC to a checkout of
github.com/allenai/molmo2, and MOLMO2_PYTHONPATH to where the packages its data code imports are
installed when they are not in this environment (docs/MOLMO2.md); without MOLMO2_SRC these tests skip."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline.ops import molmo2 as M2
from pipeline.ops.export import export_molmo2, list_table

from .conftest import REPO
from .test_fidelity import hard_build  # noqa: F401 - the shared fixture

MOLMO2_SRC = os.environ.get("MOLMO2_SRC")


@pytest.fixture(scope="module")
def molmo2_env() -> dict:
    if not MOLMO2_SRC or not os.path.isdir(os.path.join(MOLMO2_SRC, "olmo")):
        pytest.skip("MOLMO2_SRC does not point at an allenai/molmo2 checkout")
    path = os.pathsep.join(p for p in (MOLMO2_SRC, os.environ.get("MOLMO2_PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-c", "import olmo.data.get_dataset"], env=env, capture_output=True, text=True,
                       timeout=300)
    if r.returncode:
        pytest.skip(f"Molmo2's code does not import here: {r.stderr.strip().splitlines()[-1]}")
    return env


def molmo2_read(env: dict, to, requests: list, answers: dict, tmp_path) -> dict[tuple, dict]:
    """{(name, split): what Molmo2 made of it} (tests/molmo2_read.py, MOLMO_DATA_DIR=to)."""
    ours = tmp_path / "answers.json"
    ours.write_text(json.dumps(answers))
    r = subprocess.run([sys.executable, str(REPO / "tests" / "molmo2_read.py"), json.dumps(requests), str(ours)],
                       env={**env, "MOLMO_DATA_DIR": str(to)}, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    found = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            found[(d["name"], d["split"])] = d
    return found


def exported_rows(to) -> dict[str, dict]:
    """Every track row of the export by id, and every point row by (video, label, clip start)."""
    import datasets

    rows = {}
    for root, dirs, files in os.walk(to):
        if "state.json" in files:
            for r in datasets.load_from_disk(root).to_list():
                rows[r["id"]] = r
    return rows


def _points_key(video: str, label: str, start: float) -> tuple:
    return os.path.basename(video), label.lower(), round(start, 3)


def check_reads(found: dict, rows: dict, result: dict) -> int:
    """Every request read every row it should, exactly; returns the rows compared."""
    by_point = {(_points_key(r["video_path"], r["category"], r["clip_start_time"])): r for r in rows.values() if "category" in r}
    compared = 0
    for (name, split), d in found.items():
        assert "error" not in d, d
        spec = next(n for n in M2.NAMES if n.name == name) if name != "MevisChallenge" else None
        want = result["names"].get(name, {}).get(split) if spec else None
        if want is not None:
            assert len(d["rows"]) == want, (name, split)  # every row the name covers, none dropped
        for rec in d["rows"]:
            assert rec["exists"], rec["video"]
            if "id" not in rec:  # a point row
                row = by_point[_points_key(rec["video"], rec["label"], rec["clip"][0])]
                assert rec["answer"] == row["answer"], (name, rec["video"], rec["label"])
                compared += 1
                continue
            row = rows[rec["id"]]
            if spec is not None and spec.rate:
                assert row["sampling_fps"] == spec.rate
            times = [f["time"] for f in row["frame_trajectories"]]
            assert all(min(abs(t - s) for s in rec["times"]) < 1e-2 for t in times)  # the video spans the row
            if not row["mask_id"]:  # a query with no public answer: Molmo2 formats an empty one
                assert row["answer"] == "" and rec["answer"] == "There are none." and rec.get("masks") is None
            else:
                assert rec["answer"] == row["answer"], rec["id"]
            if rec.get("masks"):
                m = rec["masks"]
                visible = sum(1 for f in row["frame_trajectories"] for p in f["points"] if not p["occluded"])
                assert m["outside"] == [] and m["checked"] == visible and m["frames"] == [row["n_frames"]] * len(row["mask_id"])
                if row["task"] == "track" and len(row["mask_id"]) == 1:
                    assert m["f1"] == pytest.approx(1.0), rec["id"]
            compared += 1
    return compared


@pytest.mark.slow
def test_molmo2_reads_every_name_the_list_claims_with_nothing_patched(molmo2_env, molmo2_export, tmp_path):
    _, to, result = molmo2_export
    claimed = [name for name, status, _, _ in list_table() if status == "filled"]
    requests = [[name, split] for name in claimed for split in result["names"][name]]
    requests.append(["MevisChallenge", "test", 1])  # get_dataset_by_name cannot build it at f3cb108
    rows = exported_rows(to)
    found = molmo2_read(molmo2_env, to, requests, {k: r["answer"] for k, r in rows.items()}, tmp_path)
    assert set(found) == {tuple(r[:2]) for r in requests}
    assert check_reads(found, rows, result) > 200
    (challenge,) = [d for k, d in found.items() if k[0] == "MevisChallenge"]
    assert len(challenge["rows"]) == 4 and all(r["masks"] is None for r in challenge["rows"])
    # the evaluated splits were read with their masks
    evaluated = [r for (name, split), d in found.items() if split != "train" for r in d["rows"] if r.get("masks")]
    assert len(evaluated) >= 30


@pytest.mark.slow
def test_molmo2_reads_the_long_25fps_capitalised_build_exactly(molmo2_env, hard_build, tmp_path):  # noqa: F811
    """A 70 s sequence (two clips) and a capitalised sentence, read as lasot_single_point_track."""
    to = tmp_path / "data"
    result = export_molmo2(hard_build, str(to), echo=lambda s: None)
    assert result["names"] == {"lasot_single_point_track": {"train": 2}}
    rows = exported_rows(to)
    found = molmo2_read(molmo2_env, to, [["lasot_single_point_track", "train"]], {}, tmp_path)
    assert check_reads(found, rows, result) == 2
    assert {r["video"] for r in rows.values()} == {"ball-7_clip000", "ball-7_clip001"}


@pytest.mark.slow
def test_molmo2_reads_the_hub_layout_with_only_hf_source_changed(molmo2_env, molmo2_build, tmp_path):
    """`vgdata publish --layout molmo2 --org org` to the loopback Hub; Molmo2 with each class's
    HF_SOURCE at org (and nothing else changed) downloads the rows through its own
    `_load_hf_dataset`, the videos as the cards say, and reads every row exactly."""
    from huggingface_hub import constants

    from pipeline.ops.publish import publish_molmo2
    from tests.conftest import link_copy
    from tests.hub_server import HubServer

    build, _ = molmo2_build
    out = link_copy(build, tmp_path / "out")
    hub = HubServer(tokens={"hf_molmo2Test"}).start()
    saved = constants.HF_HUB_DISABLE_XET
    constants.HF_HUB_DISABLE_XET = True
    try:
        publish_molmo2(str(out), "org", endpoint=hub.url, token="hf_molmo2Test", base_delay=0.01, echo=lambda s: None,
                       run_audit=False)
        to = tmp_path / "molmo_data"  # empty: everything comes from the Hub
        to.mkdir()
        env = {**molmo2_env, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "HF_ENDPOINT": hub.url,
               "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": "hf_molmo2Test",
               "VGDATA_TEST_HF_ORG": "org"}
        requests = [["mevis_track", "train"], ["mevis_track_eval_1fps", "validation"], ["lasot_single_point_track", "train"],
                    ["ref_davis17_track", "test"], ["burst_ground", "train"], ["academic_video_points", "val"]]
        ref = export_molmo2(str(out), str(tmp_path / "ref"), echo=lambda s: None)
        rows = exported_rows(tmp_path / "ref")
        found = molmo2_read(env, to, requests, {k: r["answer"] for k, r in rows.items()}, tmp_path)
        assert set(found) == {tuple(r) for r in requests}
        assert check_reads(found, rows, ref) > 20
        assert (to / "video_datasets" / "video_track" / "tracking" / "mevis" / "track" / "train" / "state.json").exists()
    finally:
        constants.HF_HUB_DISABLE_XET = saved
        hub.stop()
