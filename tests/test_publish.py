"""Publishing (`vgdata publish`) and the dataset card, with the real `huggingface_hub` client
against the Hub-compatible server in tests/hub_server.py on 127.0.0.1, and the card read back by
`datasets` offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO, demo_config
from tests.hub_server import HubServer

TOKEN = "hf_vgdataTestSECRET0123456789"


@pytest.fixture
def out(built, tmp_path):
    """A private copy of the session's build, free to change."""
    cfg, _ = built
    dst = tmp_path / "out"
    shutil.copytree(cfg.out, dst, ignore=shutil.ignore_patterns(".vgdata.lock"))
    return dst


@pytest.fixture
def hub(monkeypatch):
    from huggingface_hub import constants
    from huggingface_hub.utils import disable_progress_bars

    # The test server speaks the LFS protocol; HF_HUB_DISABLE_XET=1 is how a user selects it too.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    disable_progress_bars()
    server = HubServer(tokens={TOKEN}).start()
    yield server
    server.stop()


def _publish(out, hub, **kw):
    from pipeline.ops.publish import publish

    lines = []
    result = publish(str(out), "org/vg", endpoint=hub.url, base_delay=0.01, echo=lines.append, **kw)
    return result, "\n".join(lines)


def _local(out) -> dict[str, bytes]:
    import json

    m = json.loads((out / "build_manifest.json").read_text())
    paths = ["README.md", "build_manifest.json", "summary.json", "rejects.parquet", "tracks.parquet", "masks.parquet"]
    paths += [e["path"] for e in m["shards"] + m["videos"]]
    return {p: (out / p).read_bytes() for p in paths}


# -- the card ----------------------------------------------------------------------------------------
def test_publish_card_configs_cover_every_shard_once_and_load_offline(built):
    import json

    import datasets

    from pipeline.quality.files import configs_by_split

    cfg, _ = built
    manifest = json.loads(open(os.path.join(cfg.out, "build_manifest.json")).read())
    found = configs_by_split(cfg.out)
    covered = [p for splits in found.values() for paths in splits.values() for p in paths]
    assert sorted(covered) == sorted(s["path"] for s in manifest["shards"])  # each shard exactly once
    assert set(found) == {"mot", "lasot", "sav_track", "mot_track", "lasot_track", "mot_ground", "lasot_ground"}
    for name, splits in found.items():
        ds = datasets.load_dataset(cfg.out, name)
        for split, paths in splits.items():
            want = sum(s["rows"] for s in manifest["shards"] if s["path"] in paths)
            assert ds[split].num_rows == want > 0
        dataset = "AcademicVideoPoint" if "_" not in name else "AcademicVideoTrack"
        assert {r["source"] for r in ds["train"]} == {name.removesuffix("_track").removesuffix("_ground")}
        assert ("frame_trajectories" in ds["train"].column_names) == (dataset == "AcademicVideoTrack")
        if name.endswith("_ground"):
            assert set(ds["train"]["task"]) == {"ground"}


def test_publish_card_licence_is_the_most_restrictive_and_says_so(built):
    from huggingface_hub import DatasetCard

    from pipeline.ops.card import most_restrictive

    assert most_restrictive({"a": "cc-by-4.0", "b": "cc-by-nc-4.0", "c": "mit"})[0] == "cc-by-nc-4.0"
    assert most_restrictive({"a": "cc-by-nc-sa-3.0", "b": "cc-by-nc-sa-4.0"})[0] == "other"  # no one covers both
    cfg, summary = built
    card = DatasetCard.load(os.path.join(cfg.out, "README.md"))
    assert card.data.license == "other"  # lasot is research-only
    text = card.text
    assert "most restrictive" in text and "lasot" in text
    for source in ("SA-V", "MOTChallenge", "LaSOT"):
        assert source in text
    assert "@" in text and "bibtex" in text  # citations
    for reason, n in summary["rejects_by_reason"].items():
        assert f"{n} x {reason}" in text
    info = {c["config_name"]: c for c in card.data.to_dict()["dataset_info"]}
    assert info["sav_track"]["splits"][0]["num_examples"] == summary["sources"]["sav/train"]["track_rows"]


# -- publishing --------------------------------------------------------------------------------------
def test_publish_uploads_verifies_and_republishes_nothing(out, hub):
    result, log = _publish(out, hub)
    assert hub.files("org/vg") == {".gitattributes": hub.files("org/vg")[".gitattributes"], **_local(out)}
    assert len(hub.repos["org/vg"].history()) == 2  # the repo's first commit and ours: one commit
    assert TOKEN not in log
    uploads, commits = hub.count("lfs-upload"), hub.count("commit")
    again, log = _publish(out, hub)
    assert "nothing uploaded" in log and again.plan.add == [] and again.plan.delete == []
    assert (hub.count("lfs-upload"), hub.count("commit")) == (uploads, commits)


