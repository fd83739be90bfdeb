"""`python -m mlsysim validate`: the published-runs error tables (works without the CLI extras)."""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["validate"], []):  # works without the CLI extras; everything else goes to the CLI
        from .validation import format_sections
        print(format_sections())
        return 0
    try:
        from .cli.main import app
    except ImportError:
        print("usage: python -m mlsysim validate   (install mlsysim[cli] for the full command line)")
        return 2
    return app()


if __name__ == "__main__":
    sys.exit(main())
