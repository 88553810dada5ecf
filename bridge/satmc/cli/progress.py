"""Progress bars for what can take more than a second on a 100 kHz bus or a slow link.

    with Progress("reading SDRs", unit="record") as bar:
        client.raw_records(progress=bar.update)       # update(done, total)

Drawn with tqdm on stderr, only when stderr is a terminal: into a pipe, a file or a
test's capture nothing is written, so scripts parse the same output with and without
it. The bar is cleared when the work ends.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

DEFAULT_SIZE = os.terminal_size((80, 24))  # a terminal that reports none (a bare pty)


def shown() -> bool:
    """Bars are drawn: stderr is a terminal."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    def __init__(self, what: str, unit: str = "it", total: int | None = None):
        self.what, self.unit, self.total = what, unit, total
        self._bar = None

    def __enter__(self) -> Progress:
        if shown():
            try:
                size = os.get_terminal_size(sys.stderr.fileno())
            except OSError:
                size = DEFAULT_SIZE
            sized = size.columns > 0 and size.lines > 0  # tqdm draws nothing in 0 lines
            self._bar = tqdm(
                desc=self.what,
                unit=self.unit,
                total=self.total,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=sized,  # follows a resized window
                ncols=None if sized else DEFAULT_SIZE.columns,
                nrows=None if sized else DEFAULT_SIZE.lines,
            )
        return self

    def update(self, done: int, total: int | None = None) -> None:
        """done of total (total: unchanged when None)."""
        bar = self._bar
        if bar is None:
            return
        if total is not None and total != bar.total:
            bar.total = total
        bar.n = done
        bar.refresh()

    def print(self, line: str) -> None:
        """A line of output on stdout, above the bar while one is drawn."""
        if self._bar is None:
            print(line, flush=True)
        else:
            tqdm.write(line, file=sys.stdout)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
