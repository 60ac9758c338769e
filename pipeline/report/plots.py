"""The report's plots (matplotlib, Agg: no display needed), one PNG each, per source where the
question is per source. Each function returns (file name, caption), or None when the build has
nothing to plot for it."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pipeline.report.stats import BuildStats  # noqa: E402


def _save(fig, folder: str, name: str) -> str:
    fig.tight_layout()
    fig.savefig(os.path.join(folder, name), dpi=90)
    plt.close(fig)
    return name


def _hist_by_source(data: dict[str, list], title: str, xlabel: str, folder: str, name: str, integer: bool = True,
                    bins=None):
    data = {k: v for k, v in sorted(data.items()) if v}
    if not data:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    if integer:
        hi = max(max(v) for v in data.values())
        bins = bins if bins is not None else [x - 0.5 for x in range(0, int(hi) + 2)]
    ax.hist(list(data.values()), bins=bins if bins is not None else 20, label=list(data), stacked=True)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows" if "row" in title else "count")
    ax.legend(fontsize=8)
    return _save(fig, folder, name)


def plot_all(stats: BuildStats, centre: dict[str, list[tuple[float, float]]], folder: str) -> list[tuple[str, str]]:
    os.makedirs(folder, exist_ok=True)
    plots = []

    def add(name, caption):
        if name:
            plots.append((name, caption))

    add(_hist_by_source(stats.counts, "Count asked by point questions", "count (objects in the answer)", folder,
                        "counts.png"), "How many objects each point question counts, per source (0: a no-target query).")
    add(_hist_by_source(stats.objects_per_query, "Objects per tracking query", "objects", folder,
                        "objects_per_query.png"), "Objects per `track` query (expressions over sets of objects).")
    add(_hist_by_source(stats.track_frames, "Track length", "sampled frames with a visible point", folder,
                        "track_frames.png", integer=False),
        f"Frames per object in track rows; at {stats.sampling_fps:g} fps, seconds = frames / {stats.sampling_fps:g}.")
    secs = {k: [f / stats.sampling_fps for f in v] for k, v in stats.track_frames.items()}
    add(_hist_by_source(secs, "Track length in seconds", "seconds", folder, "track_seconds.png", integer=False),
        "The same tracks in seconds.")
    if stats.iou_kept or stats.iou_dropped:
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        ax.hist([stats.iou_kept, stats.iou_dropped], bins=[i / 20 for i in range(21)], label=["kept", "dropped"],
                stacked=True, color=["tab:green", "tab:red"])
        ax.axvline(0.5, color="black", linestyle="--", label="filter: 0.5")
        ax.set_title("Mean mask/box IoU of box tracks")
        ax.set_xlabel("mean IoU over the track's frames")
        ax.set_ylabel("tracks")
        ax.legend(fontsize=8)
        add(_save(fig, folder, "iou.png"), "Tracks whose SAM 2 masks agree with the boxes below 0.5 on average are dropped.")
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        hi = max(stats.reprompts) if stats.reprompts else 0
        ax.hist(stats.reprompts, bins=[x - 0.5 for x in range(0, hi + 2)])
        ax.set_title("Re-prompts per box track")
        ax.set_xlabel("times SAM 2 was prompted again with the box")
        ax.set_ylabel("tracks")
        add(_save(fig, folder, "reprompts.png"), "How often propagation drifted from the box and was re-prompted.")
    if any(centre.values()):
        fig, ax = plt.subplots(figsize=(5, 5))
        for source, pts in sorted(centre.items()):
            if pts:
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=6, alpha=0.6, label=source)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.add_patch(plt.Rectangle((-0.5, -0.5), 1, 1, fill=False, linestyle="--", color="black"))
        ax.set_xlim(-0.6, 0.6)
        ax.set_ylim(0.6, -0.6)
        ax.set_aspect("equal")
        ax.set_title("Points relative to their mask's centre")
        ax.set_xlabel("(x - centre x) / box width")
        ax.set_ylabel("(y - centre y) / box height")
        ax.legend(fontsize=8)
        add(_save(fig, folder, "point_offsets.png"), "Each previewed point's offset from its mask's centroid, in units "
            "of the mask's bounding box (dashed: the box). Near-centre sampling keeps them near (0, 0).")
    add(_hist_by_source(stats.first_seen, "First appearance", "seconds into the clip", folder, "first_seen.png",
                        integer=False), "Timestamp of each point of the point questions (each object's first sampled frame).")
    return plots
