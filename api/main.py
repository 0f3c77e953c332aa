"""The composition root: the `punchgate` console script.

`serve` and `demo` open the process's one store and hand it to the workers and, through
`web_app`, to the API. This module is the one place that joins the two: it sits in `api`,
the top of the import graph, because nothing may import `api`.
"""

from __future__ import annotations

from collector.cli import punchgate, run
from collector.runtime import Store
from collector.service import ASGIApp


def web_app(store: Store) -> ASGIApp:
    """The API on the serving process's store; start-up objects are frozen once it starts."""
    # Imported only when serving: the other commands would pay for FastAPI and every route.
    from api.app import create_app

    return create_app(store.settings, store, freeze=True)


def main() -> None:
    """Entry point of the `punchgate` console script."""
    run(punchgate(web_app))


if __name__ == "__main__":
    main()