def test_publish_rebuild_deletes_stale_shards_in_the_same_commit(out, hub, sample_dir):
    from pipeline.build import run_build

    _publish(out, hub)
    before = set(hub.files("org/vg"))
    cfg = demo_config(sample_dir, out, max_shard_rows=1)  # every split now has one shard per row
    run_build(cfg, echo=lambda s: None)
    result, _ = _publish(out, hub)
    after = hub.files("org/vg")
    assert result.plan.delete and set(result.plan.delete) == {p for p in before if p.endswith("-of-00001.parquet")
                                                              and p.startswith("Academic")} - set(after)
    assert not [p for p in after if p.endswith("-of-00001.parquet")
                and any(p.startswith(d) for d in ("AcademicVideoTrack/sav/",))]
    assert {p: b for p, b in after.items() if p != ".gitattributes"} == _local(out)
    assert len(hub.repos["org/vg"].history()) == 3  # one commit per publish: readers never saw a mix


def test_publish_retries_429_and_replans_when_the_branch_moves(out, hub):
    hub.inject("commit", 429)
    hub.before_next("preupload", lambda s: s.commit_files("org/vg", {"NOTES.md": b"another writer\n"})
                    if "org/vg" in s.repos else None)
    result, log = _publish(out, hub)
    # the 429 was retried; another writer's commit landed between our read and our commit: 412, re-planned
    assert "HTTP 429, retrying" in log
    assert "moved while publishing (412)" in log and result.attempts == 2
    files = hub.files("org/vg")
    assert files["NOTES.md"] == b"another writer\n"  # not clobbered
    assert {p: files[p] for p in _local(out)} == _local(out)


def test_publish_fails_fast_on_403_leaves_main_untouched_then_resumes(out, hub):
    from pipeline.ops.publish import PublishError

    hub.inject("commit", 403)
    with pytest.raises(PublishError, match="403"):
        _publish(out, hub)
    assert hub.count("commit") == 1  # not retried
    assert set(hub.files("org/vg")) == {".gitattributes"}  # readers of main saw nothing
    uploaded = hub.count("lfs-upload")
    assert uploaded > 0
    _publish(out, hub)
    assert hub.count("lfs-upload") == uploaded  # the stored objects were not sent again
    assert {p: b for p, b in hub.files("org/vg").items() if p != ".gitattributes"} == _local(out)


def test_publish_create_pr_leaves_main_until_merged(out, hub):
    from huggingface_hub import HfApi

    result, log = _publish(out, hub, create_pr=True)
    assert result.pr_url and "pull request" in log
    assert set(hub.files("org/vg")) == {".gitattributes"}
    assert {p: b for p, b in hub.files("org/vg", "refs/pr/1").items() if p != ".gitattributes"} == _local(out)
    HfApi(endpoint=hub.url).merge_pull_request("org/vg", 1, repo_type="dataset")
    assert {p: b for p, b in hub.files("org/vg").items() if p != ".gitattributes"} == _local(out)


def test_publish_to_a_new_branch(out, hub):
    _publish(out, hub, revision="v1")
    assert set(hub.files("org/vg")) == {".gitattributes"}
    assert {p: b for p, b in hub.files("org/vg", "v1").items() if p != ".gitattributes"} == _local(out)


def test_publish_refuses_a_build_whose_checks_fail(out, hub):
    from pipeline.ops.publish import PublishError

    shard = next((out / "AcademicVideoTrack" / "sav").glob("train-*.parquet"))
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    stray = out / "AcademicVideoPoint" / "mot" / "train-00007-of-00009.parquet"
    shutil.copy(next((out / "AcademicVideoPoint" / "mot").glob("train-*.parquet")), stray)
    with pytest.raises(PublishError) as e:
        _publish(out, hub)
    assert str(shard) in str(e.value) and "sha256" in str(e.value)
    assert str(stray) in str(e.value) and "not in the manifest" in str(e.value)
    assert hub.requests == []  # nothing sent


def _cli(*args, env_extra=None):
    env = {**os.environ, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, capture_output=True, text=True,
                          env=env, timeout=300)


