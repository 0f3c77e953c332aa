"""Run the installed `punchgate` console script, reporting each connection pool and Alembic run.

Usage: python -m tests.serve_probe ARGS... (from the checkout; the arguments of `punchgate`).
Only observes: a SQLAlchemy pool event prints one line per pool that opens its first
connection in this process, and Alembic's own announcement of each run ("Context impl …",
which collector.logs quiets with the rest of alembic's INFO lines) is let through.
"""

from __future__ import annotations

import logging
import os
import runpy
import sys
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.pool import Pool

PROBE = "serve-probe:"


def _first_connect(_dbapi_connection: object, _record: object) -> None:
    print(f"{PROBE} pool opened in pid {os.getpid()}", file=sys.stderr, flush=True)


def main() -> None:
    """Install the observers, then run the console script as its own `__main__`."""
    event.listen(Pool, "first_connect", _first_connect)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)
    script = Path(sys.executable).parent / "punchgate"
    sys.argv = [str(script), *sys.argv[1:]]
    runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":
    main()
