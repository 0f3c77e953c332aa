"""Reading the timestamps of an export: the format detected from the file, or the user's.

Detection samples the first rows' timestamps and tries every candidate format on them;
the date order (year first, day first or month first) that reads the most rows wins.
When day-first and month-first read the sample equally, the rest of the file is read
for a date that only one of them can hold (a day after the 12th); a file where none is
found is refused, naming two lines and the `--time-format` that settles each reading,
rather than guessed.

Formats are strptime's, but read through a regular expression compiled here from the
same directives: `datetime.strptime` costs about 30 µs a row, more than the whole ingest
of the punch, and a million-row export would spend most of its time there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain, islice

from collector.importing.options import ImportError_

SAMPLE_ROWS = 200  # rows whose timestamps decide the format

# strptime's own patterns for each directive, so both read the same texts.
_DIRECTIVES = {
    "Y": r"(\d{4})",
    "m": r"(1[0-2]|0[1-9]|[1-9])",
    "d": r"(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
    "H": r"(2[0-3]|[0-1]\d|\d)",
    "I": r"(1[0-2]|0[1-9]|[1-9])",
    "M": r"([0-5]\d|\d)",
    "S": r"(6[0-1]|[0-5]\d|\d)",
    "p": r"(am|pm)",
}
_FIELDS = ("Y", "m", "d", "H", "M", "S", "I", "p")
ISO = "ISO 8601"


@dataclass(frozen=True, slots=True)
class TimeFormat:
    """One strptime format (or ISO 8601), and how to read a text with it."""

    text: str
    order: str  # "ymd", "dmy" or "mdy": which date part comes first
    _pattern: re.Pattern[str] | None  # None: read by strptime or fromisoformat
    _slots: tuple[int, ...] = ()  # the group of each of _FIELDS in the pattern, -1 if absent

    @classmethod
    def of(cls, fmt: str, order: str = "ymd") -> TimeFormat:
        """Compile `fmt`; formats with other directives are read by strptime itself."""
        parts: list[str] = []
        fields: list[str] = []
        pos = 0
        while pos < len(fmt) and fmt != ISO:
            char = fmt[pos]
            if char == "%" and pos + 1 < len(fmt):
                directive = fmt[pos + 1]
                if directive not in _DIRECTIVES or directive in fields:
                    return cls(fmt, order, None)
                parts.append(_DIRECTIVES[directive])
                fields.append(directive)
                pos += 2
            elif char.isspace():
                while pos < len(fmt) and fmt[pos].isspace():
                    pos += 1
                parts.append(r"\s+")
            else:
                parts.append(re.escape(char))
                pos += 1
        if not {"Y", "m", "d"} <= set(fields):
            return cls(fmt, order, None)  # ISO, or a format without a full date
        slots = tuple(fields.index(f) if f in fields else -1 for f in _FIELDS)
        return cls(fmt, order, re.compile("".join(parts), re.IGNORECASE), slots)

    def read(self, text: str) -> datetime | None:
        """The time `text` holds in this format, or None."""
        if self._pattern is None:
            return self._read_other(text)
        found = self._pattern.fullmatch(text)
        if found is None:
            return None
        got = found.groups()
        year, month, day, hour, minute, second, hour12, half = self._slots
        hours = int(got[hour]) if hour >= 0 else 0
        if hour12 >= 0:
            hours = int(got[hour12]) % 12 + (12 if half >= 0 and got[half].lower() == "pm" else 0)
        try:
            return datetime(  # noqa: DTZ001 - naive local time, given its zone in normalize
                int(got[year]),
                int(got[month]),
                int(got[day]),
                hours,
                int(got[minute]) if minute >= 0 else 0,
                int(got[second]) if second >= 0 else 0,
            )
        except ValueError:
            return None  # 31 February

    def _read_other(self, text: str) -> datetime | None:
        try:
            if self.text == ISO:
                if ":" not in text:
                    return None  # a date alone is not a punch's time
                return datetime.fromisoformat(text)
            return datetime.strptime(text, self.text)  # noqa: DTZ007 - zone added in normalize
        except ValueError:
            return None


def _candidates() -> tuple[TimeFormat, ...]:
    dates = (
        ("%Y-%m-%d", "ymd"),
        ("%Y/%m/%d", "ymd"),
        ("%Y.%m.%d", "ymd"),
        ("%Y年%m月%d日", "ymd"),
        ("%d/%m/%Y", "dmy"),
        ("%m/%d/%Y", "mdy"),
        ("%d.%m.%Y", "dmy"),
        ("%d-%m-%Y", "dmy"),
        ("%m-%d-%Y", "mdy"),
    )
    times = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")
    found = [TimeFormat.of(f"{d} {t}", order) for d, order in dates for t in times]
    return (*found, TimeFormat.of(ISO))  # last: T separators, offsets, fractions


CANDIDATES = _candidates()


@dataclass(frozen=True, slots=True)
class TimeReader:
    """The formats a file's timestamps are read with, most common first."""

    formats: tuple[TimeFormat, ...]
    fallback: tuple[TimeFormat, ...] = ()  # the same date order's other formats
    detected: bool = True
    iso_first: bool = False  # a year-first file: try fromisoformat before the formats

    @property
    def expected(self) -> str:
        """The formats, as the summary and the quarantine reasons name them."""
        return " or ".join(f.text for f in self.formats)

    def read(self, text: str) -> datetime | None:
        """The time `text` holds, or None when no format reads it."""
        if self.iso_first and ":" in text:
            # fromisoformat is twenty times quicker, and ISO 8601 is in a year-first
            # reader's fallback anyway: the same texts are read, to the same times.
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                pass
        for fmt in self.formats:
            found = fmt.read(text)
            if found is not None:
                return found
        for fmt in self.fallback:
            found = fmt.read(text)
            if found is not None:
                return found
        return None