def test_publish_cli_dry_run_touches_nothing_and_the_token_never_shows(out, hub):
    r = _cli("publish", str(out), "--repo", "org/vg", "--endpoint", hub.url, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "dry run, nothing sent" in r.stdout and "upload  AcademicVideoTrack/sav/train-00000-of-00001.parquet" in r.stdout
    assert not [m for m, _, _ in hub.requests if m in ("POST", "PUT")]
    assert "org/vg" not in hub.repos
    # no Hub at all: the plan still prints, assuming an empty repo
    r = _cli("publish", str(out), "--repo", "org/vg", "--endpoint", "http://127.0.0.1:9", "--dry-run")
    assert r.returncode == 0 and "assumes it is empty" in r.stdout
    # a refused token: one line, exit 2, no token; then the real publish
    r = _cli("publish", str(out), "--repo", "org/vg", "--endpoint", hub.url, env_extra={"HF_TOKEN": TOKEN + "x"})
    assert r.returncode == 2 and "401" in r.stderr and "Traceback" not in r.stderr
    r2 = _cli("publish", str(out), "--repo", "org/vg", "--endpoint", hub.url)
    assert r2.returncode == 0, r2.stderr
    assert "published" in r2.stdout
    for text in (r.stdout, r.stderr, r2.stdout, r2.stderr):
        assert TOKEN not in text
    for root, _, files in os.walk(out):
        for f in files:
            assert TOKEN.encode() not in open(os.path.join(root, f), "rb").read()
    sent = [auth for _, _, auth in hub.requests if auth]
    assert sent and all(a.startswith("Bearer ") for a in sent)  # the token went only where it belongs


def test_publish_refuses_a_build_that_fails_its_audit(hub, tmp_path, sample_dir):
    import glob as _glob

    import pyarrow.parquet as pq

    from pipeline.build import run_build
    from tests.conftest import demo_config

    out = tmp_path / "out"
    run_build(demo_config(sample_dir, out, videos="skip"), echo=lambda s: None)
    # an answer that no longer says the row's points, with the manifest's hashes and counts kept true
    shard = sorted(_glob.glob(str(out / "AcademicVideoTrack" / "mot" / "*.parquet")))[0]
    t = pq.read_table(shard)
    answers = t.column("answer").to_pylist()
    answers[0] = answers[0].replace(";", ";9.5 1 500 500;", 1)
    pq.write_table(t.set_column(t.schema.get_field_index("answer"), "answer", [answers]), str(tmp_path / "x.parquet"))
    shutil.copy(tmp_path / "x.parquet", shard)
    from pipeline.ops.publish import PublishError
    from pipeline.outputs.shards import sha256_file

    m = json.loads((out / "build_manifest.json").read_text())
    for e in m["shards"]:
        if str(out / e["path"]) == shard:
            e["bytes"], e["sha256"] = os.path.getsize(shard), sha256_file(shard)
    (out / "build_manifest.json").write_text(json.dumps(m))
    with pytest.raises(PublishError, match="failed its audit.*answer: mot/train/SAMPLE-01/track"):
        _publish(out, hub)
    assert hub.count("commit") == 0


# -- the layout Molmo2's classes download from ------------------------------------------------------

LOAD_BACK = """
import json, sys
import datasets
out = {}
for repo, config, split in json.loads(sys.argv[1]):
    ds = datasets.load_dataset(repo, config, split=split) if config != "default" else datasets.load_dataset(repo, split=split)
    out[f"{repo}|{config}|{split}"] = sorted(ds["id"])
print(json.dumps(out))
"""


@pytest.mark.slow
def test_publish_molmo2_layout_loads_with_datasets_from_the_repositories_molmo2_names(molmo2_build, hub, tmp_path):
    """Every dataset of the export is a (repository, config, split) of ORG's that
    `datasets.load_dataset` reads back with exactly its rows; the repositories hold the videos and
    masks at the paths the classes open them; a second publish sends nothing."""
    import datasets

    from pipeline.ops import molmo2 as M2
    from pipeline.ops.export import export_molmo2
    from pipeline.ops.molmo2_repos import where
    from pipeline.ops.publish import publish_molmo2

    from tests.conftest import link_copy

    build, _ = molmo2_build
    out = link_copy(build, tmp_path / "out")
    results = publish_molmo2(str(out), "org", endpoint=hub.url, base_delay=0.01, echo=lambda s: None, run_audit=False)
    assert {r.plan.repo for r in results} == {f"org/{M2.CLASSES[c].repo}" for c in M2.claims()} | {f"org/{M2.POINT_REPO}"}
    exported = export_molmo2(str(out), str(tmp_path / "x"), echo=lambda s: None)
    asked, want = [], {}
    for rel, info in exported["datasets"].items():
        repo, config, split, home, _ = where(rel)
        asked.append([f"org/{repo}", config, split])
        want[f"org/{repo}|{config}|{split}"] = sorted(r["id"] for r in datasets.load_from_disk(tmp_path / "x" / rel))
        files = hub.files(f"org/{repo}")
        for f in info["files"]:  # videos and masks where the class opens them, below its home
            assert files[os.path.relpath(f, home)] == (tmp_path / "x" / f).read_bytes()
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    r = subprocess.run([sys.executable, "-c", LOAD_BACK, json.dumps(asked)], env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.splitlines()[-1]) == want
    card = hub.files("org/molmo2-mevis")["README.md"].decode()
    assert "config_name: track" in card and "HF_SOURCE" in card and "cc-by-nc-sa-4.0" in card
    again = publish_molmo2(str(out), "org", endpoint=hub.url, base_delay=0.01, echo=lambda s: None, run_audit=False)
    assert all(not r.plan.add and not r.plan.delete for r in again)


def test_publish_cli_layout_molmo2_needs_an_organisation(out, capsys):
    from flows.cli import main

    assert main(["publish", str(out), "--layout", "molmo2", "--repo", "org/x"]) == 2
    assert "--layout molmo2 takes --org ORG" in capsys.readouterr().err
    assert main(["publish", str(out), "--layout", "molmo2", "--org", "org/x", "--dry-run"]) == 2
    assert "give the organisation (or user) alone" in capsys.readouterr().err
