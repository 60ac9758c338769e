"""Shared fixtures: the bundled sample written once per session, and one local build of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
REAL_FIXTURES = REPO.parent / "shared" / "fixtures" / "real"


def real_fixture(name: str) -> Path:
    path = REAL_FIXTURES / name
    if not path.exists():
        pytest.skip(f"real fixture {name} not found at {path} (the ../shared checkout is absent)")
    return path


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    from pipeline.sample.data import write_sample

    out = tmp_path_factory.mktemp("sample")
    write_sample(str(out))
    return out


def demo_config(sample_dir: Path, out: Path, **overrides):
    from pipeline.config import config_from_dict

    raw = {
        "out": str(out),
        "segmenter": {"name": "grabcut"},
        "sources": [
            {"name": "sav", "root": str(sample_dir / "sav")},
            {"name": "mot", "root": str(sample_dir / "mot")},
            {"name": "lasot", "root": str(sample_dir / "lasot")},
        ],
    }
    raw.update(overrides)
    return config_from_dict(raw)


@pytest.fixture(scope="session")
def built(sample_dir, tmp_path_factory):
    """(config, summary) of one local build of the whole sample."""
    from pipeline.build import run_build

    cfg = demo_config(sample_dir, tmp_path_factory.mktemp("build"))
    summary = run_build(cfg, echo=lambda s: None)
    return cfg, summary


@pytest.fixture(scope="session")
def prefect_harness():
    """One real Prefect API server (a subprocess on 127.0.0.1 with a temporary database) for the
    session; yields its URL. 90 s to start: the default 20 s is too short on a loaded 2-core machine."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def molmo2_build(tmp_path_factory):
    """(OUT, truth) of the build of every source that fills a Molmo2 name, at 1 and 2 fps
    (tests/molmo2_sources.py); `truth` holds the true masks of the evaluated splits."""
    from tests.molmo2_sources import build_all

    root = tmp_path_factory.mktemp("molmo2")
    truth = build_all(root / "src", root / "out")
    return root / "out", truth


@pytest.fixture(scope="session")
def molmo2_export(molmo2_build, tmp_path_factory):
    """(OUT, DIR, result) of `vgdata export molmo2 OUT --to DIR` of that build."""
    from pipeline.ops.export import export_molmo2

    out, _ = molmo2_build
    to = tmp_path_factory.mktemp("molmo2_export") / "data"
    return out, to, export_molmo2(str(out), str(to), echo=lambda s: None)


def link_copy(src, dst):
    """A copy of a build that hard-links its videos and shards (fast, and never written in place)
    and copies every other file (a test may rewrite its manifest or card)."""
    import shutil

    def copy(s, d):
        if s.endswith((".mp4", ".parquet")):
            os.link(s, d)
        else:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=copy, ignore=shutil.ignore_patterns(".vgdata.lock", ".work"))
    return dst
