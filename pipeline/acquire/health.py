"""Feed health: a feed that fails the same way N runs in a row is quarantined, not retried every
hour (as Media Cloud's rss-fetcher does), with its reason and its next retry time.

State per feed in the archive, `state/<source>/feed-health/<feed key>.json`: the reason of the
last failure, how many runs in a row failed with it, and until when the feed is quarantined.
A success clears it; a failure with another reason starts the count again. Once quarantined,
the feed is asked for again at its next retry time (one probe): another identical failure
quarantines it for twice as long (at most `max_retry_hours`), a success ends the quarantine.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.archive import Archive
from pipeline.archive import layout as archive_layout
from pipeline.sources import QuarantinePolicy

log = logging.getLogger(__name__)


@dataclass
class FeedHealth:
    feed_url: str
    reason: str  # the failure reason counted (`unsafe_xml`, `http_500`, …)
    failures: int  # runs in a row that failed with `reason`
    last_error: str = ""
    last_failed_at: str = ""  # ISO
    quarantined_until: str | None = None  # ISO; None: not quarantined

    def until(self) -> datetime | None:
        return datetime.fromisoformat(self.quarantined_until) if self.quarantined_until else None

    def quarantined(self, now: datetime) -> bool:
        until = self.until()
        return until is not None and now < until

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeedHealth:
        return cls(**data)


def health_path(source_id: str, feed_url: str) -> str:
    return (f"state/{archive_layout.safe_component(source_id, what='source')}/feed-health/"
            f"{archive_layout.feed_key(feed_url)}.json")


def load_health(archive: Archive, source_id: str, feed_url: str) -> FeedHealth | None:
    rel = health_path(source_id, feed_url)
    if not archive.exists(rel):
        return None
    try:
        return FeedHealth.from_dict(json.loads(archive.read_bytes(rel)))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable feed health %s: %s", rel, exc)
        return None


def next_health(previous: FeedHealth | None, *, feed_url: str, reason: str | None, error: str | None,
                now: datetime, policy: QuarantinePolicy) -> FeedHealth | None:
    """The health after one run of the feed: None when it worked (`reason` None)."""
    if reason is None:
        return None
    same = previous is not None and previous.reason == reason
    failures = previous.failures + 1 if same and previous is not None else 1
    health = FeedHealth(feed_url=feed_url, reason=reason, failures=failures, last_error=error or "",
                        last_failed_at=now.isoformat())
    if failures >= policy.after_failures:
        hours = min(policy.retry_hours * 2 ** (failures - policy.after_failures), policy.max_retry_hours)
        health.quarantined_until = (now + timedelta(hours=hours)).isoformat()
    return health


def record_health(archive: Archive, source_id: str, feed_url: str, *, reason: str | None, error: str | None,
                  now: datetime, policy: QuarantinePolicy) -> FeedHealth | None:
    """Update the feed's health after a run that asked for it; returns the new health."""
    previous = load_health(archive, source_id, feed_url)
    health = next_health(previous, feed_url=feed_url, reason=reason, error=error, now=now, policy=policy)
    rel = health_path(source_id, feed_url)
    if health is not None:
        archive.write_bytes(rel, json.dumps(health.to_dict(), sort_keys=True).encode("utf-8"))
        if health.quarantined_until and (previous is None or not previous.quarantined_until
                                         or previous.quarantined_until != health.quarantined_until):
            log.warning("%s %s quarantined after %d identical failures (%s) until %s", source_id, feed_url,
                        health.failures, reason, health.quarantined_until)
    elif previous is not None:
        archive.remove(rel)
    return health
