"""W&B's timestamps as epoch seconds: the sync, the quota reader, the audit log and the
screens all read them, so none of them imports the sync for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)


def parse_time(value: Any) -> float | None:
    """W&B's timestamps (ISO 8601, with or without zone) as epoch seconds."""
    if not value or not isinstance(value, str):
        return None
    text = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # W&B's usual form, UTC: a refresh reads tens of thousands
        return (parsed - _EPOCH) / _SECOND  # exact as .timestamp(), without a tz copy
    return parsed.timestamp()
