"""What is new: decide, per feed item, whether its page must be fetched. Pure functions.

An item is identified by its canonical URL (`FeedItem.link`). Against the source's seen
ledger in the archive (latest `SeenEntry` per URL):
- never seen → "new";
- seen, and the feed now says it changed (a later `updated`, a later `published`, a changed
  title; a date the feed did not give before counts when it is after our fetch) → "updated";
- seen but the last attempt failed for a transient reason (timeout, 5xx, 429, connection)
  → "retry";
- otherwise (fetched, gone, refused) → "unchanged", unless `refetch` → "refetch".
"""

from __future__ import annotations

from datetime import datetime

from pipeline.acquire.errors import REFUSAL_REASONS
from pipeline.acquire.feeds import FeedItem
from pipeline.archive import SeenEntry

Decision = str  # "new" | "updated" | "retry" | "refetch" | "unchanged"
FETCH_DECISIONS = frozenset({"new", "updated", "retry", "refetch"})


def _later(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and a > b


def is_transient_failure(status: str) -> bool:
    """A ledger status of a failure worth retrying (timeout, 5xx, 429, connection, …)."""
    if not status.startswith("failed:"):
        return False
    return status.split(":", 1)[1] not in REFUSAL_REASONS


def decide(item: FeedItem, entry: SeenEntry | None, *, refetch: bool = False) -> Decision:
    if entry is None:
        return "new"
    # A date the feed gives now is compared with the one it gave when we fetched the page, or,
    # when it gave none then, with the time of that fetch.
    if _later(item.updated, entry.updated or entry.fetched_at):
        return "updated"
    if _later(item.published, entry.published or entry.fetched_at):
        return "updated"
    if item.title and entry.title and item.title != entry.title:
        return "updated"
    if is_transient_failure(entry.status):
        return "retry"
    return "refetch" if refetch else "unchanged"


def seen_status(outcome_status: str, reason: str | None) -> str:
    """The ledger status of a page outcome: fetched | gone | refused:<r> | failed:<r>."""
    if outcome_status in ("fetched", "gone"):
        return outcome_status
    return f"{outcome_status}:{reason or 'unknown'}"
