"""vgdata pipeline: plain Python (no Prefect) that turns source datasets into dataset rows, and the
work around a build. Each folder is one role:

- `stages/`: one video's way through: records -> sampling -> (frames -> segmenters -> track_filter)
  -> points -> rows (Molmo2's columns and text); `stages/process.py` runs them for one video.
- `outputs/`: what a build writes: schemas, shards (streamed), videos, rejects, manifest.
- `ops/`: around a build: pull a source, write the dataset card, publish to the Hub.
- `quality/`: checks after the fact: the sources read again (`ground_truth`), `audit`.
- `report/`: `vgdata report`: numbers, plots and previews on a static page.
- here: `build.py` (a whole build: preflight, discover, per-video work, outputs), `config.py`,
  `errors.py`, `checks.py`, `progress.py`, `metrics.py` (Molmo2's metrics, `vgdata eval`), and
  the bundled sample (`sample_data.py`, `sample_eval.py`).
"""

__version__ = "0.1.0"
