"""`vgdata export molmo2 OUT --to DIR`: a finished build laid out where allenai/molmo2's own
training code looks, so that with `MOLMO_DATA_DIR=DIR` (and the Hub offline) its unmodified
`get_dataset_by_name(name, split)` reads every row of OUT that the name covers.

What DIR holds (the table of where each Molmo2 class looks is `pipeline/ops/molmo2.py`):

    DIR/video_datasets/video_track/tracking/<DATASET_NAME>/<task>/<data split>/   datasets.save_to_disk
    DIR/video_datasets/video_track/<the class's video dir>/<row video>.mp4           a hard link into OUT
    DIR/video_datasets/video_track/<home>/<data split>/MasksRLE/<video>/<qid>.json   evaluated splits
    DIR/video_datasets/molmo2-academic-video-points-{train,val}/                     datasets.save_to_disk
    DIR/video_datasets/<the subset's video root>/<video>.mp4                         a hard link into OUT
    DIR/vgdata-export.json                                                          what this export wrote

The rows are OUT's, filtered to the dataset Molmo2 reads (one per class, task and data split;
every rate in one, Molmo2 keeps the rate a name asks for) and bridged where Molmo2 reads
differently from vgdata's own columns (docs/MOLMO2.md lists each bridge):
- point rows: `subset` is Molmo2's name of the source (`ref_davis17` -> `refdavis17`, ...), and
  `video_name` what its `_make_video_path` joins (`<id>.mp4` for refdavis17, mevis and refyoutube;
  BURST's `<dataset>/<sequence>` id split into `dataset` and `video_name`); only sources with a
  subset Molmo2 knows, at 2 fps;
- rows of an evaluated split (MeViS valid_u, Ref-YouTube-VOS and Ref-DAVIS17 valid) keep only
  visible points: Molmo2's evaluator reads every ground-truth point as coordinates (an occluded
  entry's null point would stop it), and its formatter leaves occluded points out of the text anyway;
- each evaluated row gets `MasksRLE/<video>/<qid>.json`: object index (position in `mask_id`) ->
  one COCO RLE (or null) per frame of the row's video, read again from the build's sources
  (`quality/ground_truth.py`) at the row's size; a query with no public answer gets `null`, which
  Molmo2's `get()` reads as "no masks".

Videos are hard-linked from OUT (symlinked when DIR is on another file system), never copied.
Every dataset folder is written under a temporary name and renamed into place, every link and
mask file too; what the export has placed is journalled as it goes, so a killed export leaves no
half-written file Molmo2 could read, and a rerun finishes it and removes what an earlier export of
DIR placed that this one does not. DIR must be empty, new, or an earlier export's.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import __version__, checks
from pipeline.errors import VgdataError
from pipeline.ops import molmo2 as M2
from pipeline.outputs.lock import held, out_lock, writable_folder
from pipeline.outputs.schemas import DATASET_SCHEMAS, hf_features
from pipeline.progress import progress
from pipeline.quality.files import check_build
from pipeline.outputs.manifest import read_manifest
from pipeline.quality.ground_truth import GroundTruth, TruthError
from pipeline.stages import masks as MK
from pipeline.stages.rows import GROUND_DATASET, POINT_DATASET, TRACK_DATASET
from pipeline.stages.sampling import rates_text, video_rate_of

MARKER = "vgdata-export.json"
JOURNAL = ".vgdata-export.journal"
TMP = ".vgdata-export-tmp"
LOCK = ".vgdata-export.lock"
OURS = {MARKER, JOURNAL, TMP, LOCK}
BATCH_ROWS = 2048


class ExportError(VgdataError):
    """A build that cannot be exported, or a DIR that may not be written."""


@dataclass
class Target:
    """One dataset Molmo2 loads from disk, and the build's shards that fill it."""

    path: str  # relative to DIR
    dataset: str  # the build's dataset its rows come from
    data_split: str
    shards: list[dict] = field(default_factory=list)
    cls: M2.TrackClass | None = None  # None: the point dataset
    task: str | None = None
    rows: Counter = field(default_factory=Counter)  # rows written per sampling rate

    @property
    def evaluated(self) -> bool:
        return self.cls is not None and self.cls.evaluated(self.data_split)


