"""`vgdata serve CONFIG.yaml`: scheduled builds as Prefect deployments served from this process.

`serve` registers the `build` flow (and, with `--publish-to`, the `build-and-publish` flow) as
deployments on the Prefect server named by PREFECT_API_URL, with a cron schedule, and runs their
flow runs here until stopped. The config is passed by path, so each run reads the YAML as it is
then. Schedules need a real server (`prefect server start`): Prefect's temporary server ignores
them, so `serve` refuses to start without PREFECT_API_URL rather than pretend. For a process work
pool on a GPU host instead of a serving process, see flows/prefect.yaml.
"""

from __future__ import annotations

import os

from flows.build import build_and_publish_flow, build_flow, ensure_limit
from pipeline.config import load_config
from pipeline.errors import ConfigError

NO_SERVER = ("schedules need a real Prefect server, and PREFECT_API_URL is not set (Prefect's temporary "
             "server ignores schedules). Start one with `prefect server start`, then "
             "`export PREFECT_API_URL=http://127.0.0.1:4200/api` and run this again.")


def deployments(config_path: str, cron: str | None, name: str = "scheduled", repo: str | None = None,
                revision: str = "main", create_pr: bool = False, layout: str = "vgdata") -> list:
    """The deployments `serve` registers: the schedule goes on build-and-publish when publishing
    (one scheduled build, not two), on build otherwise; the other is there to run by hand."""
    load_config(config_path)  # a bad config fails here, not at 3 a.m.
    if repo and (layout == "molmo2") == ("/" in repo):
        raise ConfigError(f"--publish-to {repo!r}: " + ("with --layout molmo2 give the organisation alone (the "
                          "repositories are named as Molmo2's)" if layout == "molmo2" else "give ORG/NAME"))
    path = os.path.abspath(config_path)
    out = [build_flow.to_deployment(name=name, cron=None if repo else cron, parameters={"config": path},
                                    description=f"Build from {path}")]
    if repo:
        out.append(build_and_publish_flow.to_deployment(
            name=name, cron=cron, parameters={"config": path, "repo": repo, "revision": revision,
                                              "create_pr": create_pr, "layout": layout},
            description=f"Pull, build from {path}, check, publish to {repo}@{revision}"
                        + (" as Molmo2's repositories" if layout == "molmo2" else "")))
    return out


def gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except ImportError:
        return 0


def serve_deployments(config_path: str, cron: str | None, name: str = "scheduled", repo: str | None = None,
                      revision: str = "main", create_pr: bool = False, layout: str = "vgdata") -> None:
    from prefect import serve
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise ConfigError(NO_SERVER)
    deps = deployments(config_path, cron, name, repo, revision, create_pr, layout)
    for i in range(gpu_count()):
        ensure_limit(f"gpu-{i}")
    for d in deps:
        when = f"on cron {cron!r}" if d.schedules else "when triggered"
        print(f"serving {d.flow_name}/{d.name} {when}: prefect deployment run '{d.flow_name}/{d.name}'")
    serve(*deps)
