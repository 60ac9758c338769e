"""A Hub-compatible HTTP server on 127.0.0.1 for tests: the routes the real `huggingface_hub` 2.x
client calls to download a dataset repo and to publish one, so the tests run the real client
(`HfApi(endpoint=server.url)`), never a patched one.

    server = HubServer({"org/name": "/path/to/folder"}, tokens={"hf_x"}).start(); ...; server.stop()

Repos live in memory as commits (sha -> {path: bytes}) and refs (`main`, branches, `refs/pr/N`);
a repo given as a folder starts with one commit holding its files.

Read: `GET /api/whoami-v2`, `GET /api/datasets/{repo}/revision/{rev}`,
`GET /api/datasets/{repo}/tree/{rev}[/{path}]`, `POST /api/datasets/{repo}/paths-info/{rev}`,
`HEAD|GET /datasets/{repo}/resolve/{rev}/{path}`.
Write: `POST /api/repos/create`, `POST /api/datasets/{repo}/preupload/{rev}` (parquet, mp4 and
files over 1 MiB are LFS, the rest travel base64 in the commit), `POST /datasets/{repo}.git/info/lfs/objects/batch`
(objects already stored get no upload action, which is how an interrupted publish resumes),
`PUT /lfs-upload/{oid}` (the bytes must hash to the oid), `POST /api/datasets/{repo}/commit/{rev}`
(NDJSON; a `parentCommit` that is not the branch head answers 412 as the Hub does; `create_pr=1`
opens `refs/pr/N`), `POST /api/datasets/{repo}/branch/{name}`,
`POST /api/datasets/{repo}/discussions/{n}/merge`.

Faults: `server.inject("commit", 429, times=1)` answers the next matching request with that status
(kinds: whoami, create, revision, tree, paths-info, preupload, lfs-batch, lfs-upload, commit, branch, merge);
`server.before_next("commit", fn)` runs `fn(server)` just before the next commit is served, so a test
can move the branch under a publish (another writer) and get the Hub's own 412.
Every request is recorded in `server.requests` (method, path, Authorization header).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

LFS_SUFFIXES = (".parquet", ".mp4")
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.mp4 filter=lfs diff=lfs merge=lfs -text\n"


def blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def card_errors(readme: str) -> list[str]:
    """What the Hub's metadata check would refuse in a dataset card's `configs` (the documented
    shape: config_name, data_files as a list of {split, path}; split names without dashes)."""
    import re

    import yaml

    if not readme.startswith("---\n"):
        return []
    try:
        meta = yaml.safe_load(readme.split("---\n", 2)[1]) or {}
    except yaml.YAMLError as e:
        return [f"YAML does not parse: {e}"]
    errors, names = [], set()
    for c in meta.get("configs") or []:
        name = c.get("config_name")
        if not name or name in names:
            errors.append(f"config_name missing or repeated: {name!r}")
        names.add(name)
        for df in c.get("data_files") or []:
            if not isinstance(df, dict) or not {"split", "path"} <= set(df):
                errors.append(f"{name}: data_files entries need split and path")
            elif not re.fullmatch(r"\w+(\.\w+)*", df["split"]):
                errors.append(f"{name}: split name {df['split']!r} is not allowed")
    return errors


class Repo:
    def __init__(self, private: bool = False):
        self.private = private
        self.commits: dict[str, dict] = {}  # sha -> {"parent", "files": {path: bytes}, "lfs": {path}, "message"}
        self.refs: dict[str, str] = {}
        self.prs: dict[int, dict] = {}

    def commit(self, ref: str, files: dict[str, bytes], lfs: set[str], message: str) -> str:
        parent = self.refs.get(ref)
        h = hashlib.sha1((parent or "").encode() + message.encode())
        for p in sorted(files):
            h.update(p.encode() + b"\0" + hashlib.sha256(files[p]).digest())
        sha = h.hexdigest()
        self.commits[sha] = {"parent": parent, "files": dict(files), "lfs": set(lfs), "message": message}
        self.refs[ref] = sha
        return sha

    def head(self, rev: str) -> str | None:
        if rev in self.refs:
            return self.refs[rev]
        return rev if rev in self.commits else None

    def history(self, ref: str = "main") -> list[str]:
        out, sha = [], self.refs.get(ref)
        while sha:
            out.append(sha)
            sha = self.commits[sha]["parent"]
        return out


class HubServer:
    def __init__(self, repos: dict[str, str] | None = None, tokens: set[str] | None = None):
        self.tokens = set(tokens or ())
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.faults: list[list] = []
        self.hooks: dict[str, list] = {}
        self.lock = threading.RLock()
        for repo_id, folder in (repos or {}).items():
            self.add_folder(repo_id, folder)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                server._handle(self, head=True)

            def do_GET(self):
                server._handle(self, head=False)

            def do_POST(self):
                server._handle(self, head=False)

            def do_PUT(self):
                server._handle(self, head=False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "HubServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- test helpers ---------------------------------------------------------------------------------
    def add_folder(self, repo_id: str, folder: str) -> None:
        files, lfs = {}, set()
        for d, _, fs in os.walk(folder):
            for f in fs:
                full = os.path.join(d, f)
                rel = os.path.relpath(full, folder).replace(os.sep, "/")
                files[rel] = open(full, "rb").read()
                if rel.endswith(LFS_SUFFIXES):
                    lfs.add(rel)
                    self.lfs[hashlib.sha256(files[rel]).hexdigest()] = files[rel]
        repo = self.repos[repo_id] = Repo()
        repo.commit("main", files, lfs, "initial commit")

    def inject(self, kind: str, status: int, times: int = 1) -> None:
        with self.lock:
            self.faults.append([kind, status, times])

    def before_next(self, kind: str, fn) -> None:
        """Run `fn(server)` once, just before the next request of `kind` is served (e.g. another
        writer committing to the branch while a publish is under way)."""
        self.hooks.setdefault(kind, []).append(fn)

    def commit_files(self, repo_id: str, files: dict[str, bytes], ref: str = "main", message: str = "other writer") -> str:
        repo = self.repos[repo_id]
        current = repo.commits[repo.refs[ref]]
        return repo.commit(ref, {**current["files"], **files}, current["lfs"], message)

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return dict(repo.commits[repo.head(rev)]["files"])

    def count(self, kind: str) -> int:
        return sum(1 for method, path, _ in self.requests if self._kind(method, path) == kind)

    # -- routing --------------------------------------------------------------------------------------
    @staticmethod
    def _kind(method: str, raw_path: str) -> str:
        parts = [unquote(p) for p in urlparse(raw_path).path.strip("/").split("/")]
        if parts[:2] == ["api", "whoami-v2"]:
            return "whoami"
        if parts[:3] == ["api", "repos", "create"]:
            return "create"
        if parts[:2] == ["api", "validate-yaml"]:
            return "validate-yaml"
        if parts[0] == "lfs-upload":
            return "lfs-upload"
        if parts[-4:-1] == ["info", "lfs", "objects"]:
            return "lfs-batch"
        if parts[:2] == ["api", "datasets"] and len(parts) > 4:
            if parts[4] == "discussions":
                return "merge"
            return parts[4]
        if len(parts) > 3 and parts[0] == "datasets" and parts[3] == "resolve":
            return "resolve"
        return "unknown"

    def _fault(self, kind: str) -> int | None:
        with self.lock:
            for f in self.faults:
                if f[0] == kind and f[2] > 0:
                    f[2] -= 1
                    return f[1]
        return None

    def _sign(self, oid: str) -> str:
        return hashlib.sha256(f"{id(self)}:{oid}".encode()).hexdigest()[:16]

    def _authorised(self, h: BaseHTTPRequestHandler) -> bool:
        if not self.tokens:
            return True
        auth = h.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[len("Bearer "):] in self.tokens

    def _body(self, h: BaseHTTPRequestHandler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(h.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    h.rfile.readline()
                    return bytes(out)
                out += h.rfile.read(size)
                h.rfile.readline()
        n = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(n) if n else b""

    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        url = urlparse(h.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append((h.command, h.path, h.headers.get("Authorization", "")))
        body = self._body(h) if h.command in ("POST", "PUT") else b""
        kind = self._kind(h.command, h.path)
        with self.lock:
            hooks = self.hooks.pop(kind, [])
        for fn in hooks:
            fn(self)
        status = self._fault(kind)
        if status is not None:
            msg = {412: "A commit has happened since. Please refresh and try again.", 429: "Too many requests",
                   503: "Service unavailable"}.get(status, f"injected {status}")
            return self._json(h, {"error": msg}, status, head, {"Retry-After": "0"} if status == 429 else None)
        try:
            with self.lock:
                return self._route(h, head, kind, parts, query, body)
        except (IndexError, KeyError, ValueError) as e:
            return self._json(h, {"error": f"bad request {url.path}: {e!r}"}, 400, head)

    def _route(self, h, head, kind, parts, query, body):
        # LFS uploads go to a pre-signed URL (no Authorization header, as on the Hub's storage).
        writes = {"create", "preupload", "lfs-batch", "commit", "branch", "merge"}
        if (kind in writes or kind == "whoami") and not self._authorised(h):
            return self._json(h, {"error": "Invalid credentials in Authorization header"}, 401, head)
        if kind == "whoami":
            return self._json(h, {"type": "user", "name": "tester", "orgs": [],
                                  "auth": {"type": "access_token", "accessToken": {"role": "write"}}}, 200, head)
        if kind == "create":
            req = json.loads(body)
            repo_id = f"{req.get('organization') or 'tester'}/{req['name']}"
            url = f"{self.url}/datasets/{repo_id}"
            if repo_id in self.repos:
                return self._json(h, {"error": "You already created this dataset repo", "url": url}, 409, head)
            repo = self.repos[repo_id] = Repo(private=req.get("visibility") == "private" or bool(req.get("private")))
            repo.commit("main", {".gitattributes": GITATTRIBUTES}, set(), "initial commit")
            return self._json(h, {"url": url}, 200, head)
        if kind == "validate-yaml":
            errors = card_errors(json.loads(body)["content"])
            return self._json(h, {"errors": [{"message": m} for m in errors], "warnings": []},
                              400 if errors else 200, head)
        if kind == "lfs-upload":
            oid = parts[1]
            if query.get("sig") != self._sign(oid):
                return self._json(h, {"error": "bad signature"}, 403, head)
            if hashlib.sha256(body).hexdigest() != oid:
                return self._json(h, {"error": "sha256 mismatch"}, 400, head)
            self.lfs[oid] = body
            return self._json(h, {}, 200, head)
        if kind == "lfs-batch":
            req = json.loads(body)
            objects = []
            for o in req["objects"]:
                entry = {"oid": o["oid"], "size": o["size"], "authenticated": True}
                if o["oid"] not in self.lfs:
                    entry["actions"] = {"upload": {"href": f"{self.url}/lfs-upload/{o['oid']}?sig={self._sign(o['oid'])}", "header": {}}}
                objects.append(entry)
            return self._json(h, {"transfer": "basic", "objects": objects}, 200, head)
        if kind == "resolve":
            return self._resolve(h, head, parts)
        repo_id = "/".join(parts[2:4])
        if repo_id not in self.repos:
            return self._json(h, {"error": "Repository not found"}, 404, head, {"X-Error-Code": "RepoNotFound"})
        repo = self.repos[repo_id]
        if kind == "merge":
            pr = repo.prs[int(parts[5])]
            pr_files = repo.commits[repo.refs[pr["ref"]]]
            repo.commit("main", pr_files["files"], pr_files["lfs"], f"Merge {pr['ref']}")
            pr["status"] = "merged"
            return self._json(h, {"status": "merged"}, 200, head)
        if kind == "branch":
            name = "/".join(parts[5:])
            if name in repo.refs:
                return self._json(h, {"error": "Reference already exists"}, 409, head)
            start = (json.loads(body) if body else {}).get("startingPoint") or "main"
            repo.refs[name] = repo.head(start)
            return self._json(h, {}, 200, head)
        rev, rest = self._split_rev(repo, parts[5:])
        sha = repo.head(rev)
        if sha is None:
            return self._json(h, {"error": f"Invalid rev id: {rev}"}, 404, head, {"X-Error-Code": "RevisionNotFound"})
        commit = repo.commits[sha]
        if kind == "revision":
            return self._json(h, {"id": repo_id, "sha": sha, "private": repo.private,
                                  "siblings": [{"rfilename": p} for p in sorted(commit["files"])]}, 200, head)
        if kind == "tree":
            prefix = "/".join(rest)
            under = [p for p in sorted(commit["files"]) if not prefix or p.startswith(prefix + "/")]
            if query.get("recursive", "true").lower() in ("1", "true"):
                return self._json(h, [self._entry(p, commit) for p in under], 200, head)
            # one level, folders as entries of their own (what HfFileSystem lists and globs by)
            depth = len(prefix.split("/")) if prefix else 0
            entries, folders = [], []
            for p in under:
                parts = p.split("/")
                if len(parts) == depth + 1:
                    entries.append(self._entry(p, commit))
                elif "/".join(parts[:depth + 1]) not in folders:
                    folders.append("/".join(parts[:depth + 1]))
            entries += [{"type": "directory", "path": d, "oid": hashlib.sha1(d.encode()).hexdigest()} for d in folders]
            return self._json(h, entries, 200, head)
        if kind == "paths-info":
            req = json.loads(body) if body.startswith(b"{") else {k: v for k, v in parse_qs(body.decode()).items()}
            paths = req.get("paths") or []
            return self._json(h, [self._entry(p, commit) for p in paths if p in commit["files"]], 200, head)
        if kind == "preupload":
            req = json.loads(body)
            files = [{"path": f["path"], "shouldIgnore": False,
                      "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) or f.get("size", 0) > 2**20 else "regular"}
                     for f in req["files"]]
            return self._json(h, {"files": files}, 200, head)
        if kind == "commit":
            return self._commit(h, head, repo, repo_id, rev, query, body)
        return self._json(h, {"error": f"no route {'/'.join(parts)}"}, 404, head)

    @staticmethod
    def _split_rev(repo: Repo, rest: list[str]) -> tuple[str, list[str]]:
        """A revision may hold slashes (refs/pr/1, a/b branches): take the longest known ref."""
        for n in range(len(rest), 0, -1):
            cand = "/".join(rest[:n])
            if cand in repo.refs:
                return cand, rest[n:]
        return (rest[0] if rest else "main"), rest[1:]

    def _entry(self, path: str, commit: dict) -> dict:
        data = commit["files"][path]
        entry = {"type": "file", "path": path, "size": len(data), "oid": blob_oid(data)}
        if path in commit["lfs"]:
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    def _commit(self, h, head, repo: Repo, repo_id: str, rev: str, query: dict, body: bytes):
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(x["value"] for x in lines if x["key"] == "header")
        base = repo.head(rev)
        if header.get("parentCommit") and header["parentCommit"] != base:
            return self._json(h, {"error": "A commit has happened since. Please refresh and try again."}, 412, head)
        files = dict(repo.commits[base]["files"])
        lfs = set(repo.commits[base]["lfs"])
        for x in lines:
            v = x["value"]
            if x["key"] == "file":
                files[v["path"]] = base64.b64decode(v["content"])
                lfs.discard(v["path"])
            elif x["key"] == "lfsFile":
                if v["oid"] not in self.lfs:
                    return self._json(h, {"error": f"LFS object {v['oid']} was never uploaded"}, 400, head)
                files[v["path"]] = self.lfs[v["oid"]]
                lfs.add(v["path"])
            elif x["key"] == "deletedFile":
                if v["path"] not in files:
                    return self._json(h, {"error": f"{v['path']} does not exist"}, 404, head)
                del files[v["path"]]
                lfs.discard(v["path"])
            elif x["key"] == "deletedFolder":
                for p in [p for p in files if p.startswith(v["path"].rstrip("/") + "/")]:
                    del files[p]
                    lfs.discard(p)
        target, pr_url = rev, None
        if query.get("create_pr") == "1":
            num = len(repo.prs) + 1
            target = f"refs/pr/{num}"
            repo.refs[target] = base
            repo.prs[num] = {"ref": target, "status": "open"}
            pr_url = f"{self.url}/datasets/{repo_id}/discussions/{num}"
        sha = repo.commit(target, files, lfs, header.get("summary", ""))
        return self._json(h, {"commitUrl": f"{self.url}/datasets/{repo_id}/commit/{sha}", "commitOid": sha,
                              "pullRequestUrl": pr_url}, 200, head)

    def _resolve(self, h, head, parts):
        repo_id = "/".join(parts[1:3])
        repo = self.repos.get(repo_id)
        rev, rest = self._split_rev(repo, parts[4:]) if repo else ("main", [])
        sha = repo.head(rev) if repo else None
        rel = "/".join(rest)
        files = repo.commits[sha]["files"] if sha else {}
        if rel not in files:
            return self._json(h, {"error": "Entry not found"}, 404, head, {"X-Error-Code": "EntryNotFound"})
        data = files[rel]
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("X-Repo-Commit", sha)
        h.send_header("ETag", f'"{blob_oid(data)}"')
        h.send_header("Content-Type", "application/octet-stream")
        h.end_headers()
        if not head:
            h.wfile.write(data)
        return None

    @staticmethod
    def _json(h, body, code: int, head: bool, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if not head:
            h.wfile.write(data)
