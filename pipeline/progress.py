"""Progress of long work (videos processed, shards written, files uploaded), shown the way the place
it runs in can take it:

- `bar`: a rich progress bar (count, rate, ETA) on a terminal. Messages printed while it runs
  (a rejected video) appear above it. Under Prefect it draws on Prefect's own console, so Prefect's
  log lines and the bar do not tear each other apart.
- `lines`: off a terminal (CI, a Prefect worker's log, a file), a plain line every 10 % of the work
  (at most one per 2 s; a stage done in under 2 s prints nothing) and at least one a minute: a few
  lines per build, not one per video.
- `quiet` (`--quiet`): no progress at all; what went wrong is still printed.
- `verbose` (`--verbose`): one line per item, as earlier versions printed.

The mode comes from `VGDATA_PROGRESS` (auto, bar, lines, quiet, verbose; the CLI sets it from its
flags), so that Prefect's worker threads and Ray's workers see the same choice as the command.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator

MODES = ("auto", "bar", "lines", "quiet", "verbose")
ENV = "VGDATA_PROGRESS"
LINE_EVERY_FRACTION = 0.10
LINE_EVERY_SECONDS = 60.0
LINE_MIN_SECONDS = 2.0


def mode() -> str:
    m = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if m not in MODES:
        raise ValueError(f"{ENV}={m!r}: expected one of {', '.join(MODES)}")
    if m == "auto":
        return "bar" if sys.stderr.isatty() else "lines"
    return m


def set_mode(m: str) -> None:
    if m not in MODES:
        raise ValueError(f"progress mode {m!r}: expected one of {', '.join(MODES)}")
    os.environ[ENV] = m


def _eta(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _prefect_console():
    """The rich Console Prefect's console log handler prints on, when Prefect is logging here."""
    for name in ("prefect", ""):
        for h in logging.getLogger(name).handlers:
            console = getattr(h, "console", None)
            if console is not None and type(h).__name__ == "PrefectConsoleHandler":
                return console
    return None


class Progress:
    """Counts `total` items of `label` ("videos"); `advance()` one at a time, `note(msg)` for
    something the user must see whatever the mode (a reject)."""

    def __init__(self, total: int, label: str, unit: str, echo: Callable[[str], None], how: str):
        self.total, self.label, self.unit, self.echo, self.how = total, label, unit, echo, how
        self.done = 0
        self.t0 = time.perf_counter()
        self._last_line_at, self._last_line_done = self.t0, 0
        self._bar = self._task = None
        self._note_via_echo = True
        self._lines = 0

    # -- the three ways of showing it -------------------------------------------------------------
    def _start_bar(self, stack: contextlib.ExitStack) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        prefect_console = _prefect_console()
        # On Prefect's console a message goes through `echo` (Prefect's logger: its UI gets it too) and
        # rich prints it above the bar; on our own console it is printed on it directly.
        self._note_via_echo = prefect_console is not None
        console = prefect_console or Console(stderr=True)
        if prefect_console is not None:  # Prefect's theme lacks the bar's styles: lend rich's own
            from rich.default_styles import DEFAULT_STYLES
            from rich.theme import Theme

            console.push_theme(Theme({k: v for k, v in DEFAULT_STYLES.items() if k.startswith(("bar.", "progress."))}))
            stack.callback(console.pop_theme)
        self._bar = stack.enter_context(RichProgress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=False))
        self._task = self._bar.add_task(self.label, total=self.total, rate="")

    def _line(self, now: float) -> str:
        elapsed = max(now - self.t0, 1e-9)
        rate = self.done / elapsed
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = f", ETA {_eta((self.total - self.done) / rate)}" if rate > 0 and self.done < self.total else ""
        return (f"{self.label}: {self.done}/{self.total} {self.unit} ({pct:.0f}%), {rate:.2f} {self.unit}/s, "
                f"{_eta(elapsed)} elapsed{eta}")

    def advance(self, detail: str | None = None, n: int = 1) -> None:
        """`n` more items done; `detail` describes the item (shown in verbose mode)."""
        self.done += n
        now = time.perf_counter()
        if self.how == "bar":
            rate = self.done / max(now - self.t0, 1e-9)
            self._bar.update(self._task, advance=n, rate=f"{rate:.2f} {self.unit}/s")
        elif self.how == "verbose":
            if detail:
                self.echo(f"[{self.done}/{self.total}] {detail}")
        elif self.how == "lines":
            # A line per 10 % of the work, no more often than every LINE_MIN_SECONDS (a fast stage
            # prints its last line only), and at least one a minute on a slow one.
            since = now - self._last_line_at
            step = self.done - self._last_line_done >= max(1, int(self.total * LINE_EVERY_FRACTION))
            last = self.done >= self.total
            if (last and (self._lines or now - self.t0 >= LINE_MIN_SECONDS)) or (step and since >= LINE_MIN_SECONDS) \
                    or since >= LINE_EVERY_SECONDS:
                self.echo(self._line(now))
                self._lines += 1
                self._last_line_at, self._last_line_done = now, self.done

    def note(self, message: str) -> None:
        """A message the user must see in every mode (printed above the bar when there is one)."""
        if self.how == "bar" and not self._note_via_echo:
            self._bar.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            self.echo(message)


@contextlib.contextmanager
def progress(total: int, label: str, unit: str = "videos", echo: Callable[[str], None] | None = None,
             how: str | None = None) -> Iterator[Progress]:
    """A `Progress` of `total` items for the length of the `with` block. `echo` defaults to the
    `print` of the moment (inside a Prefect flow with log_prints, Prefect's: its log gets the lines)."""
    p = Progress(total, label, unit, echo or (lambda msg: builtins.print(msg)), how or mode())
    with contextlib.ExitStack() as stack:
        if p.how == "bar" and total > 0:
            p._start_bar(stack)
        elif p.how == "bar":
            p.how = "quiet"
        yield p
