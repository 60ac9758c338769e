"""`vgdata report OUT` -> `OUT/report/index.html`: a static page (open it from disk, no server) with
the build's numbers per source, its plots, and previews of a seeded sample of rows drawn on their
frames. Everything it shows sits beside it in `OUT/report/`."""

from __future__ import annotations

import html
import os
import shutil
from collections import defaultdict

import pyarrow.parquet as pq

from pipeline.errors import VgdataError
from pipeline.progress import progress
from pipeline.outputs.manifest import read_manifest
from pipeline.quality.ground_truth import GroundTruth, TruthError
from pipeline.quality.rows import video_of
from pipeline.report.plots import plot_all
from pipeline.report.previews import Preview, centre_offsets, preview_row, sample_rows
from pipeline.report.stats import BuildStats, gather
from pipeline.stages.sampling import rates_text

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1300px; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 4px 8px; }
th { background: #f3f3f3; } td.n { text-align: right; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; width: 580px; }
figcaption { font-size: 0.85em; color: #555; } img { max-width: 100%; }
.preview { border-top: 1px solid #ddd; padding: 1em 0; display: flex; gap: 1.5em; }
.qa { width: 420px; font-size: 0.9em; } code { word-break: break-all; font-size: 0.85em; }
"""

# The page says, on its <body>, how many of its images the browser could load (the test reads it).
SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);
});
"""


def _e(x) -> str:
    return html.escape(str(x))


def _sources_table(stats: BuildStats) -> str:
    cols = ["source", "videos", "videos ok", "queries", "point rows", "track rows", "ground rows", "tracks kept", "tracks dropped",
            "tracks unseen", "rejects"]
    rows = []
    for key, s in sorted(stats.sources.items()):
        vals = [s.videos, s.videos_ok, s.queries, s.point_rows, s.track_rows, s.ground_rows, s.tracks_kept, s.tracks_dropped,
                s.tracks_unseen, sum(s.rejects.values())]
        rows.append(f"<tr><td>{_e(key)}</td>" + "".join(f'<td class="n">{v}</td>' for v in vals) + "</tr>")
    return "<table><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>" + "".join(rows) + "</table>"


def _rejects_table(stats: BuildStats) -> str:
    rows = [f"<tr><td>{_e(key)}</td><td>{_e(reason)}</td><td class='n'>{n}</td></tr>"
            for key, s in sorted(stats.sources.items()) for reason, n in sorted(s.rejects.items(), key=lambda x: -x[1])]
    if not rows:
        return "<p>Nothing was rejected.</p>"
    return "<table><tr><th>source</th><th>level: reason</th><th>n</th></tr>" + "".join(rows) + "</table>"


def _preview_html(p: Preview) -> str:
    imgs = ""
    if p.sheet:
        imgs += f'<img src="previews/{_e(p.sheet)}" alt="frames of {_e(p.row_id)}">'
    if p.gif:
        imgs += f'<br><img src="previews/{_e(p.gif)}" alt="animation of {_e(p.row_id)}">'
    return (f'<div class="preview"><div>{imgs or _e(p.note)}</div><div class="qa"><b>{_e(p.row_id)}</b> '
            f"({_e(p.dataset)})<p><b>Q:</b> {_e(p.question)}</p><p><b>A:</b> <code>{_e(p.answer)}</code></p>"
            f"{'<p><i>' + _e(p.note) + '</i></p>' if p.note else ''}</div></div>")


def _sampled_rows(out: str, manifest: dict, k: int, seed: int) -> dict[tuple[str, str, str], list[dict]]:
    """(source, split, dataset) -> a seeded sample of `k` of its rows (ids read first, rows after)."""
    ids: dict[tuple[str, str, str], list[tuple[str, str, int]]] = defaultdict(list)
    for s in manifest.get("shards", []):
        path = os.path.join(out, s["path"])
        for i, rid in enumerate(pq.read_table(path, columns=["id"]).column("id").to_pylist()):
            ids[(s["source"], s["split"], s["dataset"])].append((rid, path, i))
    picked: dict[tuple[str, str, str], list[dict]] = {}
    for key, entries in ids.items():
        chosen = sample_rows([{"id": rid, "path": p, "i": i} for rid, p, i in entries], k, seed)
        by_shard: dict[str, list[int]] = defaultdict(list)
        for c in chosen:
            by_shard[c["path"]].append(c["i"])
        rows = [r for path, idx in by_shard.items() for r in pq.read_table(path).take(idx).to_pylist()]  # each shard once
        picked[key] = sorted(rows, key=lambda r: r["id"])
    return picked


def build_report(out: str, rows_per_source: int = 3, centre_rows: int = 40, seed: int = 0,
                 overrides: dict[str, str] | None = None, echo=print) -> str:
    """Write OUT/report/index.html (and its images); returns its path."""
    manifest = read_manifest(out)
    folder = os.path.join(out, "report")
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(os.path.join(folder, "previews"))
    stats = gather(out, manifest)
    truth = GroundTruth(out, manifest, overrides)
    fps = stats.sampling_fps
    previews: dict[str, list[Preview]] = defaultdict(list)
    centre: dict[str, list] = defaultdict(list)
    notes = []
    sample = _sampled_rows(out, manifest, max(rows_per_source, centre_rows), seed)
    total = sum(len(v) for v in sample.values())
    # Both datasets' sampled rows of a (source, split) in video order: each source video read once.
    by_pair: dict[tuple[str, str], list[tuple[str, int, dict]]] = defaultdict(list)
    shown: set[str] = set()
    for (source, split, dataset), rows in sorted(sample.items()):
        shown |= {r["id"] for r in sample_rows(rows, rows_per_source, seed)}
        by_pair[(source, split)] += [(dataset, n, row) for n, row in
                                     enumerate(sorted(rows, key=lambda r: (video_of(r), r["id"])))]
    with progress(total, "report", unit="rows", echo=echo) as bar:
        for (source, split), items in sorted(by_pair.items()):
            for dataset, n, row in sorted(items, key=lambda item: (video_of(item[2]), item[0], item[1])):
                bar.advance(row["id"])
                try:
                    vt = truth.video(source, split, video_of(row))
                except (TruthError, VgdataError) as e:
                    notes.append(f"{source}/{split}: {e}")
                    break
                centre[source] += centre_offsets(row, dataset, vt, fps)
                if row["id"] in shown:
                    name = f"{source}-{split}-{dataset.removeprefix('AcademicVideo').lower()}-{n:03d}"
                    try:
                        previews[f"{source}/{split}"].append(preview_row(row, dataset, vt, fps,
                                                                        os.path.join(folder, "previews"), name))
                    except Exception as e:  # noqa: BLE001 - one unreadable video must not stop the page
                        notes.append(f"{row['id']}: no preview ({type(e).__name__}: {e})")
    plots = plot_all(stats, centre, os.path.join(folder, "plots"))
    cfg = manifest.get("config") or {}
    code = manifest.get("code") or {}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>vgdata build report</title>",
        f"<style>{CSS}</style><script>{SCRIPT}</script></head><body>",
        f"<h1>vgdata build report</h1><p>{_e(os.path.abspath(out))}: built {_e(manifest.get('created', '?'))}, code "
        f"{_e(code.get('git_commit') or code.get('version') or '?')}, segmenter {_e((cfg.get('segmenter') or {}).get('name'))}, "
        f"{_e(rates_text(cfg.get('sampling_fps') or 2))}.</p>",
        "<h2>Sources</h2>", _sources_table(stats), "<h2>Rejects by reason</h2>", _rejects_table(stats),
        "<h2>Plots</h2><div class='plots'>",
        *(f"<figure><img src='plots/{_e(n)}' alt='{_e(n)}'><figcaption>{_e(c)}</figcaption></figure>"
          for n, c in plots),
        "</div><h2>Previews</h2><p>A seeded sample of rows per source: the frames each row samples, with its "
        "points and ids, the objects' mask outlines and, for box sources, the ground-truth boxes.</p>",
    ]
    for key in sorted(previews):
        parts.append(f"<h3>{_e(key)}</h3>" + "".join(_preview_html(p) for p in sorted(previews[key], key=lambda p: (p.dataset, p.row_id))))
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    parts.append("</body></html>")
    index = os.path.join(folder, "index.html")
    with open(index, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    return index
