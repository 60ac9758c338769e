"""The build manifest: enough to tell exactly what a build read, with which code, and what it wrote.

Input annotation and video files are listed with size and sha256. Frame-image folders are listed
with file count, total bytes and a sha256 of their (name, size) listing; with `hash_frames` every
image's content is hashed too (slow on large sets). Hashes are cached by (path, size, mtime) in
`OUT/.work/hashes.json` so rebuilds do not re-read unchanged inputs. An input that cannot be read
(a dangling link, a permission error) is listed as such rather than failing the build.

The code version reads the git commit without writing to the checkout: `git status` refreshes and
rewrites `.git/index`, so it runs with `--no-optional-locks`, which tells git not to.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata as md
import json
import os
import platform
import subprocess

from pipeline import __version__
from pipeline.errors import VgdataError
from pipeline.outputs.shards import sha256_file

PACKAGES = ("numpy", "pyarrow", "pycocotools", "opencv-python-headless", "datasets", "prefect", "torch", "sam2", "av")


class HashCache:
    def __init__(self, path: str):
        self.path = path
        self.data: dict = {}
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
                self.data = {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self.data = {}

    def sha256(self, path: str) -> str:
        st = os.stat(path)
        key = f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"
        if key not in self.data:
            self.data[key] = sha256_file(path)
        return self.data[key]

    def known(self, path: str, size: int, mtime_ns: int, sha256: str) -> str:
        """A hash the build computed itself as it wrote `path` (stat taken before hashing): export,
        audit and publish then check the build's videos and shards without reading them again.
        Returns its key."""
        key = f"{os.path.abspath(path)}|{size}|{mtime_ns}"
        self.data[key] = sha256
        return key

    def save(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)


def git_commit() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        out = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, env=env)
        dirty = subprocess.run(["git", "--no-optional-locks", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return versions


def _size(path: str) -> int:
    """Size of a file; -1 for a dangling link or an unreadable entry (listed, never fatal)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def describe_input(path: str, hashes: HashCache, hash_frames: bool) -> dict:
    try:
        if os.path.isdir(path):
            names = sorted(os.listdir(path))
            sizes = [_size(os.path.join(path, n)) for n in names]
            listing = hashlib.sha256("\n".join(f"{n}\t{s}" for n, s in zip(names, sizes)).encode()).hexdigest()
            entry = {"path": path, "kind": "frames", "files": len(names), "bytes": sum(s for s in sizes if s > 0),
                     "listing_sha256": listing}
            if any(s < 0 for s in sizes):
                entry["unreadable"] = [n for n, s in zip(names, sizes) if s < 0][:20]
            if hash_frames:
                entry["sha256"] = {n: hashes.sha256(os.path.join(path, n)) for n, s in zip(names, sizes) if s >= 0}
            return entry
        if not os.path.exists(path):
            return {"path": path, "kind": "file", "missing": True}
        return {"path": path, "kind": "file", "bytes": os.path.getsize(path), "sha256": hashes.sha256(path)}
    except OSError as e:
        return {"path": path, "kind": "file", "unreadable": e.strerror or str(e)}


def code_version() -> dict:
    return {"vgdata": __version__, "git_commit": git_commit(), "python": platform.python_version(),
            "packages": package_versions()}


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def read_manifest(out: str, error: type[Exception] = VgdataError) -> dict:
    """OUT/build_manifest.json; `error` (naming the file) when it is missing or not JSON."""
    path = os.path.join(out, "build_manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise error(f"{path}: not found; is {out} a finished vgdata build?") from None
    except ValueError as e:
        raise error(f"{path}: not valid JSON ({e})") from None
