"""`python -m mlsysim validate`: the published-runs error tables (works without the CLI extras)."""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        from .cli.main import app
    except ImportError:
        app = None
    # validate works without the CLI extras; with them, no command is the command list (as `mlsysim` alone), not
    # 150 lines of validation tables
    if argv in (["validate"], ["validate", "--wide"]) or (argv == [] and app is None):
        from .validation import format_sections
        print(format_sections(wide="--wide" in argv))
        return 0
    if app is None:
        print("usage: python -m mlsysim validate   (install mlsysim[cli] for the full command line)")
        return 2
    return app(args=argv, prog_name="python -m mlsysim")


if __name__ == "__main__":
    sys.exit(main())
