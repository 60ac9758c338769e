"""`vgdata`: the command line.

    vgdata sample DIR                 write the bundled synthetic sample
    vgdata sources                    list every source: kind, licence, what it builds, layout check
    vgdata convert SOURCE --root DIR --out DIR [...]   build the datasets from one source
    vgdata build CONFIG.yaml          build from a config listing sources, roots and settings
    vgdata pull SOURCE --to DIR       download a source as its data manifest lists it
    vgdata publish OUT --repo ORG/NAME   upload a finished build to the Hub in one atomic commit
    vgdata export molmo2 OUT --to DIR    lay a build out where Molmo2's own code reads it (--list: its names)
    vgdata serve CONFIG.yaml [--cron]    scheduled builds as Prefect deployments

This module parses arguments and calls the code each command drives; it does nothing else.
`convert` and `build` run `flows.run.run` (the Prefect `build` flow, or `--runner local`: the
same build without Prefect).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

from pipeline.config import BuildConfig, SourceSpec, build, check_config, load_config
from pipeline.errors import VgdataError
from pipeline.stages.segmenters.base import SegmenterSettings


def _parse_option(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--option takes KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    try:
        return k, json.loads(v)
    except json.JSONDecodeError:
        return k, v


def _parse_rates(text: str) -> int | tuple[int, ...]:
    try:
        rates = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sampling-fps takes whole numbers, e.g. 2 or 1,2; got {text!r}") from None
    return rates[0] if len(rates) == 1 else rates


def _parse_workers(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers takes a whole number or auto; got {text!r}") from None


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runner", choices=["prefect", "local", "ray"], default="prefect",
                   help="prefect: run as the Prefect 'build' flow (default); local: same stages in a plain loop; "
                        "ray: the Prefect flow with its per-video tasks on a Ray cluster")
    p.add_argument("--ray-address", help="with --runner ray: 'auto' (the cluster this machine is in), "
                                         "ray://HEAD:10001, or unset to start a local Ray instance")
    p.add_argument("--workers", type=_parse_workers, help="videos processed at once, each in a worker process "
                                                          "(default 1; auto: one per core, or per GPU with SAM 2)")
    p.add_argument("--no-resume", action="store_true", help="recompute every video instead of reusing OUT/.work results")
    p.add_argument("--videos", choices=["encode", "skip"],
                   help="encode: write the H.264 videos the rows name (default); skip: write rows only")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vgdata", description="Build AcademicVideoPoint and AcademicVideoTrack datasets.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write the bundled synthetic sample (SA-V, MOTChallenge and LaSOT layouts)",
                       description="Write the bundled synthetic sample: small deterministic videos in the real "
                                   "layouts of SA-V, MOTChallenge and LaSOT, with true masks under DIR/_truth.")
    p.add_argument("dir", help="where to write the sample")
    p.add_argument("--force", action="store_true", help="rewrite it even if a complete sample is already there")

    p = sub.add_parser("sources", help="list every supported source: kind, licence, what it builds, the real file "
                       "or the two readers its layout was checked against",
                       description="List every source vgdata converts (data_manifests/).")
    p.add_argument("--markdown", action="store_true", help="print the README's table of what each layout was checked against")

    from pipeline.sources import sources

    try:
        SOURCES = sources()
    except VgdataError:  # nothing registered (vgdata not installed): the command says so when it runs
        SOURCES = {}

    p = sub.add_parser("pull", help="download a source as its data manifest lists it (resumable, checked)",
                       description="Download a source's files into DIR: resumable HTTP downloads checked against "
                                   "their size and sha256, safe archive extraction, Hub files through "
                                   "huggingface_hub; sources behind a licence form print what to do.")
    p.add_argument("source", choices=sorted(SOURCES) or None, help="source name (see `vgdata sources`)")
    p.add_argument("--to", required=True, help="folder to download into (then use it as --root)")
    p.add_argument("--force", action="store_true", help="download again even what is complete")

    p = sub.add_parser("publish", help="upload a finished build to the Hugging Face Hub in one atomic commit",
                       description="Check a finished build (shards, counts, card) and publish it to a Hub dataset "
                                   "repo: changed files are uploaded, stale shards deleted, all in one commit "
                                   "(or one pull request). The token comes from HF_TOKEN or `hf auth login`.")
    p.add_argument("out", help="the build's output folder")
    p.add_argument("--repo", help="Hub dataset repo, ORG/NAME (created if missing); the vgdata layout")
    p.add_argument("--layout", choices=["vgdata", "molmo2"], default="vgdata",
                   help="vgdata: one repository, a config per dataset and source (default); molmo2: the repositories "
                        "allenai/molmo2's classes download from (ORG/molmo2-mevis, ORG/molmo2-single-object-track, "
                        "ORG/molmo2-academic-video-points, ...), so that pointing a class's HF_SOURCE at ORG is the "
                        "only change")
    p.add_argument("--org", help="with --layout molmo2: the organisation (or user) the repositories go to")
    p.add_argument("--revision", default="main", help="branch to commit to (created if missing; default main)")
    p.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing to the branch")
    p.add_argument("--private", action="store_true", help="create the repo private (an existing repo keeps its visibility)")
    p.add_argument("--dry-run", action="store_true", help="print what would be uploaded and deleted; send nothing")
    p.add_argument("--no-audit", action="store_true", help="skip `vgdata audit` before publishing (sources gone)")
    p.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)")

    p = sub.add_parser("export", help="lay a finished build out where a trainer's own code reads it (molmo2)",
                       description="Lay a finished build out in DIR where allenai/molmo2's own training code looks: "
                                   "with MOLMO_DATA_DIR=DIR its get_dataset_by_name(NAME, SPLIT) reads every row of "
                                   "the build that NAME covers (datasets.save_to_disk copies of the rows, the videos "
                                   "hard-linked, evaluation masks as MasksRLE files). --list prints every Molmo2 name "
                                   "with what fills it, or why nothing does.")
    p.add_argument("format", choices=["molmo2"], help="whose layout (molmo2: allenai/molmo2)")
    p.add_argument("out", nargs="?", help="the build's output folder")
    p.add_argument("--to", metavar="DIR", help="where to write (new, empty, or an earlier export's); then MOLMO_DATA_DIR=DIR")
    p.add_argument("--list", nargs="?", const="", metavar="OUT", help="print every Molmo2 academic name with the source, "
                   "task, split and rate that fill it, or why nothing does (with OUT: the rows OUT holds for each)")
    _add_root_args(p)

    p = sub.add_parser("audit", help="check every row of a build against its sources (exit 1 on any violation)",
                       description="Re-read the sources a build names (or --source NAME --root DIR) and check "
                                   "every row: points inside their object's mask (and box), counts, timestamps on "
                                   "the grid, answers that parse back to the row's points, unique ids, shard "
                                   "sizes, hashes and row counts. Prints a table and each violation.")
    p.add_argument("out", help="the build's output folder")
    _add_root_args(p)

    p = sub.add_parser("report", help="write OUT/report/index.html: numbers, plots and previews of a build",
                       description="A static page (open it from disk) with the build's numbers per source, plots "
                                   "(counts, objects per query, track lengths, IoU, re-prompts, point offsets, first "
                                   "appearance) and previews of a seeded sample of rows drawn on their frames.")
    p.add_argument("out", help="the build's output folder")
    p.add_argument("--rows", type=int, default=3, help="rows previewed per source and dataset (default 3)")
    p.add_argument("--seed", type=int, default=0, help="which rows are previewed")
    _add_root_args(p)

    p = sub.add_parser("eval", help="score a model's predictions against a build (Molmo2's metrics)",
                       description="Score predictions (JSON lines {\"id\": ROW_ID, \"prediction\": TEXT}, TEXT in "
                                   "Molmo2's plain-text format) against the rows of a build: count accuracy and close "
                                   "accuracy, point precision/recall/F1 (Hungarian matching, hits inside the true "
                                   "mask), per-frame point-in-mask track F1. Masks are read from the build's sources.")
    p.add_argument("predictions", help="JSON lines file of predictions")
    p.add_argument("--against", required=True, metavar="OUT", help="the build's output folder")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    _add_root_args(p)

    p = sub.add_parser("serve", help="serve scheduled builds as Prefect deployments (needs `prefect server start`)",
                       description="Register the build flow (and build-and-publish with --publish-to) as Prefect "
                                   "deployments with a cron schedule and run their flow runs in this process "
                                   "until stopped. Needs PREFECT_API_URL pointing at `prefect server start`.")
    p.add_argument("config", help="path to the YAML build config (read again at every run)")
    p.add_argument("--cron", default="0 3 * * 0", help="schedule, cron syntax (default: Sundays 03:00, %(default)r)")
    p.add_argument("--name", default="scheduled", help="deployment name (default %(default)s)")
    p.add_argument("--publish-to", metavar="ORG/NAME", help="schedule build-and-publish to this Hub repo instead "
                   "(with --layout molmo2: to this organisation, as Molmo2's repositories)")
    p.add_argument("--layout", choices=["vgdata", "molmo2"], default="vgdata", help="how --publish-to publishes "
                   "(see `vgdata publish --layout`)")
    p.add_argument("--revision", default="main", help="branch to publish to (default main)")
    p.add_argument("--create-pr", action="store_true", help="publish as a pull request")

    p = sub.add_parser("convert", help="build both datasets from one source dataset on disk",
                       description="Convert one source dataset on disk into AcademicVideoPoint/AcademicVideoTrack shards.")
    p.add_argument("source", choices=sorted(SOURCES) or None, help="source name (see `vgdata sources`)")
    p.add_argument("--root", required=True, help="the source dataset's root folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--split", default="train", help="split to convert (default train)")
    p.add_argument("--segmenter", choices=["sam2", "grabcut"], default="sam2",
                   help="box-to-mask segmenter for box sources (default sam2; grabcut needs no GPU or weights)")
    p.add_argument("--checkpoint", help="SAM 2 checkpoint (.pt), required with --segmenter sam2 for box sources")
    p.add_argument("--model-config", default=SegmenterSettings.model_config,
                   help="SAM 2 model config name matching the checkpoint (default %(default)s)")
    p.add_argument("--image-size", type=int, help="SAM 2 input size override (default: the config's, 1024)")
    p.add_argument("--device", default="auto", help="auto (cuda if available, else cpu), cuda, cuda:1, cpu")
    p.add_argument("--sampling-fps", type=_parse_rates, default=2, metavar="FPS[,FPS]",
                   help="frames per second sampled (default 2); several, e.g. 1,2: track rows at each rate over "
                        "the same videos, written at the highest")
    p.add_argument("--seed", type=int, default=0, help="seed for point sampling and question choice")
    p.add_argument("--limit", type=int, help="convert only the first N videos")
    p.add_argument("--option", action="append", type=_parse_option, default=[], metavar="KEY=VALUE",
                   help="converter option, e.g. min_visibility=0.5 (mot), include_auto=true (sav); "
                        "unknown options are refused")
    _add_run_args(p)

    p = sub.add_parser("build", help="build from a YAML config listing sources, roots and settings",
                       description="Build from a YAML config (see flows/configs/demo.yaml).")
    p.add_argument("config", help="path to the YAML build config")
    p.add_argument("--out", help="override the config's output folder")
    _add_run_args(p)
    for p in sub.choices.values():
        _add_output_args(p)
    return parser


def _add_root_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", action="append", default=[], help="a source whose root moved (with --root)")
    p.add_argument("--root", action="append", default=[], help="where --source's files are now")


def _roots(a: argparse.Namespace) -> dict[str, str]:
    from pipeline.quality.audit import parse_overrides

    if len(a.source) != len(a.root):
        raise VgdataError("give --source NAME and --root DIR in pairs")
    return parse_overrides(list(zip(a.source, a.root)))


def _add_output_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output")
    g.add_argument("--quiet", action="store_true", help="no progress bars or progress lines (errors still shown)")
    g.add_argument("--verbose", action="store_true", help="one line per video instead of a progress bar")
    g.add_argument("--debug", action="store_true", help="show Python and Prefect tracebacks of errors")


def _apply_output_args(a: argparse.Namespace) -> None:
    """Progress mode for this process and its workers; tracebacks off the terminal unless --debug."""
    from pipeline.progress import set_mode

    if a.quiet and a.verbose:
        raise VgdataError("--quiet and --verbose contradict each other; give one")
    set_mode("quiet" if a.quiet else "verbose" if a.verbose else os.environ.get("VGDATA_PROGRESS", "auto"))
    os.environ["VGDATA_HIDE_TRACEBACKS"] = "0" if a.debug else "1"


OUTPUT_ENV = ("VGDATA_PROGRESS", "VGDATA_HIDE_TRACEBACKS")


def config_from_convert_args(a: argparse.Namespace) -> BuildConfig:
    seg = build(SegmenterSettings, "segmenter", name=a.segmenter, checkpoint=a.checkpoint,
                model_config=a.model_config, image_size=a.image_size, device=a.device)
    spec = build(SourceSpec, "source", name=a.source, root=a.root, split=a.split,
                 options=tuple(sorted(a.option)), limit=a.limit)
    cfg = build(BuildConfig, "options", out=a.out, sources=(spec,), sampling_fps=a.sampling_fps, seed=a.seed,
                segmenter=seg)
    return check_config(cfg, "options")


def _with_run_args(cfg: BuildConfig, a: argparse.Namespace) -> BuildConfig:
    changes = {}
    if getattr(a, "out", None) and a.command == "build":
        changes["out"] = a.out
    if a.workers is not None:
        changes["workers"] = a.workers
    if a.no_resume:
        changes["resume"] = False
    if a.videos:
        changes["videos"] = a.videos
    return build(lambda **kw: dataclasses.replace(cfg, **kw), "options", **changes)


def main(argv: list[str] | None = None) -> int:
    """The command; what it sets in the environment for its workers is put back when it returns
    (`main` is also called in-process, by tests and by Python callers)."""
    saved = {k: os.environ.get(k) for k in OUTPUT_ENV}
    try:
        return _main(argv)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _apply_output_args(args)
        if args.command == "sample":
            from pipeline.sample.data import sample_command

            return sample_command(args.dir, force=args.force)
        if args.command == "sources":
            from pipeline.sources.registry import print_sources

            print_sources(markdown=args.markdown)
            return 0
        if args.command == "pull":
            from pipeline.ops.pull import pull_command

            return pull_command(args.source, args.to, force=args.force, quiet=args.quiet)
        if args.command == "serve":
            from flows.serve import serve_deployments

            serve_deployments(args.config, args.cron, args.name, args.publish_to, args.revision, args.create_pr,
                              args.layout)
            return 0
        if args.command == "report":
            from pipeline.report import build_report

            path = build_report(args.out, rows_per_source=args.rows, seed=args.seed, overrides=_roots(args))
            print(f"report: {path}")
            return 0
        if args.command == "eval":
            from pipeline.metrics import eval_command

            return eval_command(args.predictions, args.against, as_json=args.json, overrides=_roots(args))
        if args.command == "export":
            from pipeline.ops.export import export_command, list_command

            if args.list is not None:
                return list_command(args.list or args.out)
            if not args.out or not args.to:
                raise VgdataError("vgdata export molmo2 OUT --to DIR (or --list)")
            return export_command(args.out, args.to, _roots(args))
        if args.command == "audit":
            from pipeline.quality.audit import audit_command

            return audit_command(args.out, _roots(args))
        if args.command == "publish":
            from pipeline.ops.publish import publish, publish_molmo2

            kw = dict(revision=args.revision, create_pr=args.create_pr, private=args.private, dry_run=args.dry_run,
                      endpoint=args.endpoint, run_audit=not args.no_audit)
            if args.layout == "molmo2":
                if not args.org or args.repo:
                    raise VgdataError("--layout molmo2 takes --org ORG (the repositories are named as Molmo2's), not --repo")
                publish_molmo2(args.out, args.org, **kw)
            else:
                if not args.repo or args.org:
                    raise VgdataError("give --repo ORG/NAME (or --layout molmo2 --org ORG)")
                publish(args.out, args.repo, **kw)
            return 0
        from flows.run import run, server_for

        with server_for(args.runner) as server:  # a temporary Prefect server boots while the rest is prepared
            cfg = config_from_convert_args(args) if args.command == "convert" else load_config(args.config)
            if args.ray_address and args.runner != "ray":
                raise VgdataError("--ray-address needs --runner ray")
            summary = run(_with_run_args(cfg, args), args.runner, args.ray_address, server)
        return 0 if any(s["videos_ok"] for s in summary["sources"].values()) else 1
    except VgdataError as e:
        print(f"vgdata: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the machine, not the input: a full disk, a vanished mount
        where = f"{e.filename}: " if e.filename else ""
        print(f"vgdata: error: {where}{e.strerror or e} (the build can be resumed once this is fixed)", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - a bug of ours: one line, the traceback with --debug
        if args.debug:
            raise
        print(f"vgdata: error: unexpected {type(e).__name__}: {e} (this is a bug in vgdata; "
              "run again with --debug for the traceback and report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
