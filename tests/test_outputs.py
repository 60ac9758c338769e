"""OUT stays true to the latest build: no stale shards, nothing outside OUT, a resume cache that
only trusts complete entries, and no write to the code checkout."""

import glob
import json
import os
import shutil
import subprocess

import pyarrow.parquet as pq
import pytest

from pipeline.build import run_build
from pipeline.outputs.shards import sha256_file

from .conftest import REPO, demo_config
from .test_build import shard_paths


def build(root, out, sources=("mot", "lasot"), **kw):
    cfg = demo_config(root, out, sources=[{"name": s, "root": str(root / s)} for s in sources], **kw)
    return cfg, run_build(cfg, echo=lambda s: None)


def manifest(out):
    return json.load(open(os.path.join(out, "build_manifest.json")))


@pytest.fixture
def root(sample_dir, tmp_path):
    root = tmp_path / "sample"
    shutil.copytree(sample_dir, root)
    return root


def test_a_source_that_now_gives_no_rows_leaves_no_shards_behind(root, tmp_path):
    out = tmp_path / "out"
    build(root, out)
    assert os.path.exists(out / "AcademicVideoTrack" / "lasot" / "train-00000-of-00001.parquet")
    for name in ("ball-1", "cube-1"):  # every LaSOT sequence now fails to convert
        (root / "lasot" / name.split("-")[0] / name / "nlp.txt").write_text("")
    _, summary = build(root, out)
    assert summary["sources"]["lasot/train"]["videos_ok"] == 0
    left = [os.path.relpath(p, out) for p in glob.glob(str(out / "**" / "*"), recursive=True)
            if "/lasot/" in p and os.path.isfile(p)]
    assert left == []  # no shard and no video of lasot is left for a glob to serve
    m = manifest(out)
    assert not [s for s in m["shards"] if s["source"] == "lasot"]
    assert "AcademicVideoTrack/lasot/train-00000-of-00001.parquet" in m["removed"]
    assert {os.path.relpath(p, out) for p in shard_paths(out)} == {s["path"] for s in m["shards"]}


def test_sources_built_one_at_a_time_share_one_manifest(root, tmp_path):
    out = tmp_path / "out"
    build(root, out, sources=("mot",))
    cfg, summary = build(root, out, sources=("lasot",))
    m = manifest(out)
    assert {s["source"] for s in m["shards"]} == {"mot", "lasot"}
    assert all(s.get("carried_from") for s in m["shards"] if s["source"] == "mot")
    assert {os.path.relpath(p, out) for p in shard_paths(out)} == {s["path"] for s in m["shards"]}
    assert summary["sources"]["mot/train"]["carried_over"] is True
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    assert {r["source"] for r in rejects} == {"mot"}  # mot's drops are still on record
    assert all(os.path.exists(out / v["path"]) for v in m["videos"])


def test_nothing_outside_out_is_written_or_deleted(root, tmp_path):
    parent = tmp_path / "data"
    out = parent / "vg"
    decoys = [parent / "train-00000-of-00001.parquet", parent / "AcademicVideoTrack" / "mot" / "train-00000-of-00001.parquet",
              tmp_path / "train-00000-of-00003.parquet"]
    for d in decoys:
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_text("keep me")
    before = {p for p in glob.glob(str(tmp_path / "**"), recursive=True) if not p.startswith(str(out))}
    build(root, out)
    build(root, out)
    after = {p for p in glob.glob(str(tmp_path / "**"), recursive=True) if not p.startswith(str(out))}
    assert after == before and all(d.read_text() == "keep me" for d in decoys)


def test_garbage_or_incomplete_resume_entries_are_recomputed(root, tmp_path):
    out = tmp_path / "out"
    build(root, out)
    first = {os.path.relpath(p, out): sha256_file(p) for p in shard_paths(out)}
    entries = sorted(glob.glob(str(out / ".work" / "*" / "*" / "*.json")))
    assert [os.path.basename(e).split("-")[0] for e in entries] == ["ball", "cube", "SAMPLE", "SAMPLE"]
    open(entries[0], "w").write("\x00garbage{")
    data = json.load(open(entries[1]))
    del data["result"]["track_rows"]
    json.dump(data, open(entries[1], "w"))
    # the rows are in Arrow parts beside each entry: one whose footer does not parse is recomputed
    (part,) = [p for p in glob.glob(entries[2][:-5] + ".*.arrow") if "track_rows" in p]
    data = open(part, "rb").read()
    open(part, "wb").write(data[: len(data) - 20])
    _, summary = build(root, out)
    assert sum(s["cached_videos"] for s in summary["sources"].values()) == 1  # only the untouched entry
    assert {os.path.relpath(p, out): sha256_file(p) for p in shard_paths(out)} == first
    # a video a cached entry relies on is gone: that video is recomputed and the file written again
    (video,) = [v for v in manifest(out)["videos"] if v["video_id"] == "SAMPLE-01" and "Point" in v["path"]]
    os.remove(out / video["path"])
    _, summary = build(root, out)
    assert summary["sources"]["mot/train"]["cached_videos"] == 1 and summary["sources"]["lasot/train"]["cached_videos"] == 2
    assert sha256_file(out / video["path"]) == video["sha256"]


