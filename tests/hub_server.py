"""A Hub-compatible HTTP server on 127.0.0.1 for tests: the routes the real `huggingface_hub`
client calls to download a dataset repo (`snapshot_download`), served from folders on disk.

    server = HubServer({"org/name": "/path/to/repo/folder"}); server.start(); ... server.stop()
    snapshot_download("org/name", repo_type="dataset", endpoint=server.url, local_dir=...)

Routes: `GET /api/datasets/{repo}/revision/{rev}` (repo info with its commit sha),
`GET /api/datasets/{repo}/tree/{rev}[/{path}]?recursive=true` (file list with sizes and oids),
`HEAD|GET /datasets/{repo}/resolve/{rev}/{path}` (file bytes with X-Repo-Commit and ETag headers).
Every request is recorded in `server.requests` so tests can see what the client asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


class HubServer:
    def __init__(self, repos: dict[str, str]):
        self.repos = dict(repos)
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                server._handle(self, head=True)

            def do_GET(self):
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

    # -- repo contents -------------------------------------------------------------------------------
    def _files(self, repo: str) -> dict[str, str]:
        root = self.repos[repo]
        out = {}
        for d, _, fs in os.walk(root):
            for f in fs:
                full = os.path.join(d, f)
                out[os.path.relpath(full, root).replace(os.sep, "/")] = full
        return dict(sorted(out.items()))

    def _sha(self, repo: str) -> str:
        h = hashlib.sha1()
        for rel, full in self._files(repo).items():
            h.update(rel.encode())
            h.update(open(full, "rb").read())
        return h.hexdigest()

    # -- routes ---------------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        url = urlparse(h.path)
        path = unquote(url.path)
        self.requests.append((h.command, h.path))
        parts = path.strip("/").split("/")
        try:
            if parts[:2] == ["api", "datasets"]:
                repo = "/".join(parts[2:4])
                if repo not in self.repos:
                    return self._json(h, {"error": "Repository not found"}, 404, head)
                if parts[4] == "revision":
                    sha = self._sha(repo)
                    siblings = [{"rfilename": rel} for rel in self._files(repo)]
                    return self._json(h, {"id": repo, "sha": sha, "siblings": siblings, "private": False}, 200, head)
                if parts[4] == "tree":
                    prefix = "/".join(parts[6:])
                    entries = []
                    for rel, full in self._files(repo).items():
                        if prefix and not rel.startswith(prefix + "/"):
                            continue
                        data = open(full, "rb").read()
                        entries.append({"type": "file", "path": rel, "size": len(data),
                                        "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()})
                    return self._json(h, entries, 200, head)
            if parts[0] == "datasets" and parts[3] == "resolve":
                repo = "/".join(parts[1:3])
                rel = "/".join(parts[5:])
                files = self._files(repo) if repo in self.repos else {}
                if rel not in files:
                    return self._json(h, {"error": "Entry not found"}, 404, head, {"X-Error-Code": "EntryNotFound"})
                data = open(files[rel], "rb").read()
                etag = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
                h.send_response(200)
                h.send_header("Content-Length", str(len(data)))
                h.send_header("X-Repo-Commit", self._sha(repo))
                h.send_header("ETag", f'"{etag}"')
                h.send_header("Content-Type", "application/octet-stream")
                h.end_headers()
                if not head:
                    h.wfile.write(data)
                return None
            return self._json(h, {"error": f"no route {path}"}, 404, head)
        except (IndexError, KeyError):
            return self._json(h, {"error": f"bad route {path}"}, 400, head)

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
