"""`vgdata pull SOURCE --to DIR`: fetch a source's files as its data manifest lists them.

A manifest's `download` section says where the files are:

    download:
      files:
        - url: https://motchallenge.net/data/MOT17.zip   # a plain HTTP(S) file ...
          path: MOT17.zip                                # ... saved under DIR as this
          size: 5505314944                               # checked where the dataset publishes it
          sha256: 0f1e...                                # checked where the dataset publishes it
          extract: zip                                   # zip, tar, tar.gz, tar.bz2 (or absent)
        - hub: {repo_id: noahcao/dancetrack, repo_type: dataset, allow_patterns: ["*.zip"]}
          path: dancetrack                               # Hub files go through huggingface_hub
                                                         # (`endpoint:` or HF_ENDPOINT for a mirror)
      manual: |                                          # sources behind a licence form
        Fill in the form at <page>, download X and put it in DIR/...
      page: https://...
      expect: [sav_train/sav_000]                        # what must be in DIR once the user is done

HTTP downloads go to `<path>.part` and resume after an interruption with an HTTP Range request
(a server that ignores it is restarted from zero); a dropped connection is retried with backoff,
and a 4xx other than 429 fails at once. The finished file is checked against `size` and `sha256`
before it takes its name (a mismatch deletes it and says so). A file that is complete (a record
under `DIR/.vgdata-pull/`, and the file still there with its size) is skipped. Archives are
extracted into DIR with every member checked first: no absolute path, no `..` out of DIR, no
symbolic or hard link, no device; one bad member refuses the whole archive. Hub files use
`huggingface_hub.snapshot_download`, which resumes and verifies on its own. Progress bars (rich)
show bytes, rate and time left on a terminal, and nothing otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass, field

from pipeline import checks
from pipeline.errors import VgdataError

CHUNK = 1 << 20
RETRIES = 5
STATE_DIR = ".vgdata-pull"
ARCHIVES = ("zip", "tar", "tar.gz", "tgz", "tar.bz2")


class PullError(VgdataError):
    """A download or extraction that cannot finish: names the URL or file and the problem."""


@dataclass(frozen=True)
class RemoteFile:
    path: str  # where it goes, relative to the destination folder
    url: str | None = None
    hub: dict | None = None  # {repo_id, repo_type, revision, allow_patterns}
    size: int | None = None
    sha256: str | None = None
    extract: str | None = None


@dataclass
class PullPlan:
    source: str
    files: list[RemoteFile] = field(default_factory=list)
    manual: str | None = None
    page: str | None = None
    expect: list[str] = field(default_factory=list)


@dataclass
class PullReport:
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    extracted: list[str] = field(default_factory=list)
    missing_manual: list[str] = field(default_factory=list)  # expected files a user still has to put in place


def plan_for(source: str, manifest: dict) -> PullPlan:
    """The manifest's `download` section, checked; PullError when it is absent or malformed."""
    d = manifest.get("download")
    if not isinstance(d, dict):
        raise PullError(f"{source}: its data manifest has no download section; see its homepage "
                        f"{manifest.get('homepage', '')}")
    files = []
    for i, f in enumerate(d.get("files") or []):
        if not isinstance(f, dict) or not isinstance(f.get("path"), str) or bool(f.get("url")) == bool(f.get("hub")):
            raise PullError(f"{source}: download.files[{i}] needs a path and exactly one of url or hub")
        if f.get("extract") not in (None, *ARCHIVES):
            raise PullError(f"{source}: download.files[{i}].extract {f['extract']!r} is not one of {', '.join(ARCHIVES)}")
        _inside(".", f["path"], f"{source}: download.files[{i}].path")
        files.append(RemoteFile(f["path"], f.get("url"), f.get("hub"), f.get("size"), f.get("sha256"), f.get("extract")))
    return PullPlan(source, files, d.get("manual"), d.get("page"), list(d.get("expect") or []))


def _inside(root: str, rel: str, what: str) -> str:
    """root/rel, refusing a path that leaves root."""
    full = os.path.realpath(os.path.join(root, rel))
    if os.path.isabs(rel) or not checks.is_inside(full, root):
        raise PullError(f"{what}: {rel!r} leads outside {root}")
    return full


