"""Every mask source, in its release layout, through `vgdata convert`: rows held to the true masks.

Each family's fixture exercises its quirks (MeViS unsorted frame lists and repeated expressions,
ReVOS path-like keys, file order and no-target expressions, OVIS 7-digit `img_` names, LV-VIS
back-slashes and list counts, YouTube-VIS polygons, BURST 1 fps annotation and counts-only RLE,
Ref-DAVIS17 latin-1 and misspelled names, VIPSeg panoptic ids). The checker asserts: count = the
query's objects seen, every point inside one of its own objects' masks, timestamps on the 0.5 s
grid, one track row per query and clip with exactly its objects, each track point inside its own
object's mask.
"""

from __future__ import annotations

import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline.sources import get_converter, load_manifest, sources
from flows.cli import main
from tests import mask_layouts as L
from tests.conftest import real_fixture


def convert(source: str, root, out, split="train", *extra) -> int:
    return main(["convert", source, "--root", str(root), "--out", str(out), "--split", split, "--runner", "local",
                 "--videos", "skip", *extra])


def rows(out, source):
    return L.read_rows(str(out), "AcademicVideoPoint", source), L.read_rows(str(out), "AcademicVideoTrack", source)


def rejects(out):
    return pq.read_table(os.path.join(out, "rejects.parquet")).to_pylist()


LAYOUTS = {
    "mevis": ("train", lambda r: L.write_mevis(r)),
    "revos": ("train", lambda r: L.write_mevis(r, revos=True)),
    "ovis": ("train", lambda r: L.write_video_coco(r, f"{r}/annotations_train.json", f"{r}/train",
                                                   lambda v, i: f"{v}/img_{i + 1:07d}.jpg")),
    "lvvis": ("val", lambda r: L.write_video_coco(r, f"{r}/Annotations/val_instances.json", f"{r}/JPEGImages/val",
                                                  lambda v, i: f"{v}/{i:05d}.jpg", list_counts=True, backslash=True)),
    "ytvis": ("train", lambda r: L.write_video_coco(r, f"{r}/train/instances.json", f"{r}/train/JPEGImages",
                                                    lambda v, i: f"{v}/{i * 5:05d}.jpg", polygon=True)),
    "burst": ("val", lambda r: L.write_burst(r)),
    "ref_youtube_vos": ("train", lambda r: L.write_ref_youtube_vos(r)),
    "ref_davis17": ("val", lambda r: L.write_ref_davis17(r)),
    "lvos": ("train", lambda r: L.write_lvos(r)),
    "mose": ("train", lambda r: {"m1": L.write_palette(f"{r}/train/JPEGImages/m1", f"{r}/train/Annotations/m1")}),
    "mosev2": ("train", lambda r: {"m1": L.write_palette(f"{r}/train/JPEGImages/m1", f"{r}/train/Annotations/m1")}),
    "reasonvos": ("test", lambda r: L.write_reasonvos(f"{r}/ReasonVOS")),
    "vicas": ("train", lambda r: L.write_vicas(r)),
    "vipseg": ("train", lambda r: L.write_vipseg(r)),
}


@pytest.mark.parametrize("source", sorted(LAYOUTS))
def test_rows_hold_to_the_true_masks(source, tmp_path):
    split, write = LAYOUTS[source]
    truth = write(str(tmp_path / "src"))
    assert convert(source, tmp_path / "src", tmp_path / "out", split) == 0
    points, tracks = rows(tmp_path / "out", source)
    tasks = load_manifest(source)["tasks"]
    assert bool(points) == ("point_count" in tasks and source != "ytvis")
    assert L.check_point_rows(points, truth) == len(points)
    assert L.check_track_rows(tracks, truth) == len(tracks) > 0
    track_rows = [r for r in tracks if r["task"] == "track"]
    if "track" in tasks:
        # one track row per query (the clip is one: every video here is under 64 s)
        queried = {(vid, text) for vid, t in truth.items() for text, objs in t.queries.items() if objs}
        assert sorted((r["source_video"], r["expression"]) for r in track_rows) == sorted(queried)
        for r in track_rows:  # exactly the query's objects that the clip shows
            t = truth[r["source_video"]]
            shown = {o for o in t.queries[r["expression"]]
                     if any(t.masks[o].get(f) is not None and t.masks[o][f].any() for f in r["source_frames"])}
            assert set(r["anno_id"]) == shown
    if "single_point_track" in tasks:
        assert {r["anno_id"][0] for r in tracks if r["task"] == "single_point_track"} == \
            {o for t in truth.values() for o in t.masks}


