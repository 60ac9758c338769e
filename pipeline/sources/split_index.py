"""Split-wide annotation files, read once per build into a per-video index.

MeViS's and ReVOS's `mask_dict.json`, the video-COCO files of OVIS, LV-VIS and YouTube-VIS, BURST's,
SeaDronesSee's and PersonPath22's files hold a whole split in one JSON of hundreds of MB to several
GB. Parsing one whole costs about 3.3x its size in Python objects, per process. Instead, each such
file is streamed once with ijson (its yajl2 C backend, one item at a time) into an SQLite file
under the build's `OUT/.work/index/`: one row per item (a video's entry, an annotation, an
`anno_id`'s mask list), under the key of the video it belongs to, with the item's JSON and its
sha256. A video's job then reads only its own rows, so memory stays one video's annotations
whatever the file's size, and the build's cache keys a video by the digest of its own rows
(`SplitIndex.digest`), not by the file's mtime: editing one video's entry recomputes that video.

An index is keyed by the file's real path, size, mtime and a hash of its first MiB (and by the way
it was split, `kind`); a changed file gets a new index and the old one is deleted. It is built under
an exclusive lock (a second process waiting for it, then reading it, never builds it twice), into a
temporary name, then renamed: a complete index or none. Readers open it read-only (`immutable`),
one connection per thread.

A converter says how its file splits (`fill(path, writer)`: stream items with `stream_items` /
`stream_kvitems`, `writer.put(key, part, item)`, `writer.note(name, value)` for what every video
shares, such as a category list) and reads with `SplitIndex.get(key)`. A file that is not valid
JSON is a `SourceError` naming the file, the line and the byte where the parser stopped.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import threading
from typing import Callable, Iterator

import ijson

from pipeline.errors import SourceError

INDEX_VERSION = 1
HEAD_BYTES = 1 << 20
FLUSH_BYTES = 8 << 20  # rows buffered before an insert: a bound on the builder's memory


# -- streaming --------------------------------------------------------------------------------------

class _TrackedReader:
    """A binary file as ijson reads it (`read(n)`), remembering where the last chunk began so that a
    parse error can be placed in the file."""

    def __init__(self, f):
        self.f, self.start, self.chunk = f, 0, b""

    def read(self, n: int = -1) -> bytes:
        self.start = self.f.tell()
        self.chunk = self.f.read(n)
        return self.chunk


def _error_offset(message: str, reader: _TrackedReader, size: int) -> int:
    """How many bytes yajl had read when it stopped (the position of the offending byte, counted
    from 1): its verbose message shows the 60 bytes around that point (newlines as spaces), with a
    caret under it."""
    lines = message.split("\n")
    arrow = next((i for i, line in enumerate(lines) if "(right here)" in line), None)
    if arrow is None or arrow == 0 or not reader.chunk:
        return size if "premature EOF" in message else reader.start
    context, caret = lines[arrow - 1], lines[arrow].index("^")
    lead = len(context) - len(context.lstrip(" "))
    text = context[lead:]
    haystack = reader.chunk.decode("latin-1").replace("\n", " ").replace("\r", " ")
    found = haystack.find(text) if text else -1
    return reader.start + (found + caret - lead if found >= 0 else 0)


def _line_of(path: str, offset: int) -> int:
    line = 1
    with open(path, "rb") as f:
        left = offset
        while left > 0:
            block = f.read(min(left, 1 << 20))
            if not block:
                break
            line += block.count(b"\n")
            left -= len(block)
    return line


@contextlib.contextmanager
def _parsing(path: str):
    """Open `path` for ijson; any parse or read error becomes a SourceError naming the file, the line
    and the byte where the parser stopped (counted from 1, as lines are)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise SourceError(path, "file is missing") from None
    except OSError as e:
        raise SourceError(path, f"cannot be read ({e.strerror or e})") from None
    reader = _TrackedReader(f)
    try:
        yield reader
    except ijson.JSONError as e:
        message = str(e)
        offset = _error_offset(message, reader, os.fstat(f.fileno()).st_size)
        raise SourceError(path, f"not valid JSON (line {_line_of(path, offset)}, byte {offset}: "
                          f"{message.splitlines()[0] if message else type(e).__name__})") from None
    except UnicodeDecodeError as e:
        raise SourceError(path, f"not valid UTF-8 text ({e.reason})") from None
    except RecursionError:
        raise SourceError(path, "JSON nested too deeply") from None
    except OSError as e:
        raise SourceError(path, f"cannot be read ({e.strerror or e})") from None
    finally:
        f.close()


