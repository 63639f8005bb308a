"""The ledger of item fates: what became of every item one source's feeds gave in one run.

It is the single source of truth behind the run table, `reports/*.json` and the Airflow task
summary: each item read from a feed has exactly one fate, so the items read are the sum of the
fates. Attempts and redirect hops are details of one item, never separate rows or errors.

| fate | when |
|---|---|
| `new`, `updated` | its page was fetched (never seen; or the feed says it changed, a retry, a refetch) |
| `unchanged` | settled by an earlier run (fetched, gone or refused): not requested again |
| `duplicate` | the same GUID or link earlier in this run (`duplicate_of` names the kept one) |
| `no_link` | the feed item has no usable link |
| `refused` | policy said no: `robots`, `not_allowed_domain`, `private_address`, `redirect_off_domain`, … |
| `gone` | 404 or 410 |
| `too_large` | over the wire or decoded size cap |
| `not_html` | not a page type (a PDF, an image, a binary body) |
| `failed` | no usable answer after its attempts (`reason`, `detail` = the last error); retried next run |
| `deferred` | not reached this run (`max_pages`); picked up by the next |

The dry run builds the same ledger with `predicted_outcomes` instead of fetched pages: items
refused before any request get the real run's fate; the others get the fate the request was
for (`new`, `updated`), since only the response can say gone, too large or not HTML.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FATES: tuple[str, ...] = ("new", "updated", "unchanged", "duplicate", "no_link", "refused", "gone", "too_large",
                          "not_html", "failed", "deferred")
FETCHED_FATES = frozenset({"new", "updated"})
_DECISION_FATE = {"new": "new", "retry": "new", "updated": "updated", "refetch": "updated", "unchanged": "unchanged"}
_REASON_FATE = {"gone": "gone", "too_large": "too_large", "content_type": "not_html"}


@dataclass
class ItemFate:
    fate: str
    url: str | None = None
    guid: str | None = None
    title: str | None = None
    feed_url: str | None = None
    reason: str | None = None  # refused: robots, not_allowed_domain, …; failed: timeout, http_503, …
    detail: str | None = None  # the last error of a failed item; why an item is unchanged
    duplicate_of: str | None = None
    attempts: int = 0
    redirects: int = 0
    http_status: int | None = None
    record_id: str | None = None  # the archived page capture (WARC-Record-ID) its document comes from
    document: str | None = None  # processing: "written", or "error: <why>" (set by the run's report)
    document_id: str | None = None  # the document's id (several pages may give the same canonical document)
    index: str | None = None  # indexing: "indexed" or "dead_letter" (set by the run's report)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, 0) or k == "fate"}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemFate:
        return cls(**dict(data))


@dataclass
class SourceLedger:
    source: str
    items: list[ItemFate] = field(default_factory=list)

    @property
    def items_read(self) -> int:
        return len(self.items)

    def counts(self) -> dict[str, int]:
        """Fate → items, every fate present (zeros included): they add up to `items_read`."""
        seen = Counter(i.fate for i in self.items)
        return {fate: seen.get(fate, 0) for fate in FATES}

    def reasons(self, fate: str) -> dict[str, int]:
        """The named reasons of one fate: `{"robots": 1, "not_allowed_domain": 2}` for `refused`."""
        return dict(sorted(Counter(i.reason or "unknown" for i in self.items if i.fate == fate).items()))

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "items_read": self.items_read, "fates": self.counts(),
                "refused": self.reasons("refused"), "failed": self.reasons("failed"),
                "items": [i.to_dict() for i in self.items]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceLedger:
        return cls(source=str(data["source"]), items=[ItemFate.from_dict(i) for i in data.get("items") or []])


def page_fate(outcome: Mapping[str, Any], decision: str) -> ItemFate:
    """The fate of an item whose page was asked for (`outcome`: PageOutcome.to_dict())."""
    status, reason = outcome.get("status"), outcome.get("reason")
    details = {"attempts": int(outcome.get("attempts") or 0), "redirects": int(outcome.get("redirects") or 0),
               "http_status": outcome.get("http_status")}
    if status == "fetched":
        details["record_id"] = outcome.get("record_id")
    if status in ("fetched", "would_fetch"):
        return ItemFate(_DECISION_FATE.get(decision, "new"), **details)
    if status == "unchanged":  # a 304 to a conditional refetch
        return ItemFate("unchanged", reason=reason, **details)
    if status == "gone" or reason in _REASON_FATE:  # detail: which cap, which type, which status
        return ItemFate(_REASON_FATE.get(str(reason), "gone"), reason=reason, detail=outcome.get("error"), **details)
    if status == "refused":
        return ItemFate("refused", reason=reason, detail=outcome.get("error"), **details)
    return ItemFate("failed", reason=reason, detail=outcome.get("error"), **details)


def build_ledger(source: str, feeds: Iterable[Any], decisions: Mapping[str, str],
                 outcomes: Sequence[Mapping[str, Any]], *, known: Mapping[str, str] | None = None) -> SourceLedger:
    """The ledger of one source from its feeds' results (`FeedResult`), the selection's
    decisions (link → new/updated/retry/refetch/unchanged) and the page outcomes (fetched or
    predicted). `known`: link → seen-ledger status, to say why an unchanged item is not asked
    for again (gone, refused:robots, …)."""
    ledger = SourceLedger(source=source)
    by_url = {str(o["url"]): o for o in outcomes}
    kept: dict[str, str] = {}  # link -> feed URL of the first item with it
    for feed in feeds:
        if feed.status == "failed":
            continue
        for drop in feed.dropped:
            ledger.items.append(ItemFate(
                "duplicate" if drop.get("reason") == "duplicate" else "no_link", url=drop.get("link"),
                guid=drop.get("guid"), title=drop.get("title") or None, feed_url=feed.feed_url,
                reason=None if drop.get("reason") in ("duplicate", "no_link") else drop.get("reason"),
                duplicate_of=drop.get("duplicate_of")))
        for item in feed.items:
            base = {"url": item.link, "guid": item.guid, "title": item.title or None, "feed_url": feed.feed_url}
            if item.link in kept:
                ledger.items.append(ItemFate("duplicate", duplicate_of=item.link, **base))
                continue
            kept[item.link] = feed.feed_url
            decision = decisions.get(item.link, "new")
            if decision == "unchanged":
                ledger.items.append(ItemFate("unchanged", detail=(known or {}).get(item.link), **base))
            elif item.link in by_url:
                ledger.items.append(dataclasses.replace(page_fate(by_url[item.link], decision), **base))
            else:
                ledger.items.append(ItemFate("deferred", reason="max_pages", **base))
    return ledger
