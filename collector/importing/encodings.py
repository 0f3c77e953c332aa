"""What kind of file an export is, and its text encoding, decided before anything is stored.

A text file is read as the encoding the user named; otherwise by its byte-order mark
(UTF-8, UTF-16 as Excel's "Unicode text" writes it, UTF-32); otherwise it must be UTF-8
throughout. A file that is not is refused with the encoding it looks like, guessed by
charset-normalizer from the lines that are not UTF-8, so a GBK export never fills the
quarantine with one line per row.
"""

from __future__ import annotations

import codecs
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from charset_normalizer import from_bytes

from collector.importing.options import ImportError_

MAX_LINE_BYTES = 65536  # a longer line is quarantined, not parsed
_BLOCK = 1 << 20  # bytes read at a time while checking UTF-8
_SAMPLE_BYTES = 1 << 17  # bytes of non-UTF-8 lines handed to charset-normalizer
_GUESS_MIN_BYTES = 8  # non-ASCII bytes needed before naming what the file looks like
_NUL_SHARE = 0.1  # more NUL bytes than this at the start: UTF-16 without a byte-order mark

_BOMS: tuple[tuple[bytes, str, str], ...] = (  # UTF-32 first: its LE mark starts like UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8 with byte-order mark"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)

# What charset-normalizer's guesses are called for HR, and the --encoding to suggest.
_FAMILIES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("gb18030", "gbk", "gb2312", "hz"), ("GBK/GB18030", "gb18030")),
    **dict.fromkeys(("big5", "big5hkscs", "cp950"), ("Big5", "big5")),
    **dict.fromkeys(("shift_jis", "cp932", "shift_jis_2004"), ("Shift-JIS", "cp932")),
    **dict.fromkeys(("euc_kr", "cp949"), ("EUC-KR", "cp949")),
    **dict.fromkeys(("cp1252", "latin_1", "iso8859_15"), ("Windows-1252", "cp1252")),
    **dict.fromkeys(("cp1251", "koi8_r", "iso8859_5"), ("Windows-1251", "cp1251")),
    **dict.fromkeys(("cp1250", "iso8859_2"), ("Windows-1250", "cp1250")),
    **dict.fromkeys(("utf_16", "utf_16_le"), ("UTF-16 without a byte-order mark", "utf-16-le")),
    "utf_16_be": ("UTF-16 without a byte-order mark", "utf-16-be"),
}


class FileKind(enum.Enum):
    """How an export is read."""

    TEXT = "text"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class TextEncoding:
    """How a text export's bytes become lines."""

    codec: str  # Python codec name
    skip: int  # bytes of byte-order mark before the first line
    label: str  # for the summary
    bytewise: bool  # ASCII-compatible: lines can be split on b"\n" before decoding


def file_kind(path: Path) -> FileKind:
    """Text or XLSX, by the file's first bytes (then its suffix); old .xls is refused."""
    with path.open("rb") as binary:
        head = binary.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportError_(
            f"{path.name} is an Excel 97-2003 workbook (.xls), which cannot be read: "
            "open it in a spreadsheet program and save it as .xlsx or CSV"
        )
    if head.startswith(b"PK\x03\x04") or path.suffix.lower() in (".xlsx", ".xlsm"):
        return FileKind.XLSX
    return FileKind.TEXT


def text_encoding(path: Path, requested: str | None) -> TextEncoding:
    """The encoding to read `path` with: as requested, by byte-order mark, or checked UTF-8."""
    with path.open("rb") as binary:
        head = binary.read(4)
        if requested:
            return _requested(requested, head)
        for bom, codec, label in _BOMS:
            if head.startswith(bom):
                # UTF-16/32 decoders read the mark themselves; UTF-8's is skipped here.
                skip = len(bom) if codec == "utf-8" else 0
                return TextEncoding(codec, skip, label, bytewise=codec == "utf-8")
        binary.seek(0)
        _check_utf8(binary, path.name)
    return TextEncoding("utf-8", 0, "UTF-8", bytewise=True)


