"""A small real HTTP file server for the pull tests, run as its own process so a test can kill it
with SIGKILL in the middle of a transfer.

    python tests/range_server.py DIR PORT LOG [--stall-after BYTES]

Serves DIR with HTTP Range support (206 partial content). With --stall-after it sends that many
bytes of a file body and then hangs, so the client is mid-download when the test kills the server.
Each request's path and Range header are appended to LOG, one JSON line each.
"""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    folder, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    stall = int(sys.argv[sys.argv.index("--stall-after") + 1]) if "--stall-after" in sys.argv else None

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            with open(log, "a") as f:
                f.write(json.dumps({"path": self.path, "range": self.headers.get("Range")}) + "\n")
            path = os.path.join(folder, self.path.lstrip("/"))
            if not os.path.isfile(path):
                self.send_error(404)
                return
            data = open(path, "rb").read()
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if stall is not None:
                self.wfile.write(body[:stall])
                self.wfile.flush()
                while True:
                    time.sleep(1)
            self.wfile.write(body)

    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
