"""Every source says what its layout was checked against (`checked_against` in its manifest): a real
file and the test that converts it, or two independent readers; `vgdata sources` shows it and the
README's table is exactly `vgdata sources --markdown`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipeline.sources import load_manifest, sources
from pipeline.sources.registry import NOT_INDEPENDENT, evidence, sources_markdown
from flows.cli import main

REPO = Path(__file__).resolve().parent.parent


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("name", sorted(sources()))
def test_every_source_names_its_real_file_and_test_or_its_readers(name):
    c = load_manifest(name).get("checked_against")
    assert isinstance(c, dict), f"{name}: no checked_against"
    if c.get("real_file"):
        file, _, func = c["test"].partition("::")
        assert func in _test_functions(REPO / file), f"{name}: {c['test']} does not exist"
    else:
        readers = c.get("readers") or []
        assert readers and not readers[0].startswith(NOT_INDEPENDENT), f"{name}: no official reader named"
        assert all("@" in r or r.startswith(NOT_INDEPENDENT) or "DanceTrack/DanceTrack" in r for r in readers), \
            f"{name}: a reader without a pinned commit"
    assert evidence(load_manifest(name))[0] in ("real file", "two readers", "one reader")


def test_vgdata_sources_shows_the_evidence_and_the_readme_table_is_current(capsys):
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "checked against" in out and "sources on real files" in out
    assert main(["sources", "--markdown"]) == 0
    table = capsys.readouterr().out
    assert table == sources_markdown()
    assert table in (REPO / "README.md").read_text(), "README's source table is stale: paste `vgdata sources --markdown`"