def test_mevis_expressions_over_sets_of_objects(tmp_path):
    L.write_mevis(str(tmp_path / "src"))
    assert convert("mevis", tmp_path / "src", tmp_path / "out") == 0
    points, tracks = rows(tmp_path / "out", "mevis")
    by_text = {r["category"]: r for r in points}
    assert {k: r["count"] for k, r in by_text.items()} == {"the disc moving right": 1, "discs that move": 2,
                                                          "all the discs": 3}
    (all_discs,) = [r for r in tracks if r["expression"] == "all the discs"]
    assert all_discs["obj_id"] == [0, 1, 2] and all_discs["anno_id"] == ["101", "102", "103"]  # MeViS's own ids
    repeated = [r for r in rejects(tmp_path / "out") if r["reason"] == "repeated expression"]
    assert len(repeated) == 1 and "the disc moving right" in repeated[0]["detail"]


def test_revos_no_target_and_reasoning(tmp_path):
    L.write_mevis(str(tmp_path / "src"), revos=True)
    assert convert("revos", tmp_path / "src", tmp_path / "out") == 0
    points, tracks = rows(tmp_path / "out", "revos")
    (none,) = [r for r in points if r["query_type"] == "no_target"]
    assert none["count"] == 0 and none["answer"] == "There are none." and none["points"] == []
    assert "the red elephant" not in {r["expression"] for r in tracks}
    assert {r["query_type"] for r in tracks if r["expression"] == "discs that move"} == {"reasoning"}
    assert {r["video_name"] for r in points} == {"UVO/all/-fbscFfkh4M"}


def test_burst_one_fps_drops_the_half_seconds_and_skips_non_exhaustive_counts(tmp_path):
    L.write_burst(str(tmp_path / "src"))
    assert convert("burst", tmp_path / "src", tmp_path / "out", "val") == 0
    points, tracks = rows(tmp_path / "out", "burst")
    assert [r["category"] for r in points] == ["bird"]  # "person" is not exhaustively annotated there
    assert {r["expression"] for r in tracks if r["task"] == "track"} == {"bird", "person"}
    assert all(fr["time"] == int(fr["time"]) for r in tracks for fr in r["frame_trajectories"])
    reasons = {r["reason"] for r in rejects(tmp_path / "out")}
    assert {"no annotated frame", "query not exhaustively annotated"} <= reasons


def test_lvvis_training_videos_give_no_counts(tmp_path):
    root = tmp_path / "src"
    L.write_video_coco(str(root), f"{root}/Annotations/train_instances.json", f"{root}/JPEGImages/train",
                       lambda v, i: f"{v}/{i:05d}.jpg")
    assert convert("lvvis", root, tmp_path / "out") == 0
    points, tracks = rows(tmp_path / "out", "lvvis")
    assert points == [] and len([r for r in tracks if r["task"] == "track"]) == 2


def test_mevis_valid_asks_every_expression_with_no_answer_at_every_rate(tmp_path):
    meta = L.write_mevis_challenge(tmp_path / "src")
    assert convert("mevis", tmp_path / "src", tmp_path / "out", "valid", "--sampling-fps", "1,2") == 0
    points, tracks = rows(tmp_path / "out", "mevis")
    assert points == [] and L.read_rows(str(tmp_path / "out"), "AcademicVideoGround", "mevis") == []
    expressions = meta["videos"]["vid_a"]["expressions"]  # repeats included: the challenge scores every id
    assert sorted((r["qid"], r["sampling_fps"]) for r in tracks) == sorted((e, f) for e in expressions for f in (1, 2))
    for r in tracks:
        assert r["expression"] == expressions[r["qid"]]["exp"] and r["task"] == "track" and r["answer"] == ""
        assert r["frame_trajectories"] == [] and r["mask_id"] == [] and r["fps"] == 2 and r["video"] == "vid_a"
    assert {r["reason"] for r in rejects(tmp_path / "out")} == {"split has no public answers"}
    assert main(["audit", str(tmp_path / "out")]) == 0