def stream_items(path: str, prefix: str) -> Iterator:
    """Each item under `prefix` (ijson's prefixes: "videos.item" is each element of the top-level
    "videos" list), one at a time; numbers as json.loads gives them (int or float)."""
    with _parsing(path) as reader:
        yield from ijson.items(reader, prefix, use_float=True)


def stream_kvitems(path: str, prefix: str) -> Iterator[tuple[str, object]]:
    """Each (key, value) of the object at `prefix` ("" is the top level), one at a time."""
    with _parsing(path) as reader:
        yield from ijson.kvitems(reader, prefix, use_float=True)


def top_level(path: str) -> str | None:
    """The JSON type at the top of `path` ("map", "array", "string", ...), from its first token."""
    with _parsing(path) as reader:
        for _, event, _ in ijson.parse(reader):
            return {"start_map": "map", "start_array": "array"}.get(event, event)
    return None


def put_each_key(path: str, writer: "IndexWriter", prefix: str, part: str, problem: str, required: bool = True) -> None:
    """The fill of a file holding an object of entries (`{"videos": {video: entry}}` at prefix
    "videos", a `mask_dict.json` at ""): one row per key, under that key. SourceError(`problem`)
    when the top level is not an object, or (`required`) when the object has no entry."""
    if top_level(path) != "map":
        raise SourceError(path, problem)
    found = 0
    for key, value in stream_kvitems(path, prefix):
        writer.put(key, part, value)
        found += 1
    if required and not found:
        raise SourceError(path, problem + " (no entries in it)")


# -- the index --------------------------------------------------------------------------------------

def _encode(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=True).encode()


class IndexWriter:
    """What a converter's `fill` writes: rows (key, part, item) in file order, and named notes."""

    def __init__(self, con: sqlite3.Connection):
        self.con, self.rows, self.nbytes = con, [], 0

    def put(self, key: str, part: str, item) -> None:
        data = _encode(item)
        self.rows.append((str(key), part, hashlib.sha256(data).digest(), data))
        self.nbytes += len(data)
        if self.nbytes >= FLUSH_BYTES:
            self.flush()

    def note(self, name: str, value) -> None:
        data = _encode(value)
        self.con.execute("INSERT OR REPLACE INTO notes VALUES (?, ?, ?)", (name, hashlib.sha256(data).digest(), data))

    def flush(self) -> None:
        if self.rows:
            self.con.executemany("INSERT INTO items (key, part, sha, data) VALUES (?, ?, ?, ?)", self.rows)
            self.rows, self.nbytes = [], 0


