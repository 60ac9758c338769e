"""`vgdata publish OUT --repo ORG/NAME`: put a finished build on the Hugging Face Hub, atomically.

What goes up: the card (`README.md`), `build_manifest.json`, `summary.json`, `rejects.parquet`,
`tracks.parquet`, `masks.parquet`, every shard and every video the manifest lists; never `.work/`, locks or anything
else under OUT. Before anything is sent the build is checked (`check_build`): every shard the
manifest lists is there with its size, sha256 and row count, the summary's row totals reconcile
with the shards, and the card's configs cover every shard exactly once; then `vgdata audit` checks
every row against its sources. A build that fails a check or its audit is not published.

How (huggingface_hub 2.x, which has no `upload_large_folder`): the remote tree at the branch head is
compared with the build (LFS sha256, or git blob id for small files), then the new and changed files
are uploaded with `preupload_lfs_files` (bytes stored, invisible to readers) and one `create_commit`
with `parent_commit` adds them and deletes the remote dataset files the build no longer has (stale
shards of a rebuilt split). Readers of the branch see the old build or the new one, never a mix.
If the branch moved meanwhile (HTTP 412) the plan is redone against the new head; uploaded objects
are not sent again (the LFS batch answers that the Hub has them), which is also how an interrupted
publish resumes. 429, 5xx and dropped connections are retried with jittered backoff; 401, 403 and
413 fail at once. After the commit the remote tree is read back and every file's size and hash is
compared with the build. An unchanged build makes no commit and uploads nothing.

The token is the Hub client's own (HF_TOKEN or `hf auth login`): it is never printed, and any
message that could carry it is redacted.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Callable

from pipeline.errors import VgdataError
from pipeline.outputs import manifest as outputs_manifest
from pipeline.outputs.manifest import HashCache
from pipeline.quality.files import TOP_FILES, check_build
from pipeline.progress import progress

MANAGED = ("AcademicVideoPoint/", "AcademicVideoTrack/", "AcademicVideoGround/")  # remote files here that the build lacks are stale
RETRY_STATUS = {429, 500, 502, 503, 504}
FATAL_STATUS = {401: "the Hub refused the token (401): set HF_TOKEN or run `hf auth login`",
                403: "the token may not write to this repo (403)",
                413: "the Hub refused a file as too large (413)"}


class PublishError(VgdataError):
    """A build that may not be published, or a Hub answer that stops the publish."""


@dataclass(frozen=True)
class LocalFile:
    path: str  # path in the repo
    full: str
    size: int
    sha256: str


@dataclass
class Plan:
    repo: str
    revision: str
    parent: str | None
    add: list[LocalFile] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    remote_known: bool = True
    note: str = ""

    @property
    def upload_bytes(self) -> int:
        return sum(f.size for f in self.add)

    def describe(self) -> str:
        lines = [f"{self.repo}@{self.revision}: {len(self.add)} files to upload ({self.upload_bytes / 2**20:.1f} MiB), "
                 f"{len(self.delete)} to delete, {len(self.unchanged)} unchanged"]
        if self.note:
            lines.append(f"  note: {self.note}")
        lines += [f"  upload  {f.path}  ({f.size} bytes)" for f in self.add]
        lines += [f"  delete  {p}" for p in self.delete]
        return "\n".join(lines)


@dataclass
class PublishResult:
    plan: Plan
    commit: str | None = None
    commit_url: str | None = None
    pr_url: str | None = None
    attempts: int = 0


def _redact(text: str) -> str:
    from huggingface_hub import get_token

    for secret in {get_token(), os.environ.get("HF_TOKEN"), os.environ.get("HUGGING_FACE_HUB_TOKEN")}:
        if secret:
            text = text.replace(secret, "***")
    return text


def _git_blob_id(path: str) -> str:
    import hashlib

    h = hashlib.sha1(b"blob %d\0" % os.path.getsize(path))
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# -- the build -------------------------------------------------------------------------------------------
def read_manifest(out: str) -> dict:
    return outputs_manifest.read_manifest(out, PublishError)


def local_files(out: str, manifest: dict, hashes: HashCache | None = None) -> list[LocalFile]:
    hashes = hashes or HashCache(os.path.join(out, ".work", "hashes.json"))
    files = []
    for name in TOP_FILES:
        full = os.path.join(out, name)
        files.append(LocalFile(name, full, os.path.getsize(full), hashes.sha256(full)))
    for entry in manifest.get("shards", []) + manifest.get("videos", []):
        files.append(LocalFile(entry["path"], os.path.join(out, entry["path"]), entry["bytes"], entry["sha256"]))
    hashes.save()
    return sorted(files, key=lambda f: f.path)


# -- the Hub ---------------------------------------------------------------------------------------------
def _network_errors() -> tuple:
    """Dropped connections and timeouts as the Hub client raises them (huggingface_hub 2.x uses httpx2)."""
    import httpx2

    return (ConnectionError, TimeoutError, OSError, httpx2.TransportError)


def _status(e: BaseException) -> int | None:
    response = getattr(e, "response", None)
    return getattr(response, "status_code", None)


def _retrying(what: str, fn: Callable, tries: int, base_delay: float, echo: Callable[[str], None]):
    """Run `fn`, retrying 429/5xx and dropped connections with jittered exponential backoff;
    401/403/413 and other 4xx raise a PublishError at once."""
    from huggingface_hub.errors import HfHubHTTPError

    for attempt in range(1, tries + 1):
        try:
            try:
                return fn()
            except RuntimeError as e:  # the client wraps a failed LFS upload; its cause says why
                if isinstance(e.__cause__, (HfHubHTTPError, *_network_errors())):
                    raise e.__cause__ from None
                raise
        except HfHubHTTPError as e:
            status = _status(e)
            if status in FATAL_STATUS:
                raise PublishError(f"{what}: {FATAL_STATUS[status]}: {_redact(str(e).splitlines()[0])}") from None
            if status not in RETRY_STATUS or attempt == tries:
                if status == 412:
                    raise
                raise PublishError(f"{what}: HTTP {status}: {_redact(str(e).splitlines()[0])}") from None
            reason = f"HTTP {status}"
        except _network_errors() as e:
            if attempt == tries:
                raise PublishError(f"{what}: {_redact(str(e))}") from None
            reason = type(e).__name__
        delay = base_delay * 2 ** (attempt - 1) * (1 + random.random())
        echo(f"  {what}: {reason}, retrying in {delay:.1f}s ({attempt}/{tries - 1})")
        time.sleep(delay)


def _managed(path: str, managed: tuple[str, ...] | None) -> bool:
    """A remote file the publish owns (deleted when the build no longer has it): under `managed`, or
    with None (a repository vgdata lays out whole) every file but `.gitattributes`."""
    return path != ".gitattributes" if managed is None else path.startswith(managed)


def plan_publish(api, repo: str, revision: str, files: list[LocalFile], tolerate_unreachable: bool = False,
                 managed: tuple[str, ...] | None = MANAGED) -> Plan:
    """Compare the build with the repo's tree at the branch head."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        parent = api.repo_info(repo, repo_type="dataset", revision=revision).sha
        remote = {f.path: f for f in api.list_repo_tree(repo, repo_type="dataset", revision=parent, recursive=True)
                  if hasattr(f, "blob_id")}
    except (RepositoryNotFoundError, RevisionNotFoundError):
        return Plan(repo, revision, None, add=list(files), note=f"{repo}@{revision} does not exist yet")
    except (HfHubHTTPError, *_network_errors()) as e:
        if not tolerate_unreachable:
            raise
        return Plan(repo, revision, None, add=list(files), remote_known=False,
                    note=f"could not read the repo ({_redact(str(e).splitlines()[0])}); the plan assumes it is empty")
    plan = Plan(repo, revision, parent)
    for f in files:
        r = remote.get(f.path)
        same = r is not None and r.size == f.size and (
            (r.lfs is not None and r.lfs.sha256 == f.sha256) or (r.lfs is None and r.blob_id == _git_blob_id(f.full)))
        (plan.unchanged.append(f.path) if same else plan.add.append(f))
    ours = {f.path for f in files}
    plan.delete = sorted(p for p in remote if _managed(p, managed) and p not in ours)
    return plan