def test_a_split_without_its_mask_file_is_refused_naming_it(tmp_path, capsys):
    L.write_mevis_challenge(tmp_path / "src")
    (tmp_path / "src" / "valid").rename(tmp_path / "src" / "train")  # train must have its masks
    assert convert("mevis", tmp_path / "src", tmp_path / "out", "train") == 2
    assert "mask_dict.json" in capsys.readouterr().err


# -- bad input: one clear error naming the file, a rejects row, the rest converts -----------------

def _two_mevis_videos(root):
    L.write_mevis(str(root))
    meta_path, masks_path = root / "train" / "meta_expressions.json", root / "train" / "mask_dict.json"
    meta, masks = json.loads(meta_path.read_text()), json.loads(masks_path.read_text())
    meta["videos"]["vid_b"] = json.loads(json.dumps(meta["videos"]["vid_a"]))
    for e in meta["videos"]["vid_b"]["expressions"].values():
        e["anno_id"] = [a + 100 for a in e["anno_id"]]
    for k in list(masks):
        masks[str(int(k) + 100)] = masks[k]
    L.jpegs(str(root / "train" / "JPEGImages" / "vid_b"), [f"{i:05d}.jpg" for i in range(60)])
    return meta_path, masks_path, meta, masks


@pytest.mark.parametrize("damage, problem", [
    ("short_mask_list", "masks for the 60 frames"),
    ("wrong_rle_size", "is not the frame's"),
])
def test_bad_mevis_video_is_rejected_and_the_rest_converts(damage, problem, tmp_path):
    root = tmp_path / "src"
    meta_path, masks_path, meta, masks = _two_mevis_videos(root)
    if damage == "short_mask_list":
        masks["201"] = masks["201"][:-5]
    else:
        masks["202"] = [{"size": [10, 10], "counts": "<8"} if m else m for m in masks["202"]]
    meta_path.write_text(json.dumps(meta))
    masks_path.write_text(json.dumps(masks))
    assert convert("mevis", root, tmp_path / "out") == 0
    points, _ = rows(tmp_path / "out", "mevis")
    assert {r["video_name"] for r in points} == {"vid_a"}
    (bad,) = [r for r in rejects(tmp_path / "out") if r["level"] == "video"]
    assert bad["video_id"] == "vid_b" and bad["file"].endswith("mask_dict.json") and problem in bad["detail"]


