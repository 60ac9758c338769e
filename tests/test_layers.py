"""The house has no circles: `lint-imports` (import-linter) holds the layers and the acyclic-siblings
contracts of pyproject.toml over pipeline/, converters/ and flows/."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_imports_run_one_way_down_and_siblings_have_no_circles():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency (pyproject.toml [test])"
    r = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "2 kept, 0 broken" in r.stdout


@pytest.mark.parametrize("module, line", [
    ("pipeline/stages/sampling.py", "from converters import sot"),
    # the build finds sources through pipeline.sources (entry points) only, never by importing them
    ("pipeline/build/run.py", "from converters.sot import LasotConverter"),
])
def test_pipeline_importing_a_converter_would_be_caught(tmp_path, module, line):
    """The contract is not vacuous: a copy of the tree where pipeline imports a converter breaks it."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    copy = tmp_path / "repo"
    for name in ("pipeline", "converters", "flows"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    with open(copy / module, "a") as f:
        f.write(f"\n{line}  # noqa: E402,F401\n")
    r = subprocess.run([exe, "--no-cache"], cwd=copy, capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(copy), "PATH": ""})
    importer = module[:-3].replace("/", ".")
    assert r.returncode != 0 and f"{importer} -> converters" in r.stdout, r.stdout[-3000:]