def verify_remote(api, repo: str, revision: str, files: list[LocalFile],
                  managed: tuple[str, ...] | None = MANAGED) -> list[str]:
    remote = {f.path: f for f in api.list_repo_tree(repo, repo_type="dataset", revision=revision, recursive=True)
              if hasattr(f, "blob_id")}
    problems = []
    for f in files:
        r = remote.get(f.path)
        if r is None:
            problems.append(f"{f.path}: missing on the Hub")
        elif r.size != f.size:
            problems.append(f"{f.path}: {r.size} bytes on the Hub, {f.size} here")
        elif r.lfs is not None and r.lfs.sha256 != f.sha256:
            problems.append(f"{f.path}: sha256 on the Hub differs")
        elif r.lfs is None and r.blob_id != _git_blob_id(f.full):
            problems.append(f"{f.path}: content on the Hub differs")
    ours = {f.path for f in files}
    problems += [f"{p}: stale file left on the Hub" for p in remote if _managed(p, managed) and p not in ours]
    return problems


def audit_or_refuse(out: str, echo: Callable[[str], None]) -> None:
    """`vgdata audit` before anything is sent: a build whose rows disagree with their sources is
    not published."""
    from pipeline.quality.audit import audit

    report = audit(out, echo=echo, check_files=False)  # publish has just run check_build
    if not report.ok:
        found = [f"{v.check}: {v.row_id or ''} {v.detail}".strip() for v in report.violations[:10]] + report.skipped
        raise PublishError(f"{out} failed its audit, not published ({len(report.violations)} violations): "
                           + "; ".join(found) + f" (run `vgdata audit {out}` for the table)")
    echo(f"audit of {out}: every row agrees with its sources")


