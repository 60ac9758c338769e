"""A source in a package of its own: tests/fixtures/source_package (a converter class and its data
manifest, registered under the entry-point group `vgdata.sources`) is installed with pip into a
folder of this test's, and with that folder on the path `vgdata` finds the source, converts,
audits and exports with it, exactly as it does a built-in one. Without the package on the path,
the same build's audit says the source is unknown. Nothing of vgdata is changed for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.synthetic import paint_boxes

PACKAGE = REPO / "tests" / "fixtures" / "source_package"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> str:
    target = tmp_path_factory.mktemp("site")
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds, and
    # those must not land in the repository's fixture.
    package = shutil.copytree(PACKAGE, tmp_path_factory.mktemp("package") / PACKAGE.name)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                        "--target", str(target), str(package)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return str(target)


def vgdata(*args, site: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "VGDATA_PROGRESS": "quiet", "COLUMNS": "300"}  # --list's table on one line per name
    if site:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (site, env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


def write_sequence(root, name: str, n: int = 40) -> None:
    seq = root / "train" / name
    boxes = {i: [(7, 12 + i, 20, 52 + i, 60)] for i in range(n)}
    paint_boxes(str(seq / "frames"), n, 128, 96, boxes, digits=6, start=0)
    lines = ["frame,track,x,y,w,h,label"] + [f"{i},7,{12 + i},20,40,40,kite" for i in range(n)]
    lines[5] = "4,7,16,20,1e30,40,kite"  # a box nobody could draw: reported with its line
    (seq / "boxes.csv").write_text("\n".join(lines) + "\n")
    (seq / "fps.txt").write_text("20\n")


@pytest.mark.slow
def test_a_source_in_its_own_package_converts_audits_and_exports(installed, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_sequence(src, "kite_1")
    listed = vgdata("sources", site=installed)
    assert listed.returncode == 0 and "csv_boxes" in listed.stdout, listed.stderr
    r = vgdata("convert", "csv_boxes", "--root", str(src), "--out", str(out), "--segmenter", "grabcut",
               "--runner", "local", site=installed)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"]["AcademicVideoTrack"] > 0 and summary["rows"]["AcademicVideoPoint"] == 1
    assert summary["rejects_by_reason"] == {"frame: box of 1e+30 x 40 px on a 128 x 96 frame is not a possible box": 1}
    card = (out / "README.md").read_text()
    assert "CSV boxes (an example source in a package of its own)" in card and "cc0-1.0" in card
    assert vgdata("audit", str(out), site=installed).returncode == 0
    r = vgdata("export", "molmo2", str(out), "--to", str(tmp_path / "molmo"), site=installed)
    assert r.returncode == 0 and "latot_single_point_track: train 1 rows" in r.stdout, r.stdout + r.stderr
    assert (tmp_path / "molmo" / "video_datasets" / "video_track" / "tracking" / "latot" / "single_point_track"
            / "train" / "state.json").exists()
    listing = vgdata("export", "molmo2", "--list", site=installed)
    (line,) = [ln for ln in listing.stdout.splitlines() if "latot_single_point_track" in ln]
    assert "csv_boxes/train" in line and "latot/train" in line  # beside the built-in latot, both fill LaTOT
    # without the package the source is unknown, and the audit says so instead of passing
    r = vgdata("audit", str(out))
    assert r.returncode != 0 and "unknown source 'csv_boxes'" in r.stdout + r.stderr
