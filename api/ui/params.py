"""Query parameters as the pages' forms send them: an empty field means "not chosen"."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator


def blank_is_none(value: Any) -> Any:
    """A form's empty field (or one of only spaces) as no value at all."""
    return None if isinstance(value, str) and not value.strip() else value


Blank = BeforeValidator(blank_is_none)
TextQ = Annotated[str | None, Query(max_length=64)]  # the pages read "" as not chosen
DateQ = Annotated[date | None, Blank, Query()]
FromQ = Annotated[date | None, Blank, Query(alias="from")]
ToQ = Annotated[date | None, Blank, Query(alias="to")]