def test_an_interrupted_build_resumes_and_leftover_temp_files_go(root, tmp_path, monkeypatch):
    import pipeline.build.runner as R

    out = tmp_path / "out"
    real, done = R.process_ref, []

    def interrupted(ref, cfg):
        if len(done) == 2:
            raise KeyboardInterrupt
        done.append(ref.video_id)
        return real(ref, cfg)

    monkeypatch.setattr(R, "process_ref", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(root, out)
    monkeypatch.setattr(R, "process_ref", real)
    stale = out / "AcademicVideoPoint" / "mot" / ".train-00000-of-00001.parquet.tmp"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("half a shard")
    _, summary = build(root, out)
    assert sum(s["cached_videos"] for s in summary["sources"].values()) == 2
    assert not stale.exists()


def test_a_build_does_not_write_to_the_code_checkout(tmp_path):
    if not (REPO / ".git").is_dir() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    from pipeline.outputs.manifest import code_version

    index = REPO / ".git" / "index"
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "README.md"], capture_output=True, text=True).stdout.strip()
    assert tracked == "README.md"
    readme = REPO / "README.md"
    os.utime(readme)  # stale stat info: a plain `git status` would now rewrite .git/index
    before = (index.stat().st_mtime_ns, index.read_bytes())
    assert code_version()["git_commit"]
    assert (index.stat().st_mtime_ns, index.read_bytes()) == before


def test_a_second_build_into_the_same_out_at_once_is_refused(root, tmp_path):
    import pipeline.build as B
    from pipeline.errors import ConfigError

    out = tmp_path / "out"
    out.mkdir()
    with B.out_lock(str(out)):
        with pytest.raises(ConfigError, match=f"another vgdata build is writing to {out} \\(pid {os.getpid()}\\)"):
            build(root, out)
    build(root, out)  # the lock went with the first build


def test_rows_stream_from_per_video_parts_and_shards_do_not_depend_on_completion_order(root, tmp_path):
    """Each video's rows are written to sorted Parquet parts as it finishes; the build keeps only
    their counts, and shards are streamed from the parts in id order, so videos finishing in
    another order (as with several workers) give byte-identical shards."""
    from pipeline.build import LocalRunner

    class Reversed(LocalRunner):  # two threads over the videos in reverse order
        def map(self, groups, cfg):
            return super().map(list(reversed(groups)), cfg)

    a, b = tmp_path / "a", tmp_path / "b"
    cfg = demo_config(root, a, sources=[{"name": s, "root": str(root / s)} for s in ("mot", "lasot")],
                      videos="skip", max_shard_rows=1)
    run_build(cfg, echo=lambda s: None)
    cfg_b = demo_config(root, b, sources=[{"name": s, "root": str(root / s)} for s in ("mot", "lasot")],
                        videos="skip", max_shard_rows=1, workers=2)
    run_build(cfg_b, Reversed(), echo=lambda s: None)
    first = {os.path.relpath(p, a): sha256_file(p) for p in shard_paths(a)}
    assert len(first) > 4  # one row per shard: several shards per dataset and source
    assert {os.path.relpath(p, b): sha256_file(p) for p in shard_paths(b)} == first
    parts = glob.glob(str(a / ".work" / "*" / "*" / "*.arrow"))
    entry = json.load(open(glob.glob(str(a / ".work" / "mot" / "train" / "SAMPLE*.json"))[0]))
    assert parts and entry["result"]["point_rows"] == [] and entry["parts"]  # rows live in the parts only


def test_rejects_tracks_and_masks_stream_from_parts_and_a_build_keeps_only_counts(root, tmp_path):
    """A video's rejects, track scores and masks go to its parts like its rows; the build keeps
    counts and video-level rejects, and rejects/tracks/masks.parquet are streamed from the parts
    with the same rows as the videos produced (the MOT sample drops a track, ignores another, and
    rejects a video)."""
    from pipeline.build import discover
    from pipeline.build.runner import converter_for, process_ref, tasks_of
    from pipeline.build.video import process_video

    cfg = demo_config(root, tmp_path / "o", sources=[{"name": "mot", "root": str(root / "mot")}], videos="skip")
    refs = discover(cfg)
    fresh = [process_video(ref, cfg, converter_for(ref, cfg), tasks_of(ref.source)) for ref in refs]
    kept = [process_ref(ref, cfg) for ref in refs]
    for f, k in zip(fresh, kept):
        assert k.tracks == [] and k.masks == [] and all(x.level == "video" for x in k.rejects)
        assert k.reject_counts() == f.reject_counts() and k.track_counts() == f.track_counts()
    assert sum(sum(f.reject_counts().values()) for f in fresh) >= 4
    run_build(cfg, echo=lambda s: None)
    rejects = pq.read_table(os.path.join(cfg.out, "rejects.parquet")).to_pylist()
    assert sorted((r["video_id"], r["level"], r["reason"], r["object_id"]) for r in rejects) == \
        sorted((x.video_id, x.level, x.reason, x.object_id) for f in fresh for x in f.rejects)
    tracks = pq.read_table(os.path.join(cfg.out, "tracks.parquet")).to_pylist()
    assert sorted((t["video_id"], t["object_id"], t["status"]) for t in tracks) == \
        sorted((f.video_id, t["object_id"], t["status"]) for f in fresh for t in f.tracks)
    masks = pq.read_table(os.path.join(cfg.out, "masks.parquet")).column("id").to_pylist()
    assert masks == sorted(m["id"] for f in fresh for m in f.masks) and masks
