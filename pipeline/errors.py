"""Error types that decide what happens to a failure.

`SourceError` is bad input: the video is rejected with the file and the problem recorded, and the
build goes on. `TransientError` is worth retrying (the Prefect flow retries it). Anything else is a
bug and fails loudly.
"""

from __future__ import annotations


class VgdataError(Exception):
    """Base class for errors this project raises on purpose."""


class SourceError(VgdataError):
    """A source file is missing, unreadable or malformed. Names the file and the problem."""

    def __init__(self, path: str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(VgdataError):
    """The build configuration or a command-line setting is unusable."""


class SamplingError(VgdataError):
    """The requested sampling rate cannot be served by the source's annotation rate."""


class TransientError(VgdataError):
    """A failure that may pass on retry (e.g. a flaky network filesystem read)."""