def given_format(fmt: str) -> TimeReader:
    """The reader for a format the user named."""
    return TimeReader((TimeFormat.of(fmt),), detected=False)


def detect(stamps: Iterable[tuple[int, str | None]], name: str) -> TimeReader:
    """The formats of the rows' times (line, text or None for a date cell).

    Refused (ImportError_) when no format fits the sample or the day/month order cannot be told.
    """
    stream = iter(stamps)
    sample = [(line, text) for line, text in islice(stream, SAMPLE_ROWS) if text is not None]
    if not sample:  # spreadsheet date cells only: text that turns up later must be ISO-like
        return replace(_reader_for("ymd", {}), detected=False)
    hits: dict[TimeFormat, int] = {}
    covered: dict[str, int] = {}
    for _, text in sample:
        orders: set[str] = set()
        for fmt in CANDIDATES:  # each order's first format that reads the text counts
            if fmt.order not in orders and fmt.read(text) is not None:
                hits[fmt] = hits.get(fmt, 0) + 1
                orders.add(fmt.order)
        for order in orders:
            covered[order] = covered.get(order, 0) + 1
    if not covered:
        line, text = sample[0]
        raise ImportError_(
            f"the times in {name} are in no format punchgate knows (line {line}: {text!r}); "
            "name it with --time-format, for example --time-format '%d-%b-%Y %H:%M'"
        )
    best = max(covered.values())
    leaders = {order for order, count in covered.items() if count == best}
    if "ymd" in leaders or len(leaders) == 1:
        order = "ymd" if "ymd" in leaders else leaders.pop()
    else:  # day-first and month-first read the sample alike
        rest = ((line, text) for line, text in stream if text is not None)
        order = _settle_day_month(chain(sample, rest), hits, name)
    return _reader_for(order, hits)


def _reader_for(order: str, hits: dict[TimeFormat, int]) -> TimeReader:
    seen = sorted((f for f in hits if f.order == order), key=lambda f: -hits[f])
    if not seen:
        seen = [f for f in CANDIDATES if f.order == order][:2]
    rest = tuple(f for f in CANDIDATES if f.order == order and f not in seen)
    return TimeReader(tuple(seen), rest, iso_first=order == "ymd")


def _settle_day_month(
    stamps: Iterator[tuple[int, str]], hits: dict[TimeFormat, int], name: str
) -> str:
    """Read on until a date fits only one order; refuse the file when none does."""
    day_first = [f for f in CANDIDATES if f.order == "dmy"]
    month_first = [f for f in CANDIDATES if f.order == "mdy"]
    examples: list[tuple[int, str, datetime, datetime]] = []
    for line, text in stamps:
        as_dm = _first(day_first, text)
        as_md = _first(month_first, text)
        if (as_dm is None) != (as_md is None):
            return "dmy" if as_dm is not None else "mdy"
        if as_dm is not None and as_md is not None and as_dm != as_md and len(examples) < 2:
            examples.append((line, text, as_dm, as_md))
    if not examples:
        return "dmy"  # every date has the same day and month: both orders read it alike
    pair = max((f for f in hits if f.order == "dmy"), key=lambda f: hits[f]).text
    swapped = pair.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
    described = ", ".join(
        f"line {line} {text!r} is {dm.day} {dm:%B %Y} or {md.day} {md:%B %Y}"
        for line, text, dm, md in examples
    )
    raise ImportError_(
        f"the dates in {name} can be read day first or month first ({described}); "
        f"say which with --time-format '{pair}' (day first) or "
        f"--time-format '{swapped}' (month first)"
    )


def _first(formats: list[TimeFormat], text: str) -> datetime | None:
    for fmt in formats:
        found = fmt.read(text)
        if found is not None:
            return found
    return None