def publish(out: str, repo: str, *, revision: str = "main", create_pr: bool = False, private: bool = False,
            dry_run: bool = False, endpoint: str | None = None, token: str | None = None, tries: int = 6,
            base_delay: float = 1.0, echo: Callable[[str], None] = print, run_audit: bool = True) -> PublishResult:
    manifest, hashes = checked_build(out, run_audit, echo)
    files = local_files(out, manifest, hashes)
    code = (manifest.get("code") or {}).get("git_commit") or "unknown"
    return publish_files(files, repo, f"vgdata build {manifest.get('created', '')} (code {code})", managed=MANAGED,
                         revision=revision, create_pr=create_pr, private=private, dry_run=dry_run, endpoint=endpoint,
                         token=token, tries=tries, base_delay=base_delay, echo=echo)


def checked_build(out: str, run_audit: bool, echo: Callable[[str], None]) -> tuple[dict, HashCache]:
    """The manifest of a build that may be published: its files whole (`check_build`) and, with
    `run_audit`, every row agreeing with its sources."""
    manifest = read_manifest(out)
    hashes = HashCache(os.path.join(out, ".work", "hashes.json"))
    problems = check_build(out, manifest, hashes)
    if problems:
        raise PublishError(f"{out} is not published: " + "; ".join(problems[:20])
                           + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""))
    if run_audit:
        audit_or_refuse(out, echo)
    return manifest, hashes


def publish_molmo2(out: str, org: str, *, revision: str = "main", create_pr: bool = False, private: bool = False,
                   dry_run: bool = False, endpoint: str | None = None, token: str | None = None, tries: int = 6,
                   base_delay: float = 1.0, echo: Callable[[str], None] = print, run_audit: bool = True,
                   overrides: dict[str, str] | None = None) -> list[PublishResult]:
    """`vgdata publish OUT --layout molmo2 --org ORG`: the build as the repositories Molmo2's classes
    download from (`pipeline/ops/molmo2_repos.py`), each published as one atomic commit."""
    from pipeline.ops.molmo2_repos import stage_repos

    if not org or "/" in org:
        raise PublishError(f"--org {org!r}: give the organisation (or user) alone; the repositories are "
                           "named as Molmo2's (ORG/molmo2-mevis, ...)")
    manifest, hashes = checked_build(out, run_audit, echo)
    staged = stage_repos(out, overrides, echo=echo)
    if not staged:
        raise PublishError(f"{out}: no row of this build is read by a Molmo2 dataset (see `vgdata export molmo2 --list`)")
    known = {os.stat(os.path.join(out, v["path"])).st_ino: v["sha256"] for v in manifest.get("videos", [])
             if os.path.exists(os.path.join(out, v["path"]))}
    code = (manifest.get("code") or {}).get("git_commit") or "unknown"
    results = []
    for r in staged:
        files = []
        for rel in r.files():
            full = os.path.join(r.folder, rel)
            st = os.stat(full)
            files.append(LocalFile(rel, full, st.st_size, known.get(st.st_ino) or hashes.sha256(full)))
        hashes.save()
        echo(f"{org}/{r.name}: {sum(s['rows'] for c in r.configs.values() for s in c.values())} rows in "
             f"{', '.join(sorted(r.configs))}; {len(files)} files")
        results.append(publish_files(files, f"{org}/{r.name}", f"vgdata build {manifest.get('created', '')} for "
                                     f"allenai/molmo2 (code {code})", managed=None, revision=revision,
                                     create_pr=create_pr, private=private, dry_run=dry_run, endpoint=endpoint,
                                     token=token, tries=tries, base_delay=base_delay, echo=echo))
    return results


