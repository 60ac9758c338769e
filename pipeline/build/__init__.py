"""A whole build, in plain Python: `run.py` (preflight -> discover -> videos -> outputs, the one
orchestration every runner shares), `runner.py` (how videos are mapped: threads here, Prefect tasks
or Ray in `flows/build.py`), `video.py` (one video's job through the stages, cached under
OUT/.work) and `write.py` (shards, logs, manifest and card from the videos' parts)."""

from pipeline.build.run import (
    check_before_start,
    check_out,
    describe_start,
    discover,
    preflight,
    report_result,
    run_build,
    unique_refs,
)
from pipeline.build.runner import LocalRunner, batches, process_batch, process_ref, with_retries
from pipeline.build.write import format_summary, write_outputs
from pipeline.outputs.lock import out_lock, sweep_temp

__all__ = ["LocalRunner", "batches", "check_before_start", "check_out", "describe_start", "discover", "format_summary",
           "out_lock", "preflight", "process_batch", "process_ref", "report_result", "run_build", "sweep_temp",
           "unique_refs", "with_retries", "write_outputs"]