@dataclass
class Plan:
    targets: list[Target]
    left_out: list[str]  # the build's (dataset, source, split) no Molmo2 dataset reads, and why


def _track_target(targets: dict, cls: M2.TrackClass, task: str, data_split: str, dataset: str) -> Target:
    path = f"{M2.TRACK_HOME}/{cls.rows_dir(task, data_split)}"
    return targets.setdefault(path, Target(path, dataset, data_split, cls=cls, task=task))


def _tasks_in(out: str | None, shards: list[dict]) -> set[str]:
    if out is None:
        return set()
    return {t for s in shards for t in pc.unique(pq.read_table(os.path.join(out, s["path"]), columns=["task"])["task"]).to_pylist()}


def plan(manifest: dict, out: str | None = None) -> Plan:
    """Which of the build's shards fill which dataset of Molmo2's (`molmo2.CLASSES`, `POINT_SUBSETS`);
    with `out`, the track tasks no Molmo2 dataset reads are said too."""
    targets: dict[str, Target] = {}
    left_out = []
    point_rate = video_rate_of((manifest.get("config") or {}).get("sampling_fps") or 2)
    by_pair: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for s in manifest.get("shards", []):
        by_pair[(s["dataset"], s["source"], s["split"])].append(s)
    point_claims = M2.point_claims()
    for (dataset, source, split), shards in sorted(by_pair.items()):
        where = f"{dataset} {source}/{split}"
        if dataset == POINT_DATASET:
            subset, splits = point_claims.get(source, (None, {}))
            if subset is None:
                left_out.append(f"{where}: Molmo2's AcademicVideoPoint knows the subsets "
                                f"{', '.join(sorted(M2.POINT_SUBSETS))}, and no source fills one with {source}")
            elif split not in splits:
                left_out.append(f"{where}: Molmo2 reads {source}'s point rows of splits {', '.join(sorted(splits))} only")
            elif point_rate != M2.POINT_RATE:
                left_out.append(f"{where}: point rows at {point_rate} fps; Molmo2's AcademicVideoPoint reads "
                                f"{M2.POINT_RATE} fps rows (videos-{M2.POINT_RATE}fps)")
            else:
                psplit = splits[split]
                path = f"{M2.VIDEO_HOME}/{M2.POINT_REPO}-{psplit}"
                targets.setdefault(path, Target(path, POINT_DATASET, psplit)).shards.extend(shards)
            continue
        classes = M2.classes_of(source)
        placed, read = False, set()
        for cls in classes:
            data_split = M2.data_split_of(cls, source, split)
            if data_split is None:
                continue
            tasks = [t for t in cls.tasks if (t == "ground") == (dataset == GROUND_DATASET)]
            for task in tasks:
                _track_target(targets, cls, task, data_split, dataset).shards.extend(shards)
                placed = True
                read.add(task)
        if placed and dataset == TRACK_DATASET:
            for task in sorted(_tasks_in(out, shards) - read):
                left_out.append(f"{where}: task {task}: Molmo2 reads {', '.join(sorted(read))} for {source}")
        if not placed:
            if not classes:
                left_out.append(f"{where}: no Molmo2 dataset reads {source}")
            elif dataset == GROUND_DATASET and not any("ground" in c.tasks for c in classes):
                left_out.append(f"{where}: Molmo2 reads no ground task for {source}")
            else:
                claims = M2.claims()
                wanted = sorted({s for c in classes for splits in claims[c.cls][source].values() for s in splits})
                left_out.append(f"{where}: Molmo2 reads {source}'s splits {', '.join(wanted)} only")
    return Plan(sorted(targets.values(), key=lambda t: t.path), left_out)


# -- the rows, bridged ---------------------------------------------------------------------------

def _batches(out: str, shards: list[dict]) -> Iterator[tuple[dict, pa.Table]]:
    for s in shards:
        for batch in pq.ParquetFile(os.path.join(out, s["path"])).iter_batches(batch_size=BATCH_ROWS):
            yield s, pa.Table.from_batches([batch])


