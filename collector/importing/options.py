"""What an import is asked to do (options, column names), and how it refuses a file."""

from __future__ import annotations

from dataclasses import dataclass


class ImportError_(ValueError):
    """The file cannot be imported at all (unreadable, ambiguous, no header, missing columns)."""


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Header names the user chose, matched case-insensitively; None means the usual names."""

    employee: str | None = None
    timestamp: str | None = None  # the date and time, or only the time when `date` is given
    date: str | None = None  # a separate date column, joined with `timestamp`
    timezone: str | None = None
    state: str | None = None
    device: str | None = None
    verify: str | None = None


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read the file."""

    columns: ColumnMap = ColumnMap()
    encoding: str | None = None  # detected when None (UTF-8, a byte-order mark, or refused)
    delimiter: str | None = None  # sniffed from the header when None
    timezone: str | None = None  # for rows with neither a zone column nor a known device
    time_format: str | None = None  # strptime format; detected from the file when None
    device: str | None = None  # device code for every row, when the file has no column
    sheet: str | None = None