# -- HTTP ---------------------------------------------------------------------------------------------

def download(url: str, dest: str, size: int | None = None, sha256: str | None = None, progress=None,
             session=None, retries: int = RETRIES, backoff: float = 1.0) -> None:
    """`url` -> `dest`, resuming `dest.part`; checked against size and sha256 before it is renamed."""
    import requests

    http = session or requests.Session()
    part = dest + ".part"
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    task = progress.add_task(os.path.basename(dest), total=size) if progress else None
    attempt = 0
    while True:
        have = os.path.getsize(part) if os.path.exists(part) else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with http.get(url, headers=headers, stream=True, timeout=(10, 60)) as r:
                if r.status_code == 416 and have:  # nothing left to send: the part is whole (checked below)
                    break
                if r.status_code in (429,) or r.status_code >= 500:
                    raise _Retry(f"HTTP {r.status_code}")
                if r.status_code >= 400:
                    raise PullError(f"{url}: HTTP {r.status_code} {r.reason}")
                mode = "ab" if r.status_code == 206 and have else "wb"  # 200: the server sent it all again
                if mode == "wb":
                    have = 0
                total = have + int(r.headers["Content-Length"]) if "Content-Length" in r.headers else size
                if progress:
                    progress.update(task, total=total, completed=have)
                with open(part, mode) as f:
                    for chunk in r.iter_content(CHUNK):
                        f.write(chunk)
                        if progress:
                            progress.advance(task, len(chunk))
                if total is not None and os.path.getsize(part) < total:
                    raise _Retry(f"connection closed at {os.path.getsize(part)} of {total} bytes")
                break
        except (_Retry, requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
            attempt += 1
            if attempt > retries:
                got = os.path.getsize(part) if os.path.exists(part) else 0
                raise PullError(f"{url}: {_short(e)} after {retries} retries; {got} bytes kept in {part}, "
                                "run pull again to resume") from None
            time.sleep(backoff * 2 ** (attempt - 1))
    _verify(url, part, size, sha256)
    os.replace(part, dest)


class _Retry(Exception):
    pass


def _short(e: Exception) -> str:
    return (str(e).splitlines() or [type(e).__name__])[0][:200]


def _verify(url: str, part: str, size: int | None, sha256: str | None) -> None:
    got = os.path.getsize(part)
    if size is not None and got != size:
        os.remove(part)
        raise PullError(f"{url}: {got} bytes, the manifest says {size}; the partial file was removed, run pull again")
    if sha256:
        h = hashlib.sha256()
        with open(part, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                h.update(chunk)
        if h.hexdigest() != sha256.lower():
            os.remove(part)
            raise PullError(f"{url}: sha256 {h.hexdigest()} is not the manifest's {sha256}; the file was removed, "
                            "run pull again")


# -- archives -------------------------------------------------------------------------------------------

def extract(archive: str, into: str, kind: str) -> list[str]:
    """Members of `archive`, each checked, extracted under `into`; PullError on the first bad one
    (nothing is extracted then)."""
    os.makedirs(into, exist_ok=True)
    if kind == "zip":
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
            for info in infos:
                mode = info.external_attr >> 16
                if (mode & 0o170000) == 0o120000:
                    raise PullError(f"{archive}: member {info.filename!r} is a symbolic link; refused")
                _inside(into, info.filename, f"{archive}: member")
            z.extractall(into)
            return [i.filename for i in infos]
    modes = {"tar": "r:", "tar.gz": "r:gz", "tgz": "r:gz", "tar.bz2": "r:bz2"}
    with tarfile.open(archive, modes[kind]) as t:
        members = t.getmembers()
        for m in members:
            if m.issym() or m.islnk():
                raise PullError(f"{archive}: member {m.name!r} is a link; refused")
            if not (m.isfile() or m.isdir()):
                raise PullError(f"{archive}: member {m.name!r} is not a file or folder; refused")
            _inside(into, m.name, f"{archive}: member")
        t.extractall(into, members=members, filter="data")
        return [m.name for m in members]


# -- a whole source -----------------------------------------------------------------------------------

def pull(source: str, to: str, manifest: dict, force: bool = False, echo=print, show_progress: bool | None = None,
         session=None, retries: int = RETRIES, backoff: float = 1.0) -> PullReport:
    """Fetch everything `source`'s manifest lists into `to`. Safe to run again: complete files are
    skipped, partial ones resumed."""
    plan = plan_for(source, manifest)
    report = PullReport()
    os.makedirs(to, exist_ok=True)
    state_dir = os.path.join(to, STATE_DIR)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    with _progress(show_progress) as progress:
        for f in plan.files:
            dest = _inside(to, f.path, f"{source}: download path")
            record = os.path.join(state_dir, f.path.replace("/", "__") + ".json")
            if not force and _complete(record, dest, f):
                report.skipped.append(f.path)
                continue
            if f.hub:
                _hub(f, dest)
            else:
                if not free_space_ok(dest, f.size):
                    raise PullError(f"{dest}: not enough free space for {f.size} bytes")
                echo(f"{source}: {f.url} -> {dest}")
                download(f.url, dest, f.size, f.sha256, progress, session=session, retries=retries, backoff=backoff)
            report.downloaded.append(f.path)
            if f.extract:
                names = extract(dest, os.path.dirname(dest), f.extract)
                report.extracted.append(f"{f.path} ({len(names)} members)")
            os.makedirs(state_dir, exist_ok=True)
            with open(record, "w") as out:
                json.dump({"path": f.path, "url": f.url, "hub": f.hub, "bytes": _size(dest),
                           "sha256": f.sha256, "extracted": bool(f.extract)}, out)
    if plan.manual:
        report.missing_manual = [p for p in plan.expect if not os.path.exists(os.path.join(to, p))]
        if not plan.expect and not plan.files:
            report.missing_manual = ["the files named at " + (plan.page or "the dataset's page")]
        if report.missing_manual:
            echo(f"{source} is behind a licence form or a manual download: {plan.page or ''}\n{plan.manual.strip()}")
    return report


def _size(path: str) -> int | None:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return None


def _complete(record: str, dest: str, f: RemoteFile) -> bool:
    try:
        with open(record) as fh:
            saved = json.load(fh)
    except (OSError, ValueError):
        return False
    if f.hub:
        return os.path.exists(dest) and saved.get("hub") == f.hub
    return saved.get("url") == f.url and os.path.isfile(dest) and os.path.getsize(dest) == saved.get("bytes")


def _hub(f: RemoteFile, dest: str) -> None:
    from huggingface_hub import snapshot_download

    spec = dict(f.hub)
    repo_id = spec.pop("repo_id", None)
    if not repo_id:
        raise PullError(f"download hub entry for {f.path!r} has no repo_id")
    try:
        snapshot_download(repo_id=repo_id, repo_type=spec.pop("repo_type", "dataset"), local_dir=dest,
                          revision=spec.pop("revision", None), allow_patterns=spec.pop("allow_patterns", None),
                          endpoint=spec.pop("endpoint", None) or os.environ.get("HF_ENDPOINT"))
    except Exception as e:  # noqa: BLE001 - hub, network and auth errors all end the pull with one line
        raise PullError(f"hub {repo_id}: {type(e).__name__}: {_short(e)}") from None


def _progress(show: bool):
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), transient=False, disable=not show)


def free_space_ok(to: str, need: int | None) -> bool:
    """Whether `to` has room for `need` bytes (unknown sizes pass)."""
    return need is None or shutil.disk_usage(os.path.dirname(os.path.abspath(to)) or ".").free > need


def pull_command(source: str, to: str, force: bool = False, quiet: bool = False) -> int:
    """`vgdata pull`: 0 when everything is in place; 3 when a licence-gated source still needs the user."""
    from pipeline.sources import load_manifest

    report = pull(source, to, load_manifest(source), force=force, show_progress=False if quiet else None)
    for label, items in (("downloaded", report.downloaded), ("already complete", report.skipped),
                         ("extracted", report.extracted)):
        if items:
            print(f"{label}: {', '.join(items)}")
    if report.missing_manual:
        print(f"still missing under {to}: {', '.join(report.missing_manual)}")
        return 3
    print(f"{source}: ready in {to} (use it as --root)")
    return 0
