"""Helpers shared by the CLI commands."""

from __future__ import annotations

from rich.console import Console

from collector.logs import JsonFormatter, setup_logging

console = Console(stderr=True, soft_wrap=True)


__all__ = ["JsonFormatter", "console", "setup_logging"]
