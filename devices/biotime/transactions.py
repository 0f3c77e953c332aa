"""BioTime's `/iclock/api/transactions/` replies: the page envelope and one punch.

A page is `{"count", "next", "previous", "msg", "code", "data": [...]}` (`data`, not
`results`); ids are assigned as punches reach the server, so a punch a terminal uploads a
day late still gets a new, higher id. `punch_time` is the terminal's wall clock with no
offset (`2026-11-02 08:59:12`); `punch_state` is the ZK state code as a string ("0" in …
"5" overtime out, "255" none) and `verify_type` the ZK verify code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class WireError(ValueError):
    """A reply that is not a transactions page."""


@dataclass(frozen=True, slots=True)
class Transaction:
    """One punch as the server keeps it."""

    id: int
    emp_code: str
    punch_time: datetime  # naive: the terminal's wall clock
    punch_state: str | None
    verify_type: int | None
    terminal_sn: str
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TransactionPage:
    """One page: the punches read, the unreadable items, the server's count and next link."""

    items: list[Transaction]
    bad: list[tuple[str, dict[str, Any]]]
    count: int
    next: str | None


def parse_time(text: Any) -> datetime:
    """BioTime's `YYYY-MM-DD HH:MM:SS` (naive); ValueError when it is not that."""
    if not isinstance(text, str):
        raise ValueError(f"no punch_time: {text!r}")
    try:
        # The terminal's wall clock, naive on purpose: the device's zone is given at the boundary.
        return datetime.strptime(text.strip(), TIME_FORMAT)  # noqa: DTZ007
    except ValueError:
        raise ValueError(f"unreadable punch_time: {text!r}") from None


def parse_transaction(item: Any) -> Transaction:
    """One `data` item; ValueError names what is missing or wrong."""
    if not isinstance(item, dict):
        raise ValueError("transaction is not an object")
    try:
        ident = int(item["id"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("missing or bad id") from None
    code = item.get("emp_code")
    if not isinstance(code, str | int) or not str(code).strip():
        raise ValueError("no emp_code")
    state = item.get("punch_state")
    verify = item.get("verify_type")
    try:
        verify_code = None if verify in (None, "") else int(verify)
    except (TypeError, ValueError):
        raise ValueError(f"bad verify_type {verify!r}") from None
    return Transaction(
        id=ident,
        emp_code=str(code).strip(),
        punch_time=parse_time(item.get("punch_time")),
        punch_state=None if state in (None, "") else str(state),
        verify_type=verify_code,
        terminal_sn=str(item.get("terminal_sn") or ""),
        raw=item,
    )


def parse_page(body: Any) -> TransactionPage:
    """A transactions reply; WireError when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise WireError("reply has no data list")
    try:
        count = int(body.get("count") or 0)
    except (TypeError, ValueError):
        raise WireError("count is not a number") from None
    following = body.get("next")
    items: list[Transaction] = []
    bad: list[tuple[str, dict[str, Any]]] = []
    for item in body["data"]:
        try:
            items.append(parse_transaction(item))
        except ValueError as exc:
            bad.append((str(exc), item if isinstance(item, dict) else {"item": repr(item)}))
    return TransactionPage(
        items, bad, count, following if isinstance(following, str) and following else None
    )