def _visible_only(table: pa.Table) -> pa.Table:
    """Rows of an evaluated split with only their visible points (frames left with none dropped,
    with their source frames): Molmo2's evaluator reads every ground-truth point as coordinates."""
    rows = table.to_pylist()
    for r in rows:
        traj, frames = [], []
        for fr, src in zip(r["frame_trajectories"], r["source_frames"]):
            pts = [p for p in fr["points"] if not p["occluded"]]
            if pts:
                traj.append({**fr, "points": pts})
                frames.append(src)
        r["frame_trajectories"], r["source_frames"] = traj, frames
    return pa.Table.from_pylist(rows, schema=table.schema)


def _point_rows(table: pa.Table, subset: M2.PointSubset) -> pa.Table:
    """Point rows as `AcademicVideoPoint` reads them: its subset name, and the video name its
    `_make_video_path` joins."""
    rows = table.to_pylist()
    for r in rows:
        r["subset"] = subset.subset
        if subset.by_dataset:  # BURST ids are <dataset>/<sequence>: Molmo2 puts <dataset>/ in the path
            head, _, rest = r["video_name"].partition("/")
            r["dataset"], r["video_name"] = (head, rest) if rest else ("", head)
        elif subset.name_is_file:
            r["video_name"] = f"{r['video_name']}.mp4"
    return pa.Table.from_pylist(rows, schema=table.schema)


@dataclass
class EvalQuery:
    """What a MasksRLE file needs of the rows that name it."""

    source: str
    split: str
    source_video: str
    anno_id: list[str]
    clip_start_time: float
    n_frames: int
    fps: int
    width: int
    height: int


