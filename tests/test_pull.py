"""`vgdata pull`: against a real HTTP server on 127.0.0.1, killed in the middle of a download."""

import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from pipeline.ops.pull import PullError, extract, pull

SERVER = Path(__file__).with_name("range_server.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, folder, port, log, stall_after=None):
        args = [sys.executable, str(SERVER), str(folder), str(port), str(log)]
        if stall_after is not None:
            args += ["--stall-after", str(stall_after)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def make_archive(folder: Path) -> tuple[Path, str]:
    """A 3 MB tar.gz laid out like a release (`MOT17/train/SEQ/...`); returns (path, sha256)."""
    rng_bytes = os.urandom(3 << 20)  # incompressible, so the archive is big enough to interrupt
    path = folder / "MOT17.tar.gz"
    with tarfile.open(path, "w:gz") as t:
        for name, data in (("MOT17/train/SEQ-01/gt/gt.txt", b"1,1,10,10,20,20,1,1,1\n"),
                           ("MOT17/train/SEQ-01/img1/blob.bin", rng_bytes)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(url, size=None, sha=None, extract_kind="tar.gz"):
    return {"homepage": "x", "download": {"files": [{"url": url, "path": "MOT17.tar.gz", "size": size,
                                                     "sha256": sha, "extract": extract_kind}]}}


def test_pull_resumes_after_the_server_is_killed_mid_download(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    archive, sha = make_archive(served)
    size = archive.stat().st_size
    port, log, to = free_port(), tmp_path / "requests.log", tmp_path / "data"
    url = f"http://127.0.0.1:{port}/MOT17.tar.gz"
    server = Server(served, port, log, stall_after=1 << 20)
    part = to / "MOT17.tar.gz.part"

    def kill_when_half_there():
        deadline = time.time() + 30
        while time.time() < deadline and not (part.exists() and part.stat().st_size >= 1 << 20):
            time.sleep(0.05)
        server.kill()

    killer = threading.Thread(target=kill_when_half_there)
    killer.start()
    with pytest.raises(PullError, match="run pull again to resume"):
        pull("mot", str(to), manifest(url, size, sha), show_progress=False, retries=2, backoff=0.05)
    killer.join()
    kept = part.stat().st_size
    assert kept == 1 << 20 and not (to / "MOT17.tar.gz").exists()

    server = Server(served, port, log)  # the server is back: the next pull asks only for the rest
    try:
        report = pull("mot", str(to), manifest(url, size, sha), show_progress=False)
    finally:
        server.kill()
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    assert requests[-1]["range"] == f"bytes={kept}-"
    assert hashlib.sha256((to / "MOT17.tar.gz").read_bytes()).hexdigest() == sha and not part.exists()
    assert report.downloaded == ["MOT17.tar.gz"] and report.extracted == ["MOT17.tar.gz (2 members)"]
    assert (to / "MOT17" / "train" / "SEQ-01" / "gt" / "gt.txt").read_text() == "1,1,10,10,20,20,1,1,1\n"
    # complete now: a third pull skips it without asking the (stopped) server
    again = pull("mot", str(to), manifest(url, size, sha), show_progress=False, retries=0)
    assert again.skipped == ["MOT17.tar.gz"] and not again.downloaded


def test_pull_checksum_mismatch_removes_the_file_and_says_so(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    archive, sha = make_archive(served)
    port, log = free_port(), tmp_path / "log"
    server = Server(served, port, log)
    try:
        with pytest.raises(PullError, match="is not the manifest's") as e:
            pull("mot", str(tmp_path / "data"), manifest(f"http://127.0.0.1:{port}/MOT17.tar.gz", sha="0" * 64),
                 show_progress=False)
        with pytest.raises(PullError, match="HTTP 404"):
            pull("mot", str(tmp_path / "data"), manifest(f"http://127.0.0.1:{port}/nope.zip"), show_progress=False)
    finally:
        server.kill()
    assert "http://127.0.0.1" in str(e.value)
    assert not any(p.name.startswith("MOT17.tar.gz") for p in (tmp_path / "data").iterdir())


@pytest.mark.parametrize("member", ["../escape.txt", "/abs/path.txt", "link"])
def test_pull_refuses_archives_with_members_that_leave_the_folder(tmp_path, member):
    archive = tmp_path / "bad.tar"
    with tarfile.open(archive, "w") as t:
        ok = tarfile.TarInfo("fine.txt")
        ok.size = 2
        t.addfile(ok, io.BytesIO(b"ok"))
        bad = tarfile.TarInfo(member)
        if member == "link":
            bad.type, bad.linkname = tarfile.SYMTYPE, "/etc/passwd"
        else:
            bad.size = 1
        t.addfile(bad, io.BytesIO(b"x") if member != "link" else None)
    into = tmp_path / "into"
    with pytest.raises(PullError, match="refused|leads outside"):
        extract(str(archive), str(into), "tar")
    assert not (into / "fine.txt").exists()  # nothing extracted from a bad archive
    assert not (tmp_path / "escape.txt").exists()


def test_pull_refuses_zip_slip(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("good/a.txt", "a")
        z.writestr("../../evil.txt", "x")
    with pytest.raises(PullError, match="leads outside"):
        extract(str(archive), str(tmp_path / "into"), "zip")
    assert not (tmp_path / "into" / "good").exists()


def test_pull_licence_gated_source_says_what_to_do(tmp_path, capsys):
    from flows.cli import main

    code = main(["pull", "sav", "--to", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 3 and "licence form" in out and "segment-anything-video" in out and "still missing" in out


def test_pull_every_manifest_has_a_download_section():
    from pipeline.sources import load_manifest, sources
    from pipeline.ops.pull import plan_for

    for name in sources():
        plan = plan_for(name, load_manifest(name))
        assert plan.files or plan.manual, name


def test_pull_hub_source_with_huggingface_hub_against_a_local_hub(tmp_path, monkeypatch):
    """A Hub-hosted source goes through huggingface_hub's snapshot_download (the real client, a
    Hub-compatible server on 127.0.0.1); allow_patterns select the files."""
    from tests.hub_server import HubServer

    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    repo = tmp_path / "repo"
    (repo / "train").mkdir(parents=True)
    (repo / "train" / "part1.zip").write_bytes(b"PK-not-really" * 100)
    (repo / "README.md").write_text("# dancetrack mirror\n")
    server = HubServer({"noahcao/dancetrack": str(repo)}).start()
    try:
        m = {"download": {"files": [{"hub": {"repo_id": "noahcao/dancetrack", "repo_type": "dataset",
                                             "allow_patterns": ["train/*"], "endpoint": server.url},
                                     "path": "dancetrack"}]}}
        report = pull("dancetrack", str(tmp_path / "data"), m, show_progress=False)
        assert report.downloaded == ["dancetrack"]
        got = tmp_path / "data" / "dancetrack" / "train" / "part1.zip"
        assert got.read_bytes() == (repo / "train" / "part1.zip").read_bytes()
        assert not (tmp_path / "data" / "dancetrack" / "README.md").exists()  # not in allow_patterns
        assert pull("dancetrack", str(tmp_path / "data"), m, show_progress=False).skipped == ["dancetrack"]
    finally:
        server.stop()


def test_pull_true_in_a_build_config_downloads_before_building(tmp_path, sample_dir, monkeypatch):
    """`pull: true` fetches the source (here the sample's MOT sequences as a zip on a local server)
    and the build then converts what it unpacked."""
    import shutil

    import pipeline.build.run as B
    from pipeline.config import config_from_dict

    served = tmp_path / "served"
    served.mkdir()
    shutil.make_archive(str(served / "MOTSAMPLE"), "zip", root_dir=sample_dir, base_dir="mot")
    port = free_port()
    real = B.load_manifest
    fake = {**real("mot"), "download": {"files": [{"url": f"http://127.0.0.1:{port}/MOTSAMPLE.zip",
                                                   "path": "MOTSAMPLE.zip", "extract": "zip"}]}}
    monkeypatch.setattr(B, "load_manifest", lambda name: fake if name == "mot" else real(name))
    cfg = config_from_dict({"out": str(tmp_path / "out"), "segmenter": {"name": "grabcut"}, "videos": "skip",
                            "sources": [{"name": "mot", "root": str(tmp_path / "data" / "mot"), "pull": True,
                                         "pull_to": str(tmp_path / "data")}]})
    server = Server(served, port, tmp_path / "log")
    try:
        summary = B.run_build(cfg, echo=lambda s: None)
    finally:
        server.kill()
    assert summary["sources"]["mot/train"]["videos_ok"] == 1
    assert (tmp_path / "data" / "mot" / "train" / "SAMPLE-01" / "gt" / "gt.txt").exists()