class SplitIndex:
    """A built index (read-only): rows by key, notes by name."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            self._local.con = con
        return con

    def get(self, key: str) -> dict[str, list]:
        """{part: [items]} of `key`, in file order (empty when the file has no such key)."""
        out: dict[str, list] = {}
        for part, data in self._con().execute("SELECT part, data FROM items WHERE key = ? ORDER BY seq", (str(key),)):
            out.setdefault(part, []).append(json.loads(data))
        return out

    def last(self, key: str, part: str):
        """The last `part` item of `key` (as json.loads keeps the last of a repeated key), or None."""
        row = self._con().execute("SELECT data FROM items WHERE key = ? AND part = ? ORDER BY seq DESC LIMIT 1",
                                  (str(key), part)).fetchone()
        return json.loads(row[0]) if row else None

    def keys(self, part: str | None = None) -> list[str]:
        """Keys (of rows of `part`), in the order the file first names them."""
        where, args = ("WHERE part = ?", (part,)) if part else ("", ())
        return [k for (k,) in self._con().execute(f"SELECT key FROM items {where} GROUP BY key ORDER BY MIN(seq)", args)]

    def note(self, name: str, default=None):
        row = self._con().execute("SELECT data FROM notes WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else default

    def digest(self, key: str, notes: tuple[str, ...] = ()) -> str:
        """sha256 of `key`'s rows (and of the notes named) as the file has them: what a video's cached
        result depends on in this file."""
        h = hashlib.sha256(str(key).encode() + b"\0")
        for part, sha in self._con().execute("SELECT part, sha FROM items WHERE key = ? ORDER BY seq", (str(key),)):
            h.update(part.encode() + b"\0" + sha)
        for name in notes:
            row = self._con().execute("SELECT sha FROM notes WHERE name = ?", (name,)).fetchone()
            h.update(name.encode() + b"\0" + (row[0] if row else b"-"))
        return h.hexdigest()

_OPEN: dict[tuple, SplitIndex] = {}
_OPEN_LOCK = threading.Lock()
_TEMP_DIR: list[str] = []


def _process_temp_dir() -> str:
    """Where indexes go when no build folder is given (a converter used on its own): removed at exit."""
    with _OPEN_LOCK:
        if not _TEMP_DIR:
            _TEMP_DIR.append(tempfile.mkdtemp(prefix="vgdata-index-"))
            atexit.register(shutil.rmtree, _TEMP_DIR[0], True)
        return _TEMP_DIR[0]


def _usable(folder: str | None) -> str:
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            pass
    return _process_temp_dir()


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise SourceError(path, "file is missing") from None
    except OSError as e:
        raise SourceError(path, f"cannot be read ({e.strerror or e})") from None


def _head_hash(path: str) -> str:
    """sha256 of a source file's first MiB (with its size and mtime, what keys its index)."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read(HEAD_BYTES)).hexdigest()
    except IsADirectoryError:
        raise SourceError(path, "is a folder, expected a file") from None
    except OSError as e:
        raise SourceError(path, f"cannot be read ({e.strerror or e})") from None


def open_index(path: str, kind: str, fill: Callable[[str, IndexWriter], None], index_dir: str | None = None) -> SplitIndex:
    """The index of `path` split by `fill` (`kind` names the way it splits): built if missing (once,
    under a lock), then shared by every caller in this process."""
    st = _stat(path)
    memo = (path, st.st_size, st.st_mtime_ns, kind, index_dir)  # every video asks: a stat, no read
    with _OPEN_LOCK:
        if memo in _OPEN:
            return _OPEN[memo]
    real, size, mtime, head = os.path.realpath(path), st.st_size, st.st_mtime_ns, _head_hash(path)
    folder = _usable(index_dir)
    stem = f"{kind}-{hashlib.sha256(real.encode()).hexdigest()[:12]}"
    key = hashlib.sha256(json.dumps([INDEX_VERSION, kind, real, size, mtime, head]).encode()).hexdigest()[:16]
    target = os.path.join(folder, f"{stem}-{key}.sqlite")
    if not os.path.exists(target):
        with open(target + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait, then use its index
            try:
                if not os.path.exists(target):
                    _build(path, target, fill)
                    for old in glob.glob(os.path.join(glob.escape(folder), f"{stem}-*.sqlite")):
                        if old != target:  # the index of an earlier version of this file
                            with contextlib.suppress(OSError):
                                os.remove(old)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):
            os.remove(target + ".lock")
    index = SplitIndex(target)
    with _OPEN_LOCK:
        _OPEN[memo] = index
    return index


def _build(path: str, target: str, fill: Callable[[str, IndexWriter], None]) -> None:
    tmp = target + ".tmp"
    with contextlib.suppress(FileNotFoundError):
        os.remove(tmp)
    con = sqlite3.connect(tmp)
    try:
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA cache_size = -16000")  # 16 MB of pages, whatever the file's size
        con.execute("CREATE TABLE items (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, part TEXT NOT NULL, "
                    "sha BLOB NOT NULL, data BLOB NOT NULL)")
        con.execute("CREATE TABLE notes (name TEXT PRIMARY KEY, sha BLOB NOT NULL, data BLOB NOT NULL)")
        writer = IndexWriter(con)
        fill(path, writer)
        writer.flush()
        con.execute("CREATE INDEX items_by_key ON items (key, seq)")
        con.commit()
    except BaseException:
        con.close()
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    con.close()
    os.replace(tmp, target)