class Export:
    def __init__(self, out: str, to: str, overrides: dict[str, str] | None = None, echo: Callable = print):
        self.out, self.to, self.overrides, self.echo = out, to, overrides, echo
        self.links: dict[str, str] = {}  # DIR path -> OUT path
        self.files_of: dict[str, set[str]] = defaultdict(set)  # dataset folder -> the videos and masks its rows name
        self.masks: dict[str, EvalQuery | None] = {}  # DIR path -> the query (None: no public answer)
        self.placed: list[str] = []
        self.journal = None
        self.inside: set[tuple[str, str]] = set()  # (base, folder) already resolved inside base
        self.folders: set[str] = set()  # folders of DIR made for the videos

    # -- where things go ----------------------------------------------------------------------
    def full(self, rel: str, what: str = "export path", base: str | None = None) -> str:
        """`rel` under DIR (or `base`); a name from a row that could lead out is refused, naming it.
        Every path is checked part by part; that a folder resolves inside (no link leading out) is
        checked once per folder: tens of thousands of videos share a few folders."""
        base = base or self.to
        try:
            checks.relative_path(rel, what)
            folder = os.path.dirname(rel)
            if folder and (base, folder) not in self.inside:
                checks.join_inside(base, folder, what)
                self.inside.add((base, folder))
        except ValueError as e:
            raise ExportError(f"{rel}: {e}") from None
        return os.path.join(base, rel)

    def note(self, rel: str) -> None:
        self.placed.append(rel)
        self.journal.write(rel + "\n")
        self.journal.flush()

    def link_video(self, src_rel: str, dst_rel: str) -> None:
        """`dst_rel` (in DIR) shows the build's `src_rel`; two different videos for one path is an error."""
        seen = self.links.setdefault(dst_rel, src_rel)
        if seen != src_rel:
            raise ExportError(f"{dst_rel}: both {seen} and {src_rel} would be this file (two splits of the build "
                              "name a video alike where Molmo2 keeps them in one folder)")

    # -- datasets -----------------------------------------------------------------------------
    def track_tables(self, t: Target) -> Iterator[pa.Table]:
        video_dir = f"{M2.TRACK_HOME}/{t.cls.video_dir(t.data_split)}"
        masks_dir = t.cls.masks_dir(t.data_split)
        for shard, table in _batches(self.out, t.shards):
            table = table.filter(pc.equal(table["task"], t.task))
            if not table.num_rows:
                continue
            if t.evaluated:
                table = _visible_only(table)
                names = ["video", "video_path", "qid", "source_video", "anno_id", "clip_start_time", "n_frames", "fps",
                         "width", "height", "mask_id", "answer"]
                cols = table.select(names).to_pylist()
            else:  # a clip's rows name one video: each pair once
                pairs = table.select(["video", "video_path"]).group_by(["video", "video_path"]).aggregate([])
                cols = pairs.to_pylist()
            for r in cols:
                self.link_video(r["video_path"], f"{video_dir}/{r['video']}.mp4")
                self.files_of[t.path].add(f"{video_dir}/{r['video']}.mp4")
                if t.evaluated:
                    self.files_of[t.path].add(f"{M2.TRACK_HOME}/{masks_dir}/{r['video']}/{r['qid']}.json")
                    self.masks[f"{M2.TRACK_HOME}/{masks_dir}/{r['video']}/{r['qid']}.json"] = None if (
                        not r["mask_id"] and not r["answer"]) else EvalQuery(
                        shard["source"], shard["split"], r["source_video"], r["anno_id"], r["clip_start_time"],
                        r["n_frames"], r["fps"], r["width"], r["height"])
            t.rows.update(dict(zip(*[c.to_pylist() for c in pc.value_counts(table["sampling_fps"]).flatten()])))
            yield table

    def point_tables(self, t: Target) -> Iterator[pa.Table]:
        claims = M2.point_claims()
        for shard, table in _batches(self.out, t.shards):
            subset = M2.POINT_SUBSETS[claims[shard["source"]][0]]
            src = table.column("video_path").to_pylist()
            table = _point_rows(table, subset)
            for s, name, ds in zip(src, table.column("video_name").to_pylist(), table.column("dataset").to_pylist()):
                self.link_video(s, f"{M2.VIDEO_HOME}/{subset.video_path(t.data_split, name, ds)}")
                self.files_of[t.path].add(f"{M2.VIDEO_HOME}/{subset.video_path(t.data_split, name, ds)}")
            t.rows[M2.POINT_RATE] += table.num_rows
            yield table

    def write_dataset(self, t: Target, tables: Iterator[pa.Table], n: int) -> None:
        """The rows as `datasets.save_to_disk` lays them out (what Molmo2's `load_from_disk`
        reads): streamed into an Arrow file, opened memory-mapped, saved under a temporary name,
        renamed into place."""
        import datasets

        schema = DATASET_SCHEMAS[t.dataset]
        tmp = os.path.join(self.to, TMP)
        arrow = os.path.join(tmp, f"{n}.arrow")
        rows = 0
        with pa.OSFile(arrow, "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            for table in tables:
                writer.write_table(table)
                rows += table.num_rows
        if rows:
            staged = os.path.join(tmp, f"{n}.dataset")
            ds = datasets.Dataset.from_file(arrow, info=datasets.DatasetInfo(features=hf_features(t.dataset)))
            ds.save_to_disk(staged)
            del ds
            final = self.full(t.path, "dataset folder")
            old = os.path.join(tmp, f"{n}.old")
            os.makedirs(os.path.dirname(final), exist_ok=True)
            if os.path.lexists(final):
                os.rename(final, old)
            os.rename(staged, final)
            shutil.rmtree(old, ignore_errors=True)
            self.note(t.path)
        os.remove(arrow)

    # -- videos and masks ---------------------------------------------------------------------
    def place_links(self) -> Counter:
        done = Counter()
        with progress(len(self.links), "videos", unit="links", echo=self.echo) as bar:
            for dst_rel, src_rel in sorted(self.links.items()):
                src = self.full(src_rel, "video path", self.out)
                dst = self.full(dst_rel, "video path")
                if not os.path.isfile(src):
                    raise ExportError(f"{src}: a row's video is missing from the build (built with videos: skip? "
                                      "Molmo2 reads the videos: build with videos: encode)")
                present = os.path.lexists(dst)
                if present and os.path.exists(dst) and os.path.samefile(src, dst):
                    done["kept"] += 1
                else:
                    done[_link(src, dst, present, self.folders)] += 1
                self.note(dst_rel)
                bar.advance(dst_rel)
        return done

    def place_masks(self, manifest: dict) -> int:
        truth = GroundTruth(self.out, manifest, self.overrides)
        order = sorted(self.masks.items(), key=lambda kv: (kv[1].source, kv[1].split, kv[1].source_video, kv[0])
                       if kv[1] else ("", "", "", kv[0]))
        cache: dict = {}
        with progress(len(order), "masks", unit="queries", echo=self.echo) as bar:
            for rel, q in order:
                data = None if q is None else self.query_masks(truth, q, cache)
                dst = self.full(rel, "masks path")
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                tmp = os.path.join(os.path.dirname(dst), f".{os.path.basename(dst)}.tmp")
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump(data, f)
                os.replace(tmp, dst)
                self.note(rel)
                bar.advance(rel)
        return len(order)

    def query_masks(self, truth: GroundTruth, q: EvalQuery, cache: dict) -> dict:
        """{object index: [RLE or None per frame of the row's video]}: frame k shows the source's
        annotated frame nearest the clip time k / fps (the frame the build sampled there)."""
        try:
            vt = truth.video(q.source, q.split, q.source_video)
        except TruthError as e:
            raise ExportError(f"evaluation masks of {q.source}/{q.split}: {e}") from None
        if cache.get("video") != (q.source, q.split, q.source_video):
            cache.clear()
            cache["video"] = (q.source, q.split, q.source_video)
        out = {}
        for i, obj in enumerate(q.anno_id):
            per_frame = []
            for k in range(q.n_frames):
                frame = vt.frame_at(q.clip_start_time + k / q.fps, q.fps)
                key = (obj, frame, q.width, q.height)
                if key not in cache:
                    mask = vt.mask(obj, frame) if frame is not None else None
                    if mask is not None:
                        padded = mask[:q.height, :q.width]
                        if padded.shape != (q.height, q.width):  # odd sizes: the video is padded right/bottom
                            padded = _pad(padded, q.height, q.width)
                        cache[key] = MK.encode(padded)
                    else:
                        cache[key] = None
                per_frame.append(cache[key])
            out[str(i)] = per_frame
        return out


def _pad(mask, height: int, width: int):
    import numpy as np

    out = np.zeros((height, width), bool)
    out[:mask.shape[0], :mask.shape[1]] = mask
    return out


def _link(src: str, dst: str, present: bool = True, folders: set[str] | None = None) -> str:
    """`dst` as a hard link to `src` (a symbolic link across file systems). A path that is not there
    (`present` False, from the caller's own check) is linked straight: making a link is atomic, the
    path is the whole file or nothing. One that is there is replaced by a rename of a link made
    beside it. `folders`: the folders made already, not asked of the file system again (an export
    places tens of thousands of videos in a few folders, and each call costs as much as the link)."""
    folder = os.path.dirname(dst)
    if folders is None or folder not in folders:
        os.makedirs(folder, exist_ok=True)
        if folders is not None:
            folders.add(folder)
    if not present:
        try:
            return _make_link(src, dst)
        except FileExistsError:  # there after all: replaced below
            pass
    tmp = os.path.join(folder, f".{os.path.basename(dst)}.tmp")
    if os.path.lexists(tmp):
        os.remove(tmp)
    how = _make_link(src, tmp)
    os.replace(tmp, dst)
    return how


def _make_link(src: str, path: str) -> str:
    try:
        os.link(src, path)
        return "linked"
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
    os.symlink(os.path.abspath(src), path)
    return "symlinked"


# -- DIR ------------------------------------------------------------------------------------------

def _previous(to: str) -> set[str]:
    """What earlier exports of DIR placed: the finished one's list, and a killed one's journal."""
    owned: set[str] = set()
    try:
        with open(os.path.join(to, MARKER), encoding="utf-8") as f:
            owned.update(json.load(f).get("paths") or [])
    except (OSError, ValueError, AttributeError):
        pass
    try:
        with open(os.path.join(to, JOURNAL), encoding="utf-8") as f:
            owned.update(line.strip() for line in f if line.strip())
    except OSError:
        pass
    return owned


def check_dir(to: str) -> None:
    """DIR is new, empty or an earlier export's (one that holds anything else is refused: the
    export removes what it placed there before and no longer needs, never what it did not)."""
    if os.path.isdir(to):
        found = sorted(set(os.listdir(to)) - OURS)
        if found and not ({MARKER, JOURNAL} & set(os.listdir(to))):
            raise ExportError(f"--to {to} holds other files ({', '.join(found[:5])}{', ...' if len(found) > 5 else ''}): "
                              "export into a new or empty folder, or one an earlier `vgdata export molmo2` wrote")
    writable_folder(to, "--to", ExportError)


def _dir_lock(to: str):
    return held(os.path.join(to, LOCK), lambda holder: ExportError(f"--to {to}: another export is writing there ({holder})"))


def _remove_stale(to: str, stale: set[str]) -> int:
    n = 0
    for rel in sorted(stale, reverse=True):
        path = checks.join_inside(to, rel, "export path")
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
        else:
            continue
        n += 1
        parent = os.path.dirname(path)
        while parent != os.path.abspath(to) and os.path.isdir(parent) and not os.listdir(parent):
            os.rmdir(parent)
            parent = os.path.dirname(parent)
    return n


def _finished_build(out: str) -> dict:
    manifest = read_manifest(out, ExportError)
    problems = check_build(out, manifest)
    if problems:
        raise ExportError(f"{out} is not a finished build: " + "; ".join(problems[:10])
                          + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""))
    if manifest.get("videos_mode") == "skip" and any(s["dataset"] != GROUND_DATASET for s in manifest.get("shards", [])):
        raise ExportError(f"{out} was built with videos: skip; Molmo2 reads the rows' videos: build it with "
                          "videos: encode (the rows are reused from OUT/.work)")
    return manifest


