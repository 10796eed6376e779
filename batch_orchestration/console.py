"""The console the commands print through, readable at any width.

On a terminal, rich fits it. Elsewhere (CI's log, a file, a pipe) rich would assume 80 columns, cutting
tables and breaking a long path mid-word; there it is given room instead, and lines are not wrapped.
``COLUMNS`` still decides where it is set.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

OFF_TERMINAL_WIDTH = 200


def output_console() -> Console:
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=OFF_TERMINAL_WIDTH, soft_wrap=True)
