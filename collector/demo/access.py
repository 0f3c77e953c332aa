"""A demo admin key, so the API can be tried straight away."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from collector.apikeys import Role, create_key


def demo_key(session: Session, now: datetime) -> str:
    """Create an admin key named 'demo' and return its token (only the hash is kept)."""
    return create_key(session, name="demo", role=Role.ADMIN, now=now).token
