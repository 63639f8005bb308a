"""Durable acquisition state kept in the archive: what was fetched, and feed validators.

The archive is the state store (not Airflow, not Elasticsearch): a worker that dies mid-run
loses nothing that was committed, and a new machine pointed at the same archive root knows
what was already fetched.

- **Seen ledger** (`state/<source>/seen/`): append-only JSON Lines deltas, one file per
  `record_seen` call, plus occasional snapshots that fold the deltas in. A snapshot's first
  line lists the delta files it covers; readers load the newest snapshot and every delta it
  does not cover, so a delta written during compaction is never lost.
- **Feed state** (`state/<source>/feeds/<key>.json`): ETag, Last-Modified and the sha256 of
  the last body, replaced atomically on each fetch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


def _dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class SeenEntry:
    """One fetch of one article URL (identified by its canonical URL)."""

    url: str
    fetched_at: datetime
    status: str = "fetched"  # "fetched" | "gone" | "failed:<reason>" | …
    guid: str | None = None
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    record_id: str | None = None
    etag: str | None = None  # the page's validators when it was fetched: a refetch asks conditionally
    last_modified: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("fetched_at", "published", "updated"):
            d[key] = _iso(d[key])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeenEntry:
        return cls(
            url=data["url"],
            fetched_at=_dt(data["fetched_at"]),  # type: ignore[arg-type]
            status=data.get("status") or "fetched",
            guid=data.get("guid"),
            title=data.get("title"),
            published=_dt(data.get("published")),
            updated=_dt(data.get("updated")),
            record_id=data.get("record_id"),
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
        )


@dataclass
class SeenIndex:
    """Latest SeenEntry per URL for one source."""

    entries: dict[str, SeenEntry] = field(default_factory=dict)

    def add(self, entry: SeenEntry) -> None:
        old = self.entries.get(entry.url)
        if old is None or entry.fetched_at >= old.fetched_at:
            self.entries[entry.url] = entry

    def get(self, url: str) -> SeenEntry | None:
        return self.entries.get(url)

    def __contains__(self, url: object) -> bool:
        return url in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def urls_between(self, start: datetime, end: datetime) -> list[str]:
        """URLs whose publication (or, lacking it, fetch) time falls in [start, end)."""
        out = []
        for url, e in self.entries.items():
            when = e.published or e.fetched_at
            if start <= when < end:
                out.append(url)
        return sorted(out)


@dataclass(frozen=True)
class FeedState:
    feed_url: str
    fetched_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    content_sha256: str | None = None
    status: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fetched_at"] = _iso(self.fetched_at)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedState:
        return cls(
            feed_url=data["feed_url"],
            fetched_at=_dt(data["fetched_at"]),  # type: ignore[arg-type]
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
            content_sha256=data.get("content_sha256"),
            status=data.get("status"),
        )