def export_molmo2(out: str, to: str, overrides: dict[str, str] | None = None, echo: Callable = print) -> dict:
    """Lay OUT out in DIR as Molmo2 reads it; returns what was written (also DIR/vgdata-export.json)."""
    import datasets

    datasets.disable_progress_bars()
    check_dir(to)
    with out_lock(out, sweep=False), _dir_lock(to):
        manifest = _finished_build(out)
        p = plan(manifest, out)
        previous = _previous(to)
        tmp = os.path.join(to, TMP)
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        job = Export(out, to, overrides, echo)
        with open(os.path.join(to, JOURNAL), "a", encoding="utf-8") as job.journal:
            with progress(len(p.targets), "datasets", unit="datasets", echo=echo) as bar:
                for n, t in enumerate(p.targets):
                    tables = job.point_tables(t) if t.cls is None else job.track_tables(t)
                    job.write_dataset(t, tables, n)
                    bar.advance(f"{t.path}: {sum(t.rows.values())} rows")
            videos = job.place_links()
            n_masks = job.place_masks(manifest) if job.masks else 0
        owned = set(job.placed)
        removed = _remove_stale(to, previous - owned)
        shutil.rmtree(tmp, ignore_errors=True)
        result = {
            "format": "molmo2", "molmo2_commit": M2.MOLMO2_COMMIT, "vgdata": __version__,
            "out": os.path.abspath(out), "build": manifest.get("created"),
            "sampling": rates_text((manifest.get("config") or {}).get("sampling_fps") or 2),
            "datasets": {t.path: {"rows": sum(t.rows.values()), "rows_by_rate": {str(k): v for k, v in sorted(t.rows.items())},
                                  "sources": sorted({s["source"] for s in t.shards}),
                                  "files": sorted(job.files_of[t.path])}
                         for t in p.targets if sum(t.rows.values())},
            "names": name_rows(p.targets), "left_out": p.left_out,
            "videos": dict(videos), "masks": n_masks, "removed": removed, "paths": sorted(owned),
        }
        marker = os.path.join(to, MARKER)
        with open(marker + ".tmp", "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
        os.replace(marker + ".tmp", marker)
        os.remove(os.path.join(to, JOURNAL))
    return result


# -- names --------------------------------------------------------------------------------------

def name_rows(targets: list[Target]) -> dict[str, dict[str, int]]:
    """{name: {Molmo2 split: rows its get_dataset_by_name(name, split) loads}} for the datasets written."""
    found = {}
    by_key = {(t.cls.cls if t.cls else "AcademicVideoPoint", t.task or "point_count", t.data_split): t for t in targets}
    for name in M2.NAMES:
        splits = {}
        if name.points:
            for s in M2.POINT_SPLITS:
                t = by_key.get(("AcademicVideoPoint", "point_count", s))
                if t is not None and sum(t.rows.values()):
                    splits[s] = sum(t.rows.values())
        else:
            cls = M2.CLASSES[name.cls]
            for split, data_split in cls.split_map.items():
                t = by_key.get((cls.cls, name.task, data_split))
                if t is None:
                    continue
                n = t.rows.get(name.rate, 0) if name.rate else sum(t.rows.values())
                if n:
                    splits[split] = n
        if splits:
            found[name.name] = splits
    return found


def _filled_by(name: M2.Name) -> tuple[str, str]:
    """(what fills `name`, or why nothing does) for `--list`."""
    rate = f"{name.rate} fps" if name.rate else "every rate"
    if name.points:
        parts = [f"{source} as {subset} ({', '.join(f'{s}->{m}' for s, m in splits.items())})"
                 for source, (subset, splits) in sorted(M2.point_claims().items())]
        return "filled", f"AcademicVideoPoint rows at {M2.POINT_RATE} fps of " + ", ".join(parts)
    cls = M2.CLASSES[name.cls]
    by_source = M2.claims().get(cls.cls, {})
    if not by_source:
        return "not filled", f"no registered source fills Molmo2's {cls.cls} (a converter's `molmo2` says which it fills)"
    splits = ", ".join(f"{s}: {'+'.join(f'{src}/{o}' for src, claim in by_source.items() for o in claim.get(d, ()))}"
                       for s, d in cls.split_map.items() if any(d in claim for claim in by_source.values()))
    what = f"{', '.join(by_source)} task {name.task} at {rate} ({splits})"
    if cls.cls == "MevisChallenge":
        return ("rows only", what + "; Molmo2's get_dataset_by_name cannot build this name at "
                f"{M2.MOLMO2_COMMIT} (it gives MevisChallenge no split: TypeError); "
                "MevisChallenge(split='test', task='track', sampling_fps=1) reads the rows")
    return "filled", what


def list_table(out: str | None = None) -> list[tuple[str, str, str, str]]:
    """(name, status, what fills it or why not, rows in OUT's build by split) for every name."""
    counts: dict[str, dict[str, int]] = {}
    if out is not None:
        manifest = read_manifest(out, ExportError)
        p = plan(manifest)
        for t in p.targets:
            filt = (lambda tb: tb) if t.cls is None else (lambda tb, t=t: tb.filter(pc.equal(tb["task"], t.task)))
            for s in t.shards:
                tb = filt(pq.read_table(os.path.join(out, s["path"]), columns=["task", "sampling_fps"] if t.cls else ["id"]))
                if t.cls is None:
                    t.rows[M2.POINT_RATE] += tb.num_rows
                else:
                    t.rows.update(dict(zip(*[c.to_pylist() for c in pc.value_counts(tb["sampling_fps"]).flatten()])))
        counts = name_rows(p.targets)
    table = []
    for name in M2.NAMES:
        status, what = _filled_by(name)
        rows = ", ".join(f"{s} {n}" for s, n in counts.get(name.name, {}).items()) if out else ""
        table.append((name.name, status, what, rows))
    return table


def list_command(out: str | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    rows = list_table(out)
    t = Table(title=f"Molmo2's academic video names (allenai/molmo2@{M2.MOLMO2_COMMIT})" + (f": rows in {out}" if out else ""))
    for col in ("name", "status", "filled by (Molmo2 split: source/split), or why not") + (("rows in OUT",) if out else ()):
        t.add_column(col, overflow="fold")
    for name, status, what, n in rows:
        t.add_row(name, status, what, *((n or "-",) if out else ()))
    console = Console(width=200)
    console.print(t)
    counts = Counter(status for _, status, _, _ in rows)
    console.print(f"{len(rows)} names: {counts['filled']} filled, {counts['rows only']} exported but not buildable "
                  f"by name in Molmo2, {counts['not filled']} not filled.")
    return 0


def export_command(out: str, to: str, overrides: dict[str, str] | None = None) -> int:
    result = export_molmo2(out, to, overrides)
    for line in result["left_out"]:
        print(f"  not exported: {line}")
    print(f"exported {out} to {to} for allenai/molmo2@{M2.MOLMO2_COMMIT}: {len(result['datasets'])} datasets, "
          f"{sum(result['videos'].values())} videos ({', '.join(f'{n} {k}' for k, n in sorted(result['videos'].items()))}), "
          f"{result['masks']} evaluation mask files" + (f", {result['removed']} stale paths removed" if result["removed"] else ""))
    for name, splits in result["names"].items():
        print(f"  {name}: " + ", ".join(f"{s} {n} rows" for s, n in splits.items()))
    print(f"use it: export MOLMO_DATA_DIR={os.path.abspath(to)}  (then get_dataset_by_name(NAME, SPLIT) reads these)")
    return 0
