"""Enrolment links as QR codes for HR's screen."""

from __future__ import annotations

import segno


def enrolment_qr(link: str, *, scale: int = 4) -> str:
    """An enrolment link as an inline SVG QR code (segno writes it; nothing is fetched)."""
    return str(segno.make(link, error="m").svg_inline(scale=scale, title="punchgate enrolment"))
