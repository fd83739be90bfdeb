"""Exit codes, one-line errors, JSON and terminal output, progress bars shared by the commands."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_CONSTRAINT = 3
EXIT_INFEASIBLE = 4

EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 internal error (a bug: please report); 2 bad input (malformed YAML, wrong type, unknown "
    "key or registry name, invalid layout); 3 a scenario constraint is violated (deadline, budget, carbon, "
    "memory, GPUs), or optimize found no configuration meeting them; 4 infeasible layout (does not fit in device "
    "memory). With --json, the result (or {\"status\": \"error\", \"error\": {...}}) is printed on stdout and "
    "\"exit_code\" repeats the code; messages go to stderr."
)

STATUS_CODE = {"ok": EXIT_OK, "constraint_violated": EXIT_CONSTRAINT, "infeasible": EXIT_INFEASIBLE}


class Failure(Exception):
    """Stop a command with a one-line message and an exit code."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT, kind: str = "bad_input"):
        super().__init__(message)
        self.code, self.kind = code, kind


def one_line(msg: str) -> str:
    """Several lines become one, joined by '; ' (messages are one line on stderr and in JSON)."""
    lines = [" ".join(line.split()) for line in str(msg).splitlines()]
    return "; ".join(line for line in lines if line)


def gb(nbytes: float) -> str:
    """A capacity in GB as a reader wants it: whole GB from 10 up (an H100's 86), 3 digits below (a
    microcontroller's 0.00131, which printed as 0)."""
    v = nbytes / 1e9
    return f"{v:.0f}" if v >= 10 else f"{v:.3g}"


def err(msg: str, prefix: str = "error"):
    print(f"mlsysim: {prefix}: {one_line(msg)}", file=sys.stderr)


def emit_json(obj):
    from ._json import dumps
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()


@contextmanager
def guarded(command: str, json_out: bool):
    """Map the package's exceptions to one-line messages and documented exit codes (typer.Exit)."""
    import typer

    import warnings

    from ..errors import ConfigError, InfeasibleError, InfeasibleResultWarning
    # the commands report an infeasible layout themselves (status, exit code 4); no Python warning lines
    warnings.simplefilter("ignore", InfeasibleResultWarning)
    code, kind, msg = None, None, None
    try:
        yield
    except typer.Exit:
        raise
    except BrokenPipeError:
        _quiet_exit_on_broken_pipe()
    except Failure as exc:
        code, kind, msg = exc.code, exc.kind, str(exc)
    except ConfigError as exc:
        code, kind, msg = EXIT_BAD_INPUT, "bad_input", str(exc)
    except InfeasibleError as exc:
        code, kind, msg = EXIT_CONSTRAINT, "no_feasible_configuration", str(exc)
    except OSError as exc:
        code, kind, msg = EXIT_BAD_INPUT, "io", f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}"
    except KeyboardInterrupt:
        err("interrupted")
        raise typer.Exit(130)
    if code is not None:
        if json_out:
            from ._json import error_dict
            emit_json(error_dict(command, kind, one_line(msg), code))
        err(msg, "error" if code == EXIT_BAD_INPUT else "no plan" if code == EXIT_CONSTRAINT else "error")
        raise typer.Exit(code)


def console(stderr: bool = False):
    """A rich console; when the output is not a terminal (a pipe, a file) tables get 160 columns, not 80."""
    stream = sys.stderr if stderr else sys.stdout
    enc = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    if enc and enc != "utf8" and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="replace")  # an ASCII-only terminal gets '?' for bars and symbols, not a crash
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 160
    return _console_class()(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def _quiet_exit_on_broken_pipe():
    """The reader closed the pipe (`mlsysim zoo models | head -2`): stop quietly with 0, as `cat` does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(EXIT_OK)


_CONSOLE = []


def _console_class():
    """rich's Console, except that a closed pipe exits 0 quietly (rich's own default exits 1); built on first
    use, so importing this module does not import rich."""
    if not _CONSOLE:
        from rich.console import Console

        class QuietPipeConsole(Console):
            def on_broken_pipe(self):
                _quiet_exit_on_broken_pipe()
        _CONSOLE.append(QuietPipeConsole)
    return _CONSOLE[0]


def progress_enabled(json_out: bool) -> bool:
    return not json_out and sys.stderr.isatty() and not os.environ.get("MLSYSIM_NO_PROGRESS")


@contextmanager
def progress(total: int, description: str, enabled: bool):
    """A rich progress bar on stderr (transient); yields an `advance(n=1)` callable. No-op when disabled."""
    if not enabled:
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