def _requested(name: str, head: bytes) -> TextEncoding:
    try:
        codec = codecs.lookup(name).name
    except LookupError as exc:
        raise ImportError_(f"unknown encoding {name!r}") from exc
    if codec == "utf-8-sig":
        codec = "utf-8"  # its mark is skipped below; plain UTF-8 lines split by byte
    skip = len(codecs.BOM_UTF8) if codec == "utf-8" and head.startswith(codecs.BOM_UTF8) else 0
    probe = "id,time;\t\n"
    try:
        bytewise = probe.encode(codec) == probe.encode("ascii")
    except UnicodeError:
        bytewise = False
    return TextEncoding(codec, skip, codec, bytewise)


def _check_utf8(binary: IO[bytes], name: str) -> None:
    """Refuse a file that is not UTF-8, reading block by block (never the whole file)."""
    first = binary.read(_BLOCK)
    if first.count(0) > _NUL_SHARE * len(first):
        _refuse(name, None, first[:_SAMPLE_BYTES])
    binary.seek(0)
    number = 1  # the line number at the start of the current block
    bad: list[tuple[int, bytes]] = []
    sampled = 0
    while block := binary.read(_BLOCK):
        if not block.endswith(b"\n"):
            block += binary.readline(MAX_LINE_BYTES)  # end the block at a line's end
        overlong = not block.endswith(b"\n") and binary.read(1) != b""
        if overlong:  # the rest of that line is quarantined unread, so skip it here too
            binary.seek(-1, 1)
            while (more := binary.readline(MAX_LINE_BYTES)) and not more.endswith(b"\n"):
                pass
        if not block.isascii():
            for offset, line in enumerate(block.split(b"\n")):
                if not _is_utf8(line):
                    bad.append((number + offset, line))
                    sampled += len(line)
                    if sampled >= _SAMPLE_BYTES:
                        break
        if sampled >= _SAMPLE_BYTES:
            break
        number += block.count(b"\n") + (1 if overlong else 0)
    if bad:
        _refuse(name, bad[0][0], b"\n".join(line for _, line in bad)[:_SAMPLE_BYTES])


def _is_utf8(line: bytes) -> bool:
    # An incremental decode forgives a character cut at the end of a truncated overlong line.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(line, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _refuse(name: str, line: int | None, sample: bytes) -> None:
    where = f"line {line} cannot be read as UTF-8" if line else "it is full of NUL bytes"
    looks = _looks_like(sample)
    hint = (
        f"it looks like {' or '.join(label for label, _ in looks)}: add "
        + " or ".join(f"--encoding {codec}" for _, codec in looks)
        if looks
        else "add --encoding with the file's encoding (for example gb18030 or cp1252)"
    )
    also = " (or --encoding utf-8 to quarantine the lines that cannot be read)" if line else ""
    raise ImportError_(f"{name} is not UTF-8 ({where}); {hint}{also}")


def _looks_like(sample: bytes) -> list[tuple[str, str]]:
    """charset-normalizer's best guesses (label, codec): all those it cannot tell apart."""
    # A few stray bytes say nothing about an encoding: guess only from enough of them.
    if sum(1 for byte in sample if byte >= 0x80 or byte == 0) < _GUESS_MIN_BYTES:
        return []
    matches = list(from_bytes(sample))
    if not matches:
        return []
    best = matches[0]
    found: list[tuple[str, str]] = []
    for match in matches:
        if (match.chaos, match.coherence) != (best.chaos, best.coherence):
            break  # short samples tie several encodings; name them all, not a coin toss
        family = _FAMILIES.get(match.encoding, (match.encoding, match.encoding))
        if match.encoding not in ("utf_8", "ascii") and family not in found:
            found.append(family)
    return found[:2]
