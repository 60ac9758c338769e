"""`vgdata report OUT`: the page's numbers are the build's, every image it references exists, and it
renders in a real browser (headless Chromium: every image loads, the screenshot is not blank)."""

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from flows.cli import main
from pipeline.build import run_build
from tests.conftest import demo_config


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.cells, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def reported(sample_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    cfg = demo_config(sample_dir, root / "out", videos="skip")
    run_build(cfg, echo=lambda s: None)
    assert main(["report", str(root / "out"), "--quiet"]) == 0
    return root / "out"


def _page(out) -> Page:
    p = Page()
    p.feed((out / "report" / "index.html").read_text())
    return p


def test_report_references_only_images_that_exist(reported):
    page = _page(reported)
    assert len(page.images) >= 10
    for src in page.images:
        assert (reported / "report" / src).is_file(), src
    plots = {os.path.basename(s) for s in page.images if s.startswith("plots/")}
    assert {"counts.png", "objects_per_query.png", "track_frames.png", "track_seconds.png", "iou.png",
            "reprompts.png", "point_offsets.png", "first_seen.png"} <= plots


def test_report_numbers_are_the_builds(reported):
    summary = json.loads((reported / "summary.json").read_text())
    text = " ".join(_page(reported).text)
    html = (reported / "report" / "index.html").read_text()
    for key, s in summary["sources"].items():
        cells = [key, s["videos"], s["videos_ok"]]
        assert "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>".format(*cells) in html
    assert "mean mask/box IoU below threshold" in text  # the dropped MOT track's reason


def test_report_previews_every_source_with_question_answer_and_animation(reported):
    page = _page(reported)
    previews = [s for s in page.images if s.startswith("previews/")]
    for source in ("sav", "mot", "lasot"):
        assert any(os.path.basename(s).startswith(f"{source}-train-") for s in previews), source
    gifs = [s for s in previews if s.endswith(".gif")]
    assert gifs
    with Image.open(reported / "report" / gifs[0]) as gif:
        assert gif.n_frames > 1
    sheet = np.asarray(Image.open(reported / "report" / [s for s in previews if s.endswith(".png")][0]).convert("RGB"))
    # the drawn points are saturated colours the grey synthetic frames do not have
    assert ((sheet.max(axis=2).astype(int) - sheet.min(axis=2)) > 150).any()
    text = " ".join(page.text)
    assert "Q:" in text and "<tracks coords=" in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_report_renders_in_headless_chromium(reported, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium on this machine (make test installs the Debian package `chromium`)")
    url = (reported / "report" / "index.html").resolve().as_uri()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--virtual-time-budget=10000", "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    n = len(_page(reported).images)
    assert f'data-images-loaded="{n}/{n}"' in dom.stdout, dom.stderr[-2000:]
    shot = tmp_path / "report.png"
    subprocess.run(flags + ["--window-size=1280,2400", f"--screenshot={shot}", url], capture_output=True,
                   timeout=120, check=True)
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (2400, 1280)
    assert img.std() > 20  # tables, plots and frames, not a blank page
    if os.environ.get("VGDATA_SCREENSHOT"):  # README's screenshot is made here
        shutil.copy(shot, os.environ["VGDATA_SCREENSHOT"])
