"""Policy documents as HR writes them (TOML/JSON), validated by pydantic at the edge.

Clock times are "HH:MM" strings; durations are whole minutes (`*_min`), except
`collapse_seconds`. `load_policy` turns a valid document into the frozen `rules.policy.Policy`
used in the hot path; invalid documents raise `PolicyError` naming every problem.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rules.policy import (
    DAY_S,
    WEEKDAYS,
    Balance,
    BalancePeriod,
    Breaks,
    CalendarRules,
    FixedShift,
    Flexitime,
    HalfDayLeave,
    NightWindow,
    Overtime,
    OvertimeBasis,
    Pairing,
    PairingMode,
    Policy,
    PolicyKind,
    Rounding,
    Thresholds,
)
from rules.requests import RequestKind, RequestRules


class PolicyError(ValueError):
    """A policy document that cannot be used; the message lists what is wrong."""


def clock(value: str) -> int:
    """Seconds after midnight of an "HH:MM" time (24:00 allowed as the end of a day)."""
    hh, sep, mm = value.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"{value!r} is not a time of day like 09:30")
    h, m = int(hh), int(mm)
    if m > 59 or h > 24 or (h == 24 and m):
        raise ValueError(f"{value!r} is not a time of day like 09:30")
    return h * 3600 + m * 60


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpanDoc(_Doc):
    """A span of clock time, e.g. core hours 10:00–16:00."""

    start: str
    end: str

    @model_validator(mode="after")
    def _order(self) -> Self:
        if clock(self.start) >= clock(self.end):
            raise ValueError(f"span {self.start}–{self.end} ends before it starts")
        return self


class ShiftDoc(_Doc):
    """A fixed shift."""

    start: str
    end: str
    grace_late_min: int = Field(default=0, ge=0)
    grace_early_min: int = Field(default=0, ge=0)
    checkin_before_min: int = Field(default=120, ge=0)
    checkout_after_min: int = Field(default=360, ge=0)
    count_early_arrival: bool = False

    _clock = field_validator("start", "end")(lambda v: (clock(v), v)[1])


class FlexDoc(_Doc):
    """A flex band with core hours."""

    earliest_start: str
    latest_start: str
    earliest_end: str
    latest_end: str
    core: list[SpanDoc] | dict[str, list[SpanDoc]] = Field(default_factory=list)
    grace_late_min: int = Field(default=0, ge=0)
    grace_early_min: int = Field(default=0, ge=0)
    day_boundary: str = "00:00"
    count_outside_band: bool = False

    _clock = field_validator("earliest_start", "latest_start", "earliest_end", "latest_end")(
        lambda v: (clock(v), v)[1]
    )


class DeductionDoc(_Doc):
    """One row of the break table: after so much work, so long a break."""

    after_min: int = Field(ge=0)
    break_min: int = Field(gt=0)


class BreaksDoc(_Doc):
    """Breaks and the daily maximum."""

    deductions: list[DeductionDoc] = Field(default_factory=list)
    min_break_min: int = Field(default=0, ge=0)
    cap_at_threshold: bool = True
    max_daily_min: int | None = Field(default=None, gt=0)


class ThresholdsDoc(_Doc):
    """Half-day and absence thresholds."""

    absent_below_min: int = Field(default=0, ge=0)
    half_day_below_min: int = Field(default=0, ge=0)


class OvertimeDoc(_Doc):
    """Overtime counting."""

    basis: OvertimeBasis = OvertimeBasis.BEYOND_TARGET
    minimum_min: int = Field(default=0, ge=0)
    round_min: int = Field(default=0, ge=0)
    rounding: Rounding = Rounding.DOWN
    daily_cap_min: int | None = Field(default=None, ge=0)


class BalanceDoc(_Doc):
    """The flexitime account."""

    enabled: bool | None = None  # default: on for flexitime, off for fixed shifts
    period: BalancePeriod = BalancePeriod.MONTH
    carry_cap_min: int | None = Field(default=None, ge=0)
    carry_floor_min: int | None = Field(default=None, le=0)
    rest_day_work_counts: bool = False


class PairingDoc(_Doc):
    """Pairing of punches."""

    mode: PairingMode = PairingMode.BY_STATE
    collapse_seconds: int = Field(default=60, ge=0, le=3600)
    auto_checkout: bool = False
    auto_checkout_at: str | None = None


class DatedDoc(_Doc):
    """A named date (company holiday or half-day)."""

    date: date
    name: str = ""


class CalendarDoc(_Doc):
    """Rest days and holidays."""

    rest_days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["sat", "sun"]
    public_holidays: bool = True
    company_holidays: list[DatedDoc] = Field(default_factory=list)
    half_days: list[DatedDoc] = Field(default_factory=list)
    company_workdays: list[DatedDoc] = Field(default_factory=list)  # extra working days

    @field_validator("rest_days")
    @classmethod
    def _not_every_day(cls, v: list[str]) -> list[str]:
        if len(set(v)) == 7:
            raise ValueError("every weekday is a rest day: no day could ever be worked")
        return v


class HalfDayLeaveDoc(_Doc):
    """Where half-day leave splits the day (default: halfway between start and end)."""

    am_end: str | None = None
    pm_start: str | None = None

    _clock = field_validator("am_end", "pm_start")(lambda v: v if v is None else (clock(v), v)[1])


class RequestsDoc(_Doc):
    """Limits on employee requests and whether overtime needs one approved in advance."""

    per_month: dict[RequestKind, int] = Field(default_factory=dict)
    overtime_needs_approval: bool = False

    @field_validator("per_month")
    @classmethod
    def _not_negative(cls, v: dict[RequestKind, int]) -> dict[RequestKind, int]:
        if any(n < 0 for n in v.values()):
            raise ValueError("a monthly request limit cannot be negative")
        return v


class NightDoc(_Doc):
    """The night window, e.g. 22:00–06:00 (an end before the start is the next morning)."""

    start: str
    end: str

    _clock = field_validator("start", "end")(lambda v: (clock(v), v)[1])

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if clock(self.start) % DAY_S == clock(self.end) % DAY_S:
            raise ValueError(f"night {self.start}–{self.end} starts and ends at the same time")
        return self


class PolicyDoc(_Doc):
    """A whole policy document."""

    kind: PolicyKind
    shift: ShiftDoc | None = None
    flex: FlexDoc | None = None
    target_min: int | dict[str, int] | None = None
    breaks: BreaksDoc = BreaksDoc()
    thresholds: ThresholdsDoc = ThresholdsDoc()
    overtime: OvertimeDoc = OvertimeDoc()
    balance: BalanceDoc = BalanceDoc()
    pairing: PairingDoc = PairingDoc()
    calendar: CalendarDoc = CalendarDoc()
    half_day_leave: HalfDayLeaveDoc = HalfDayLeaveDoc()
    requests: RequestsDoc = RequestsDoc()
    night: NightDoc | None = None  # no window: no night hours are counted

    @model_validator(mode="after")
    def _combinations(self) -> Self:
        problems = _problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _problems(doc: PolicyDoc) -> list[str]:
    out: list[str] = []
    if doc.kind is PolicyKind.FIXED:
        if doc.shift is None:
            return ["a fixed-shift policy needs a [shift] with start and end"]
        if doc.flex is not None:
            out.append("a fixed-shift policy cannot also have a flex band")
        s, e = clock(doc.shift.start), clock(doc.shift.end)
        length = (e - s) % DAY_S
        if length == 0:
            out.append("the shift starts and ends at the same time")
        window = length + 60 * (doc.shift.checkin_before_min + doc.shift.checkout_after_min)
        if window > DAY_S:
            out.append(
                f"check-in window before plus shift plus check-out window after is "
                f"{window / 3600:g} h; over 24 h it would overlap the next day's shift"
            )
    else:
        if doc.flex is None:
            return ["a flexitime policy needs a [flex] band"]
        if doc.shift is not None:
            out.append("a flexitime policy cannot also have a fixed shift")
        f = doc.flex
        es, ls, ee, le = (
            clock(x) for x in (f.earliest_start, f.latest_start, f.earliest_end, f.latest_end)
        )
        if not es <= ls <= le:
            out.append(
                f"latest start {f.latest_start} is outside the band "
                f"{f.earliest_start}–{f.latest_end}"
            )
        if not es <= ee <= le:
            out.append(
                f"earliest end {f.earliest_end} is outside the band "
                f"{f.earliest_start}–{f.latest_end}"
            )
        if es >= le:
            out.append(f"the flex band {f.earliest_start}–{f.latest_end} is empty")
        core_days = {"every day": f.core} if isinstance(f.core, list) else _core_by_day(f)
        for day, spans in core_days.items():
            for span in spans:
                if clock(span.start) < es or clock(span.end) > le:
                    out.append(
                        f"core hours {span.start}–{span.end} ({day}) lie outside the flex band "
                        f"{f.earliest_start}–{f.latest_end}"
                    )
            ordered = sorted((clock(x.start), clock(x.end)) for x in spans)
            if any(a[1] > b[0] for a, b in itertools.pairwise(ordered)):
                out.append(f"core hours on {day} overlap")
        if doc.overtime.basis is OvertimeBasis.AFTER_SHIFT_END:
            out.append(
                "overtime 'after_shift_end' needs a fixed shift; flexitime uses beyond_target"
            )
        targets = _targets(doc)
        for i, t in enumerate(targets):
            if t > le - es and not f.count_outside_band:
                out.append(
                    f"the {WEEKDAYS[i]} target of {t / 3600:g} h is longer than the flex band"
                )
                break
    if isinstance(doc.target_min, dict):
        unknown = set(doc.target_min) - set(WEEKDAYS)
        if unknown:
            out.append(f"targets name unknown weekdays {sorted(unknown)}")
    if any(t < 0 or t > DAY_S for t in _targets(doc)):
        out.append("a daily target must be between 0 and 24 h")
    rows = doc.breaks.deductions
    if any(
        a.after_min >= b.after_min or a.break_min > b.break_min for a, b in itertools.pairwise(rows)
    ):
        out.append("break deductions must rise: each row after more work and no shorter break")
    th = doc.thresholds
    if (
        th.absent_below_min
        and th.half_day_below_min
        and th.absent_below_min > th.half_day_below_min
    ):
        out.append("the absence threshold is above the half-day threshold")
    o = doc.overtime
    if o.daily_cap_min is not None and o.daily_cap_min < o.minimum_min:
        out.append("the daily overtime cap is below the minimum overtime: none could ever count")
    if o.rounding is not Rounding.DOWN and o.round_min == 0:
        out.append("rounding up or to nearest needs round_min > 0")
    if doc.pairing.auto_checkout_at is not None:
        try:
            clock(doc.pairing.auto_checkout_at)
        except ValueError as exc:
            out.append(str(exc))
    names = [d.date for d in doc.calendar.company_holidays]
    if set(names) & {d.date for d in doc.calendar.half_days}:
        out.append("a date is both a company holiday and a half day")
    if set(names) & {d.date for d in doc.calendar.company_workdays}:
        out.append("a date is both a company holiday and a company working day")
    hd = doc.half_day_leave
    if hd.am_end is not None and hd.pm_start is not None and clock(hd.am_end) > clock(hd.pm_start):
        out.append(
            f"half-day leave: morning end {hd.am_end} is after afternoon start {hd.pm_start}"
        )
    return out


def _core_by_day(f: FlexDoc) -> dict[str, list[SpanDoc]]:
    if isinstance(f.core, list):
        return dict.fromkeys(WEEKDAYS, f.core)
    unknown = set(f.core) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"core hours name unknown weekdays {sorted(unknown)}")
    return {d: f.core.get(d, []) for d in WEEKDAYS}


def _targets(doc: PolicyDoc) -> tuple[int, ...]:
    rest = {WEEKDAYS.index(d) for d in doc.calendar.rest_days}
    t = doc.target_min
    if isinstance(t, dict):
        return tuple(60 * t.get(d, 0) for d in WEEKDAYS)
    if t is None:
        if doc.shift is not None:  # default: the shift's length
            s, e = clock(doc.shift.start), clock(doc.shift.end)
            t_s = (e - s) % DAY_S
        else:
            t_s = 8 * 3600
        return tuple(0 if i in rest else t_s for i in range(7))
    return tuple(0 if i in rest else 60 * t for i in range(7))


MAX_DOCUMENT_DEPTH = 32  # a real policy nests four levels; deeper is not a policy


def _too_deep(value: object, limit: int) -> bool:
    """Whether lists and mappings in `value` nest deeper than `limit` (no recursion)."""
    level: list[tuple[object, int]] = [(value, 0)]
    while level:
        node, depth = level.pop()
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list | tuple):
            children = list(node)
        else:
            continue
        if depth >= limit:
            return True
        level.extend((child, depth + 1) for child in children)
    return False


def parse_document(kind: str, document: dict[str, Any]) -> PolicyDoc:
    """Validate a document of the given kind; raises PolicyError listing every problem."""
    if _too_deep(document, MAX_DOCUMENT_DEPTH):
        # Refused before anything reprs or compares it: both recurse on a deep value.
        raise PolicyError(
            f"document is not a JSON object within limits: nested deeper than "
            f"{MAX_DOCUMENT_DEPTH} levels"
        )
    data = dict(document)
    if "kind" in data and data["kind"] != kind:
        raise PolicyError(f"document says kind {data['kind']!r} but the policy is {kind!r}")
    data["kind"] = kind
    try:
        return PolicyDoc.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {msg}" if where else msg)
        raise PolicyError("; ".join(lines)) from exc


def load_policy(name: str, kind: str, document: dict[str, Any]) -> Policy:
    """Validate a stored policy document and build the frozen policy the engine uses."""
    doc = parse_document(kind, document)
    return build_policy(name, doc)


def build_policy(name: str, doc: PolicyDoc) -> Policy:
    """Turn a validated document into the frozen hot-path policy."""
    shift = flex = None
    if doc.shift is not None:
        sd = doc.shift
        s, e = clock(sd.start), clock(sd.end)
        shift = FixedShift(
            start_s=s,
            end_s=e if e > s else e + DAY_S,
            grace_late_s=60 * sd.grace_late_min,
            grace_early_s=60 * sd.grace_early_min,
            checkin_before_s=60 * sd.checkin_before_min,
            checkout_after_s=60 * sd.checkout_after_min,
            count_early_arrival=sd.count_early_arrival,
        )
    if doc.flex is not None:
        fd = doc.flex
        core = _core_by_day(fd)
        flex = Flexitime(
            earliest_start_s=clock(fd.earliest_start),
            latest_start_s=clock(fd.latest_start),
            earliest_end_s=clock(fd.earliest_end),
            latest_end_s=clock(fd.latest_end),
            core=tuple(
                tuple(sorted((clock(x.start), clock(x.end)) for x in core[d])) for d in WEEKDAYS
            ),
            grace_late_s=60 * fd.grace_late_min,
            grace_early_s=60 * fd.grace_early_min,
            day_boundary_s=clock(fd.day_boundary),
            count_outside_band=fd.count_outside_band,
        )
    b, o, bal, p, c = doc.breaks, doc.overtime, doc.balance, doc.pairing, doc.calendar
    return Policy(
        name=name,
        kind=doc.kind,
        shift=shift,
        flex=flex,
        targets=_targets(doc),
        breaks=Breaks(
            deductions=tuple((60 * r.after_min, 60 * r.break_min) for r in b.deductions),
            min_break_s=60 * b.min_break_min,
            cap_at_threshold=b.cap_at_threshold,
            max_daily_s=None if b.max_daily_min is None else 60 * b.max_daily_min,
        ),
        thresholds=Thresholds(
            absent_below_s=60 * doc.thresholds.absent_below_min,
            half_day_below_s=60 * doc.thresholds.half_day_below_min,
        ),
        overtime=Overtime(
            basis=o.basis,
            minimum_s=60 * o.minimum_min,
            round_unit_s=60 * o.round_min,
            rounding=o.rounding,
            daily_cap_s=None if o.daily_cap_min is None else 60 * o.daily_cap_min,
        ),
        balance=Balance(
            enabled=bal.enabled if bal.enabled is not None else doc.kind is PolicyKind.FLEXITIME,
            period=bal.period,
            carry_cap_s=None if bal.carry_cap_min is None else 60 * bal.carry_cap_min,
            carry_floor_s=None if bal.carry_floor_min is None else 60 * bal.carry_floor_min,
            rest_day_work_counts=bal.rest_day_work_counts,
        ),
        pairing=Pairing(
            mode=p.mode,
            collapse_s=p.collapse_seconds,
            auto_checkout=p.auto_checkout,
            auto_checkout_s=None if p.auto_checkout_at is None else clock(p.auto_checkout_at),
        ),
        calendar=CalendarRules(
            rest_weekdays=frozenset(WEEKDAYS.index(d) for d in c.rest_days),
            public_holidays=c.public_holidays,
            company_holidays=tuple(
                (d.date, d.name or "company holiday") for d in c.company_holidays
            ),
            half_days=tuple((d.date, d.name or "half day") for d in c.half_days),
            company_workdays=tuple(
                (d.date, d.name or "company working day") for d in c.company_workdays
            ),
        ),
        half_day_leave=HalfDayLeave(
            am_end_s=None
            if doc.half_day_leave.am_end is None
            else clock(doc.half_day_leave.am_end),
            pm_start_s=None
            if doc.half_day_leave.pm_start is None
            else clock(doc.half_day_leave.pm_start),
        ),
        requests=RequestRules(
            per_month=tuple(sorted(doc.requests.per_month.items())),
            overtime_needs_approval=doc.requests.overtime_needs_approval,
        ),
        night=None if doc.night is None else _night(doc.night),
    )


def _night(doc: NightDoc) -> NightWindow:
    start, end = clock(doc.start) % DAY_S, clock(doc.end)
    return NightWindow(start_s=start, end_s=end if end > start else end + DAY_S)
