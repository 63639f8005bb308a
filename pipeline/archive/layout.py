"""Where things live under the archive root. Pure path arithmetic.

    <root>/raw/<source>/YYYY/MM/DD/HH/<stamp>-<run>-<8 hex>.warc.gz   captures (append-only)
    <root>/docs/<source>/YYYY/MM/DD/HH/<stamp>-<run>-<8 hex>.jsonl    processed documents (append-only)
    <root>/state/<source>/seen/…                                      what was fetched (append-only ledger)
    <root>/state/<source>/feeds/<feed key>.json                       conditional-GET validators

`<stamp>` is the UTC write time (YYYYmmddTHHMMSSffffff), so within an hour the files sort in
the order they were written and a later version of a document wins over an earlier one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_component(value: str, *, what: str = "name") -> str:
    """A path component from a source id or run id: only [A-Za-z0-9._-]."""
    cleaned = re.sub(r"\.{2,}", "_", _UNSAFE.sub("_", value)).strip("._")
    if not cleaned:
        raise ValueError(f"empty {what} after sanitising {value!r}")
    return cleaned[:120]


def to_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def floor_hour(dt: datetime) -> datetime:
    return to_utc(dt).replace(minute=0, second=0, microsecond=0)


def hour_dir(kind: str, source: str, dt: datetime) -> str:
    h = floor_hour(dt)
    return f"{kind}/{safe_component(source, what='source')}/{h:%Y/%m/%d/%H}"


def file_name(run_id: str, suffix: str, now: datetime | None = None) -> str:
    stamp = to_utc(now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")
    return f"{stamp}-{safe_component(run_id, what='run id')}-{secrets.token_hex(4)}{suffix}"


def hours_between(start: datetime, end: datetime) -> Iterator[datetime]:
    """Hour starts h with [h, h+1h) intersecting [start, end)."""
    h = floor_hour(start)
    end = to_utc(end)
    while h < end:
        yield h
        h += timedelta(hours=1)


def days_between(start: datetime, end: datetime) -> Iterator[datetime]:
    d = floor_hour(start).replace(hour=0)
    end = to_utc(end)
    while d < end:
        yield d
        d += timedelta(days=1)


def hour_of_path(path: str) -> datetime | None:
    """The UTC hour encoded in a `…/YYYY/MM/DD/HH/<file>` path."""
    m = re.search(r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$", path)
    if not m:
        return None
    y, mo, d, h = (int(x) for x in m.groups())
    return datetime(y, mo, d, h, tzinfo=UTC)


def feed_key(feed_url: str) -> str:
    return hashlib.sha256(feed_url.encode("utf-8")).hexdigest()[:20]
