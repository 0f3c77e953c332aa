"""Shift types and roster patterns as data, the shift itself being the fixed-shift document.

A shift type is a code (what HR writes in a roster cell), a name and the `[shift]` table a
fixed-shift policy already has (start, end — overnight allowed —, grace, check-in/out
windows), with an optional target and break table; a rest type (`-`, `休`) has no shift.
It is validated by building the fixed-shift policy document it amounts to, so the engine
keeps one shift model. A pattern is a repeating sequence of codes from an anchor date, a
week of codes per weekday, or the set of shifts an auto shift chooses from.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rules.policy import Breaks, FixedShift
from rules.schema import BreaksDoc, PolicyDoc, PolicyError, ShiftDoc, build_policy

REST_CODES = frozenset({"-", "休"})  # rest-day codes every roster understands
CODE_RE = re.compile(r"^[^\s,;|]{1,16}$")  # a cell's text: no separators, at most 16 characters


class ShiftTypeDoc(BaseModel):
    """A shift type as HR writes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_RE.pattern)  # what a roster cell says, e.g. "N" or "夜"
    name: str = ""  # what HR calls it, e.g. "Night 22–06"
    rest: bool = False  # a rest day: no shift, time worked is rest-day overtime
    shift: ShiftDoc | None = None  # the fixed shift (as in a fixed-shift policy)
    target_min: int | None = Field(default=None, ge=0, le=1440)  # default: the shift's length
    breaks: BreaksDoc | None = None  # default: the employee's policy's break table
    color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")  # on the roster page

    @model_validator(mode="after")
    def _rest_or_shift(self) -> Self:
        if self.rest and self.shift is not None:
            raise ValueError("a rest type has no shift times")
        if not self.rest and self.shift is None:
            raise ValueError("a working shift type needs a shift with start and end")
        if self.code in REST_CODES and not self.rest:
            raise ValueError(f"{self.code!r} is the rest code")
        return self

    def as_policy_doc(self) -> PolicyDoc:
        """The fixed-shift policy document this type amounts to (every weekday a working day)."""
        data: dict[str, Any] = {
            "kind": "fixed",
            "shift": self.shift,
            "target_min": self.target_min,
            "calendar": {"rest_days": [], "public_holidays": False},
        }
        if self.breaks is not None:
            data["breaks"] = self.breaks
        return PolicyDoc.model_validate(data)


@dataclass(frozen=True, slots=True)
class ShiftType:
    """A shift type as the engine uses it."""

    code: str  # the roster cell's text
    name: str  # what HR calls it
    shift: FixedShift | None  # None: a rest day
    target_s: int  # seconds expected on a day of this shift
    breaks: Breaks | None  # None: the policy's own break table applies

    @property
    def rest(self) -> bool:
        """A rest day (no shift)."""
        return self.shift is None


REST = ShiftType("-", "rest", None, 0, None)


def _problems(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {msg}" if where else msg)
    return "; ".join(lines)


def parse_shift_type(document: dict[str, Any]) -> ShiftTypeDoc:
    """Validate a shift type document; raises PolicyError naming every problem."""
    try:
        doc = ShiftTypeDoc.model_validate(document)
        if not doc.rest:
            doc.as_policy_doc()  # the fixed-shift rules: window under 24 h, start ≠ end…
    except ValidationError as exc:
        raise PolicyError(_problems(exc)) from exc
    return doc


def load_shift_type(document: dict[str, Any]) -> ShiftType:
    """Validate a shift type document and build the engine's shift type."""
    doc = parse_shift_type(document)
    if doc.rest:
        return ShiftType(doc.code, doc.name or "rest", None, 0, None)
    policy = build_policy(doc.code, doc.as_policy_doc())
    return ShiftType(
        code=doc.code,
        name=doc.name or doc.code,
        shift=policy.shift,
        target_s=policy.targets[0],
        breaks=policy.breaks if doc.breaks is not None else None,
    )


class PatternKind(enum.StrEnum):
    """How a pattern repeats."""

    CYCLE = "cycle"  # a sequence of codes repeating from its anchor date (E E L L N N - -)
    WEEKLY = "weekly"  # seven codes, Monday to Sunday
    AUTO = "auto"  # no plan: each day the allowed shift whose start is nearest the first punch


@dataclass(frozen=True, slots=True)
class Pattern:
    """A repeating roster pattern."""

    name: str  # what HR calls it
    kind: PatternKind  # cycle, weekly or auto
    codes: tuple[str, ...]  # the sequence (cycle), Mon..Sun (weekly) or the allowed set (auto)
    anchor: date | None  # the cycle's first day (cycle only)

    def code_on(self, day: date) -> str | None:
        """The code the pattern plans for `day` (None for an auto pattern)."""
        if self.kind is PatternKind.CYCLE:
            assert self.anchor is not None
            return self.codes[(day - self.anchor).days % len(self.codes)]
        if self.kind is PatternKind.WEEKLY:
            return self.codes[day.weekday()]
        return None

    def position(self, day: date) -> int | None:
        """Where in the cycle `day` falls (1-based), for the explanation."""
        if self.kind is not PatternKind.CYCLE or self.anchor is None:
            return None
        return (day - self.anchor).days % len(self.codes) + 1


def split_codes(text: str | list[str]) -> tuple[str, ...]:
    """Codes from "E E L L N N - -" (spaces or commas) or a list."""
    items = re.split(r"[\s,]+", text.strip()) if isinstance(text, str) else text
    return tuple(c.strip() for c in items if c.strip())


def make_pattern(
    name: str, kind: str, codes: str | list[str], anchor: date | None, known: set[str]
) -> Pattern:
    """A validated pattern; `known` holds the shift codes that exist (rest codes always do)."""
    problems: list[str] = []
    try:
        pk = PatternKind(kind)
    except ValueError:
        raise PolicyError(f"kind must be one of {[k.value for k in PatternKind]}") from None
    seq = split_codes(codes)
    if not seq:
        problems.append("a pattern needs at least one code")
    unknown = sorted({c for c in seq if c not in known and c not in REST_CODES})
    if unknown:
        problems.append(f"unknown shift codes {unknown}")
    if pk is PatternKind.CYCLE and anchor is None:
        problems.append("a cycle needs an anchor date (the day its first code applies)")
    if pk is PatternKind.WEEKLY and len(seq) != 7:
        problems.append(f"a weekly pattern has 7 codes (Mon..Sun), not {len(seq)}")
    if pk is PatternKind.AUTO and any(c in REST_CODES for c in seq):
        problems.append("an auto pattern lists working shifts only")
    if problems:
        raise PolicyError("; ".join(problems))
    return Pattern(name, pk, seq, anchor if pk is PatternKind.CYCLE else None)
