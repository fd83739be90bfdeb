"""The progress bar of long sweeps: a line on stderr at a terminal, a tqdm widget in a notebook, else silent."""
from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress bar on stderr: configurations done, rate and ETA. Silent unless enabled."""

    def __init__(self, total: int, enabled: bool, label: str = "sweep"):
        self.total, self.enabled, self.label = max(total, 1), enabled, label
        self.done = 0
        self.t0 = self.last = time.perf_counter()
        self._bar = None
        if enabled and in_notebook():  # a notebook widget bar through tqdm.auto when installed, else none
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self.enabled = False
            else:
                self._bar = tqdm(total=self.total, desc=label, unit="config", unit_scale=True)

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < 0.2 and self.done < self.total:
            return
        self.last = now
        frac = self.done / self.total
        rate = self.done / max(now - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {frac:6.1%} {self.done:,}/{self.total:,} configs "
                         f"{rate / 1e6:.2f} M/s ETA {eta:5.1f} s")
        sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where stderr is no terminal but a progress widget can show)."""
    shell = sys.modules.get("IPython") and getattr(sys.modules["IPython"], "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress_enabled(progress, total: int) -> bool:
    """progress=None: on for sweeps of more than 10 M configurations on a terminal or in a notebook."""
    if progress is None:
        tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        return total > 10_000_000 and (tty or in_notebook())
    return bool(progress)
