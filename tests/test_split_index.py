"""Split-wide annotation files in bounded memory (converters/split_index.py): each is streamed once
per build into a per-video index under OUT/.work/index; a video reads only its own rows; a video's
cache key is the digest of its own rows, so editing one video's entry recomputes that video only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.sources import get_converter
from pipeline.sources import split_index as S
from converters.refvos import meta_videos, split_by_key
from flows.cli import main
from pipeline.errors import SourceError
from tests import mask_layouts as L
from tests.conftest import REPO
from tests.test_box_sources import write_personpath22, write_seadronessee
from tests.test_mask_sources import _two_mevis_videos as two_mevis_videos


def convert(source, root, out, split="train", *extra):
    return main(["convert", source, "--root", str(root), "--out", str(out), "--split", split, "--runner", "local",
                 "--videos", "skip", "--quiet", *extra])


def summary(out):
    return json.loads((out / "summary.json").read_text())


# -- the index holds exactly what json.load reads ---------------------------------------------------

def test_refvos_index_holds_each_video_entry_and_each_anno_mask_list_as_json_load_reads_them(tmp_path):
    L.write_mevis(str(tmp_path))
    conv = get_converter("mevis", index_dir=str(tmp_path / "index"))
    meta_path, masks_path = tmp_path / "train" / "meta_expressions.json", tmp_path / "train" / "mask_dict.json"
    (ref,) = conv.discover(str(tmp_path), "train")
    meta, masks = json.loads(meta_path.read_text()), json.loads(masks_path.read_text())
    meta_index, mask_index = meta_videos(conv, str(meta_path), str(tmp_path)), conv.mask_index(str(masks_path), str(tmp_path))
    assert {k: meta_index.last(k, "entry") for k in meta_index.keys()} == meta["videos"]
    assert {k: mask_index.last(k, "value") for k in mask_index.keys()} == masks
    assert ref.video_id == "vid_a" and len(os.listdir(tmp_path / "index")) == 2  # one index per file, no lock left


def test_video_coco_index_groups_annotations_by_video_in_file_order(tmp_path):
    L.write_video_coco(str(tmp_path), f"{tmp_path}/annotations_train.json", f"{tmp_path}/train",
                       lambda v, i: f"{v}/img_{i + 1:07d}.jpg")
    path = tmp_path / "annotations_train.json"
    data = json.loads(path.read_text())
    data["annotations"].reverse()  # an order the file may have; rows keep it
    data = {"annotations": data["annotations"], "categories": data["categories"], "videos": data["videos"]}
    path.write_text(json.dumps(data))  # annotations before videos: the index does not care
    conv = get_converter("ovis", index_dir=str(tmp_path / "index"))
    (ref,) = conv.discover(str(tmp_path), "train")
    index = conv.index(str(path), str(tmp_path))
    rows = index.get(ref.video_id)
    assert rows["video"] == data["videos"] and rows["annotation"] == data["annotations"]
    assert dict(index.note("categories")) == {c["id"]: c["name"] for c in data["categories"]}


def test_burst_seadronessee_and_personpath22_indexes_hold_their_json(tmp_path):
    L.write_burst(str(tmp_path / "burst"))
    path = tmp_path / "burst" / "annotations" / "val" / "all_classes.json"
    data = json.loads(path.read_text())
    conv = get_converter("burst", index_dir=str(tmp_path / "index"))
    refs = conv.discover(str(tmp_path / "burst"), "val")
    index = conv.index(str(path), str(tmp_path / "burst"))
    assert [index.last(r.video_id, "sequence") for r in refs] == data["sequences"]

    root, _ = write_seadronessee(tmp_path)
    conv = get_converter("seadronessee", index_dir=str(tmp_path / "index"))
    (ref,) = conv.discover(str(root), "train")
    (path,) = ref.files
    data = json.loads(open(path).read())
    rows = conv.index(path, str(root)).get(ref.video_id)
    assert rows["image"] == data["images"] and rows["annotation"] == data["annotations"]

    root, _ = write_personpath22(tmp_path)
    conv = get_converter("personpath22", index_dir=str(tmp_path / "index"))
    refs = conv.discover(str(root), "train")
    data = json.loads(open(refs[0].files[0]).read())
    index = conv.index(refs[0].files[0], str(root))
    assert {r.video_id: index.last(r.video_id, "sample") for r in refs} == \
        {k: v for k, v in data["samples"].items() if k in {r.video_id for r in refs}}


# -- bad files ----------------------------------------------------------------------------------------

def test_a_parse_error_deep_in_a_big_file_names_its_line_and_byte(tmp_path):
    path = tmp_path / "mask_dict.json"
    lines = ["{"] + [f'"{i}": [{{"size": [4, 4], "counts": "{"x" * 200}"}}],' for i in range(2000)]
    lines.append('"2000": [{"size": [4, 4], "counts": "abc"},, null]')  # two commas: line 2002
    text = "\n".join(lines) + "\n}"
    path.write_text(text)
    byte = text.index(",, null") + 2  # the second comma, counted from 1 as lines are
    with pytest.raises(SourceError) as e:
        S.open_index(str(path), "by-key", split_by_key, str(tmp_path / "i"))
    assert e.value.path == str(path)
    assert f"not valid JSON (line 2002, byte {byte}: " in e.value.problem, e.value.problem
    assert not [p for p in os.listdir(tmp_path / "i") if p.endswith((".sqlite", ".tmp"))]  # nothing half-built


def test_truncated_mask_dict_is_one_line_naming_the_file(tmp_path, capsys):
    L.write_mevis(str(tmp_path / "src"))
    path = tmp_path / "src" / "train" / "mask_dict.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    assert convert("mevis", tmp_path / "src", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "not valid JSON (line 1, byte" in err and "premature EOF" in err


# -- one pass per build, one video recomputed per edit ---------------------------------------------

def _two_mevis_videos(root):
    meta_path, masks_path, meta, masks = two_mevis_videos(root)
    meta_path.write_text(json.dumps(meta))
    masks_path.write_text(json.dumps(masks))
    return meta_path, masks_path


def test_each_split_wide_file_is_streamed_once_per_build_and_the_audit_reuses_the_index(tmp_path, monkeypatch):
    from pipeline.quality.audit import audit

    _two_mevis_videos(tmp_path / "src")
    built = []
    real = S._build
    monkeypatch.setattr(S, "_build", lambda path, target, fill: (built.append(path), real(path, target, fill))[1])
    monkeypatch.setattr(S, "_OPEN", {})  # as a fresh process
    assert convert("mevis", tmp_path / "src", tmp_path / "out", "train", "--workers", "2") == 0
    assert sorted(os.path.basename(p) for p in built) == ["mask_dict.json", "meta_expressions.json"]
    monkeypatch.setattr(S, "_OPEN", {})
    report = audit(str(tmp_path / "out"), echo=lambda s: None)
    assert report.ok and report.rows["inside"] > 0
    assert len(built) == 2  # the audit read the build's index, it did not stream the files again


def test_editing_one_videos_masks_recomputes_that_video_only(tmp_path):
    _, masks_path = _two_mevis_videos(tmp_path / "src")
    out = tmp_path / "out"
    assert convert("mevis", tmp_path / "src", out) == 0
    first = {r["id"]: r for r in L.read_rows(str(out), "AcademicVideoTrack", "mevis")}
    index_dir = out / ".work" / "index"
    before = set(os.listdir(index_dir))
    masks = json.loads(masks_path.read_text())
    masks["203"] = [None] * len(masks["203"])  # vid_b's third disc is gone from every frame
    masks_path.write_text(json.dumps(masks))
    assert convert("mevis", tmp_path / "src", out) == 0
    assert summary(out)["sources"]["mevis/train"]["cached_videos"] == 1  # vid_a reused
    after = set(os.listdir(index_dir))
    assert len(after) == 2 and len(after & before) == 1  # the mask_dict's index was rebuilt, the old one deleted
    second = {r["id"]: r for r in L.read_rows(str(out), "AcademicVideoTrack", "mevis")}
    assert {k: v for k, v in second.items() if "/vid_a/" in k} == {k: v for k, v in first.items() if "/vid_a/" in k}
    assert {k: v for k, v in second.items() if "/vid_b/" in k} != {k: v for k, v in first.items() if "/vid_b/" in k}


def test_editing_one_ovis_annotation_recomputes_that_video_only(tmp_path):
    root = tmp_path / "src"
    L.write_video_coco(str(root), f"{root}/annotations_train.json", f"{root}/train", lambda v, i: f"{v}/img_{i + 1:07d}.jpg")
    path = root / "annotations_train.json"
    data = json.loads(path.read_text())
    other = json.loads(json.dumps(data["videos"][0]))
    other.update(id=2, file_names=[n.replace("85aa3b0e", "0b1c2d3e") for n in other["file_names"]])
    data["videos"].append(other)
    data["annotations"] += [{**a, "id": a["id"] + 100, "video_id": 2} for a in data["annotations"]]
    path.write_text(json.dumps(data))
    out = tmp_path / "out"
    assert convert("ovis", root, out) == 0
    assert summary(out)["sources"]["ovis/train"]["videos_ok"] == 2
    data["annotations"][-1]["segmentations"] = [None] * len(data["annotations"][-1]["segmentations"])
    path.write_text(json.dumps(data))
    assert convert("ovis", root, out) == 0
    assert summary(out)["sources"]["ovis/train"]["cached_videos"] == 1
    data["categories"][0]["name"] = "a renamed category"  # what every video shares: all recomputed
    path.write_text(json.dumps(data))
    assert convert("ovis", root, out) == 0
    assert summary(out)["sources"]["ovis/train"]["cached_videos"] == 0


# -- masks.parquet one video at a time ------------------------------------------------------------------

def test_stored_masks_read_per_video_give_what_the_whole_table_gives(tmp_path):
    from pipeline.outputs.schemas import MASK_SCHEMA
    from pipeline.quality.ground_truth import StoredMasks

    rows = []
    for v in range(40):
        for obj in range(3):
            for frame in range(0, 10, 3):
                rows.append({"id": f"mot/train/V{v:02d}/{obj}/{frame:09d}", "source": "mot", "split": "train",
                             "video_id": f"V{v:02d}", "object_id": str(obj), "frame": frame, "height": 4, "width": 4,
                             "counts": f"{v}-{obj}-{frame}", "box": [0.0, 0.0, 1.0, 1.0], "kept": obj != 2})
    path = tmp_path / "masks.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=MASK_SCHEMA), path, row_group_size=50)  # videos span groups
    assert pq.ParquetFile(path).num_row_groups > 5
    whole = defaultdict(dict)
    for r in rows:
        whole[r["video_id"]][(r["object_id"], r["frame"])] = ({"size": [4, 4], "counts": r["counts"]}, r["box"], r["kept"])
    stored = StoredMasks(str(path))
    assert {v: stored.video("mot", "train", v) for v in whole} == dict(whole)
    assert stored.video("mot", "val", "V00") == {} and StoredMasks(str(tmp_path / "none.parquet")).video("a", "b", "c") == {}


# -- memory -----------------------------------------------------------------------------------------------

# VmHWM (the peak RSS of this process image), not getrusage's ru_maxrss: that one survives exec and
# so starts at the forking test process's size (pytest holds ~800 MB once torch is loaded).
CHILD = ("import sys; sys.path.insert(0, {repo!r}); from flows.cli import main; code = main({argv!r}); "
         "print('MAXRSS_KB', open('/proc/self/status').read().split('VmHWM:')[1].split()[0]); sys.exit(code)")


@pytest.mark.slow
def test_a_mask_dict_of_200_mb_is_converted_in_bounded_memory(tmp_path):
    """MeViS's real mask_dict.json is GBs. Here one video's masks plus 200 MB of other objects' mask
    lists (valid RLEs no expression names): a build holds one video's annotations, so its peak RSS
    stays under the target 0.25 x the file + 300 MiB (parsing the file whole took 3.3 x the file)."""
    L.write_mevis(str(tmp_path / "src"))
    path = tmp_path / "src" / "train" / "mask_dict.json"
    masks = json.loads(path.read_text())
    filler = json.dumps([m or masks["101"][10] for m in masks["101"]] * 8)
    with open(path, "w") as f:
        f.write("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in masks.items()))
        n = 0
        while f.tell() < 200 * 2**20:
            f.write(f',"{900000 + n}":{filler}')
            n += 1
        f.write("}")
    size = os.path.getsize(path)
    argv = ["convert", "mevis", "--root", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--runner", "local",
            "--workers", "2", "--videos", "skip", "--quiet"]
    r = subprocess.run([sys.executable, "-c", CHILD.format(repo=str(REPO), argv=argv)], capture_output=True, text=True,
                       cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    peak_mib = int(r.stdout.split("MAXRSS_KB")[1].split()[0]) / 1024
    assert peak_mib <= 0.25 * size / 2**20 + 300, f"peak RSS {peak_mib:.0f} MiB for a {size / 2**20:.0f} MiB file"
    assert summary(tmp_path / "out")["sources"]["mevis/train"]["videos_ok"] == 1