def publish_files(files: list[LocalFile], repo: str, message: str, *, managed: tuple[str, ...] | None,
                  revision: str = "main", create_pr: bool = False, private: bool = False, dry_run: bool = False,
                  endpoint: str | None = None, token: str | None = None, tries: int = 6, base_delay: float = 1.0,
                  echo: Callable[[str], None] = print) -> PublishResult:
    """`files` to `repo`@`revision` in one commit (the remote files under `managed` that are not
    among them deleted in it), resumed and retried as the module docstring says."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=endpoint, token=token)
    if dry_run:
        plan = plan_publish(api, repo, revision, files, tolerate_unreachable=True, managed=managed)
        echo("dry run, nothing sent: " + plan.describe())
        return PublishResult(plan)

    user = _retrying("who am I", api.whoami, tries, base_delay, echo)
    echo(f"publishing to {repo}@{revision} as {user.get('name', '?')}")
    _retrying("create repo", lambda: api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True),
              tries, base_delay, echo)
    if revision != "main":
        _retrying(f"create branch {revision}", lambda: api.create_branch(repo, repo_type="dataset", branch=revision,
                                                                        exist_ok=True), tries, base_delay, echo)
    for attempt in range(1, tries + 1):
        plan = _retrying("read the repo", lambda: plan_publish(api, repo, revision, files, managed=managed),
                         tries, base_delay, echo)
        if not plan.add and not plan.delete:
            echo(f"{repo}@{revision} already holds this build: nothing uploaded")
            return PublishResult(plan, commit=plan.parent, attempts=attempt)
        echo(plan.describe().splitlines()[0])
        # Operation objects are consumed by a commit: new ones for every attempt.
        adds = [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=f.full) for f in plan.add]
        # One file at a time: a progress bar that moves, and a retry that resends one file, not all.
        with progress(len(adds), "upload", unit="files", echo=echo) as bar:
            for op in adds:
                _retrying(f"upload {op.path_in_repo}", lambda op=op: api.preupload_lfs_files(
                    repo, additions=[op], repo_type="dataset", revision=revision, create_pr=create_pr),
                    tries, base_delay, echo)
                bar.advance(op.path_in_repo)
        ops = adds + [CommitOperationDelete(path_in_repo=p) for p in plan.delete]
        try:
            info = _retrying("commit", lambda: api.create_commit(
                repo, operations=ops, commit_message=message, repo_type="dataset", revision=revision,
                parent_commit=plan.parent, create_pr=create_pr), tries, base_delay, echo)
        except HfHubHTTPError as e:  # 412: the branch moved since we read it; plan again against the new head
            if _status(e) != 412 or attempt == tries:
                raise PublishError(f"commit: HTTP {_status(e)}: {_redact(str(e).splitlines()[0])}") from None
            echo(f"  {repo}@{revision} moved while publishing (412): planning again against the new head")
            continue
        where = info.pr_revision if create_pr else info.oid
        problems = verify_remote(api, repo, where, files, managed=managed)
        if problems:
            raise PublishError(f"published {info.commit_url} but it does not match the build: " + "; ".join(problems[:20]))
        echo(f"published {len(plan.add)} files, deleted {len(plan.delete)}: {info.commit_url}"
             + (f"\npull request: {info.pr_url}" if info.pr_url else ""))
        return PublishResult(plan, commit=info.oid, commit_url=info.commit_url, pr_url=info.pr_url, attempts=attempt)
    raise PublishError(f"{repo}@{revision} kept moving: gave up after {tries} attempts")