def test_truncated_json_is_one_clear_error(tmp_path, capsys):
    root = tmp_path / "src"
    L.write_video_coco(str(root), f"{root}/annotations_train.json", f"{root}/train", lambda v, i: f"{v}/img_{i + 1:07d}.jpg")
    path = root / "annotations_train.json"
    path.write_text(path.read_text()[:-40])
    assert convert("ovis", root, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "annotations_train.json" in err and "not valid JSON" in err and "Traceback" not in err


def test_wrong_size_png_and_missing_frames_folder(tmp_path):
    from PIL import Image

    root = tmp_path / "src"
    for vid in ("m1", "m2", "m3"):
        L.write_palette(f"{root}/train/JPEGImages/{vid}", f"{root}/train/Annotations/{vid}")
    Image.new("P", (10, 10)).save(root / "train" / "Annotations" / "m2" / "00005.png")  # sampled at 1.0 s (5 fps)
    import shutil

    shutil.rmtree(root / "train" / "JPEGImages" / "m3")
    assert main(["convert", "mose", "--root", str(root), "--out", str(tmp_path / "out"), "--runner", "local"]) == 0
    _, tracks = rows(tmp_path / "out", "mose")
    assert {r["source_video"] for r in tracks} == {"m1"}
    bad = {r["video_id"]: r for r in rejects(tmp_path / "out") if r["level"] == "video"}
    assert bad["m2"]["file"].endswith("00005.png") and "the video's frames are 64x48" in bad["m2"]["detail"]
    assert bad["m3"]["file"].endswith("JPEGImages/m3") and "frames folder is missing" in bad["m3"]["detail"]


# -- real files --------------------------------------------------------------------------------

def test_real_ovis_excerpt_converts(tmp_path):
    src = real_fixture("ovis/annotations_train.excerpt.json")
    root = tmp_path / "ovis"
    root.mkdir()
    (root / "annotations_train.json").write_bytes(src.read_bytes())  # a link out of the root is refused
    conv = get_converter("ovis")
    refs = conv.discover(str(root), "train")
    assert [r.video_id for r in refs] == ["85aa3b0e"]
    record = conv.load(refs[0])
    data = json.loads(src.read_text())
    assert (record.video.width, record.video.height, record.video.n_frames) == (1920, 886, 3)
    assert len(record.objects) == len(data["annotations"]) == 10
    assert record.video.frame_files[0] == "85aa3b0e/img_0000001.jpg"
    from pipeline.stages import masks as M

    for a in data["annotations"]:  # every decoded mask's box is the file's own box
        obj = next(o for o in record.objects if o.object_id == str(a["id"]))
        for f, box in enumerate(a["bboxes"]):
            if box is None:
                assert not obj.frames[f].visible
                continue
            x0, y0, x1, y1 = M.mask_box(obj.frames[f].rle)
            assert [x0, y0, x1 - x0, y1 - y0] == pytest.approx(box)
    cats = {c["id"]: c["name"] for c in data["categories"]}
    assert {q.text for q in record.all_queries()} == {cats[a["category_id"]] for a in data["annotations"]}


def test_real_ref_youtube_vos_expressions_parse(tmp_path):
    src = real_fixture("ref_youtube_vos/valid_meta_expressions.json")
    objects = json.loads(real_fixture("ref_youtube_vos/valid_meta_expressions_objects_layout_URVOS.json").read_text())
    # The valid split names no objects and ships no masks: its videos (those valid/JPEGImages holds;
    # the file also lists the test videos) ask every expression with no answer.
    root = tmp_path / "rytvos"
    (root / "meta_expressions" / "valid").mkdir(parents=True)
    (root / "meta_expressions" / "valid" / "meta_expressions.json").write_bytes(src.read_bytes())
    shipped = sorted(json.loads(src.read_text())["videos"])[:2]
    for vid in shipped:
        L.jpegs(str(root / "valid" / "JPEGImages" / vid), [f"{i * 5:05d}.jpg" for i in range(12)])
    assert convert("ref_youtube_vos", root, tmp_path / "out", "valid") == 0
    _, tracks = rows(tmp_path / "out", "ref_youtube_vos")
    asked = {(vid, eid) for vid in shipped for eid in json.loads(src.read_text())["videos"][vid]["expressions"]}
    assert {(r["video"], r["qid"]) for r in tracks} == asked and len(tracks) == len(asked)
    assert all(r["answer"] == "" and r["mask_id"] == [] for r in tracks)
    # The expressions themselves parse (and, given obj_ids recovered from the URVOS file, clean up)
    from converters.palette import RefYoutubeVosConverter

    data = json.loads(src.read_text())
    vid = sorted(data["videos"])[0]
    order = [oid for oid in sorted(objects["videos"][vid]["objects"], key=int)
             for _ in objects["videos"][vid]["objects"][oid]["expressions"]]
    entry = data["videos"][vid]
    for eid, oid in zip(sorted(entry["expressions"], key=int), order):
        entry["expressions"][eid]["obj_id"] = oid
    patched = tmp_path / "patched.json"
    patched.write_text(json.dumps({"videos": {vid: entry}}))
    from pipeline.sources.base import VideoRef

    ref = VideoRef("ref_youtube_vos", "valid", vid, str(tmp_path), "", ("masks", str(patched)))
    queries, _ = RefYoutubeVosConverter().queries(ref, [])
    assert queries and {q.object_ids for q in queries} <= {(oid,) for oid in order}
    texts = {q.text for q in queries}
    assert texts <= {" ".join(e["exp"].split()) for e in entry["expressions"].values()}


def test_every_source_is_listed(capsys):
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    for name in sources():
        assert name in out
    assert "CC BY-NC-SA 4.0" in out and "AcademicVideoPoint" in out


@pytest.mark.parametrize("frames", ["imgs", "images"])
def test_vipseg_release_layout_names_things_from_label_num_dic(frames, tmp_path):
    """The release has label_num_dic_final.json (1-based, no thing flag), not the categories JSON;
    the 720p script's layout renames imgs/ to images/. Instance 0 (6100) is an object."""
    root = tmp_path / "src"
    truth = L.write_vipseg_release(str(root))
    if frames == "images":
        os.rename(root / "imgs", root / "images")
    assert convert("vipseg", root, tmp_path / "out") == 0
    _, tracks = rows(tmp_path / "out", "vipseg")
    assert L.check_track_rows(tracks, truth) == len(tracks) == 1
    (row,) = tracks
    assert row["expression"] == "person" and row["anno_id"] == ["6100", "6101"]
    os.remove(root / "label_num_dic_final.json")
    assert convert("vipseg", root, tmp_path / "out2") != 0


def test_ref_davis17_reads_the_semi_supervised_masks_when_the_unsupervised_set_is_absent(tmp_path):
    """DAVIS 2017 trainval ships Annotations/480p; ReferFormer's set is Annotations_unsupervised.
    `masks=auto` takes the unsupervised set where present, else the other; naming a set that is
    not there fails on the missing folder."""
    root = tmp_path / "src"
    truth = L.write_ref_davis17(str(root))
    os.rename(root / "DAVIS" / "Annotations_unsupervised", root / "DAVIS" / "Annotations")
    assert convert("ref_davis17", root, tmp_path / "out", "val") == 0
    points, tracks = rows(tmp_path / "out", "ref_davis17")
    assert L.check_track_rows(tracks, truth) == len(tracks) == 3
    assert L.check_point_rows(points, truth) == len(points) > 0
    assert convert("ref_davis17", root, tmp_path / "out2", "val", "--option", "masks=unsupervised") != 0


def test_lvos_valid_split_with_masks_every_fifth_frame(tmp_path):
    """LVOS's evaluation kit reads `valid/valid_meta.json` and masks only every 5th frame (8-digit
    names from 1); frames without a PNG are not annotated (not 'absent')."""
    root = tmp_path / "src"
    vid = "FNvKhwyW"
    t = L.write_palette(str(root / "valid" / "JPEGImages" / vid), str(root / "valid" / "Annotations" / vid),
                        digits=8, start=1, every=5)
    objects = {o: {"frame_range": {"start": "1", "end": "60", "frame_nums": 12}} for o in ("1", "2", "3")}
    (root / "valid" / "valid_meta.json").write_text(json.dumps({"videos": {vid: {"objects": objects}}}))
    assert convert("lvos", root, tmp_path / "out", "valid") == 0
    _, tracks = rows(tmp_path / "out", "lvos")
    assert L.check_track_rows(tracks, {vid: t}) == len(tracks) > 0
    assert all(src % 5 == 0 for r in tracks for src in r["source_frames"])


def test_burst_train_split_reads_train_json(tmp_path):
    """BURST's train annotations are `annotations/train/train.json` (val/test: all_classes.json)."""
    root = tmp_path / "src"
    truth = L.write_burst(str(root), split="train")
    os.rename(root / "annotations" / "train" / "all_classes.json", root / "annotations" / "train" / "train.json")
    assert convert("burst", root, tmp_path / "out", "train") == 0
    _, tracks = rows(tmp_path / "out", "burst")
    assert L.check_track_rows(tracks, truth) == len(tracks) > 0


def test_lvvis_frames_under_the_split_folder(tmp_path):
    """OpenVIS and OVFormer lay LV-VIS frames out as `<split>/JPEGImages/<video>/`, the README as
    `JPEGImages/<split>/<video>/`: both are read."""
    root = tmp_path / "src"
    truth = L.write_video_coco(str(root), f"{root}/Annotations/val_instances.json", f"{root}/val/JPEGImages",
                               lambda v, i: f"{v}/{i:05d}.jpg", backslash=True)
    assert convert("lvvis", root, tmp_path / "out", "val", "--videos", "encode") == 0
    _, tracks = rows(tmp_path / "out", "lvvis")
    assert L.check_track_rows(tracks, truth) == len(tracks) > 0
