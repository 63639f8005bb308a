"""What a refetch backfill asks for, decided before any page request: the plan.

For each URL of a (day, source) — from the archive's seen ledger and the source's sitemaps:

| plan | when | request |
|---|---|---|
| `fetch` | never archived, or its last attempt failed for a transient reason | a plain GET |
| `revalidate` | archived | a conditional GET: its stored `ETag` (`If-None-Match`) and `Last-Modified`, else the time we fetched it (`If-Modified-Since`); a 304 costs no download |
| skipped `lastmod_not_newer` | archived, and the sitemap's `lastmod` is not after our fetch | none |
| skipped `gone`, `refused:<reason>` | known gone (404/410) or refused (robots, too large, not HTML, redirect off the domain, …) | none, unless `include_gone_refused` |
| skipped `off_domain` | its host is not in the source's `allowed_domains` | none, unless `include_gone_refused` (and then the safety check refuses it without a request) |

The plan is printed (`describe`) before the unit runs, and is the whole of a dry run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from pipeline.acquire.select import is_transient_failure
from pipeline.archive import SeenEntry
from pipeline.archive.state import SeenIndex
from pipeline.sources import SourceConfig


@dataclass
class RefetchPlan:
    source: str
    day: str
    fetch: list[str] = field(default_factory=list)
    revalidate: dict[str, dict[str, str]] = field(default_factory=dict)  # url -> conditional headers
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> urls

    def counts(self) -> dict[str, Any]:
        return {"fetch": len(self.fetch), "revalidate": len(self.revalidate),
                "skipped": {reason: len(urls) for reason, urls in sorted(self.skipped.items())}}

    def describe(self) -> str:
        """`rts 2026-12-01: 1 to fetch, 6 to revalidate (conditional), 5 skipped: gone 2, off_domain 1, …`"""
        skipped = sum(len(u) for u in self.skipped.values())
        reasons = ", ".join(f"{r} {n}" for r, n in self.counts()["skipped"].items())
        return (f"{self.source} {self.day}: {len(self.fetch)} to fetch, {len(self.revalidate)} to revalidate "
                f"(conditional), {skipped} skipped{': ' + reasons if reasons else ''}")

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "day": self.day, "fetch": list(self.fetch),
                "revalidate": {u: dict(h) for u, h in self.revalidate.items()},
                "skipped": {r: list(u) for r, u in self.skipped.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RefetchPlan:
        return cls(source=str(data["source"]), day=str(data["day"]), fetch=list(data.get("fetch") or []),
                   revalidate={str(u): dict(h) for u, h in (data.get("revalidate") or {}).items()},
                   skipped={str(r): list(u) for r, u in (data.get("skipped") or {}).items()})


def conditional_headers(entry: SeenEntry) -> dict[str, str]:
    """The validators of an archived page; without any stored, the time we fetched it."""
    headers = {"If-Modified-Since": entry.last_modified or format_datetime(entry.fetched_at, usegmt=True)}
    if entry.etag:
        headers["If-None-Match"] = entry.etag
    return headers


def plan_refetch(source: SourceConfig, seen: SeenIndex, candidates: Mapping[str, datetime | None], *, day: str,
                 include_gone_refused: bool = False) -> RefetchPlan:
    """The plan of one (day, source): `candidates` maps each URL to its sitemap `lastmod` (or None)."""
    plan = RefetchPlan(source=source.id, day=day)

    def skip(reason: str, url: str) -> None:
        plan.skipped.setdefault(reason, []).append(url)

    for url, lastmod in candidates.items():
        entry = seen.get(url)
        if not source.host_allowed(urlsplit(url).hostname):
            if include_gone_refused:
                plan.fetch.append(url)
            else:
                skip("off_domain", url)
        elif entry is None or is_transient_failure(entry.status):
            plan.fetch.append(url)
        elif entry.status == "gone" or entry.status.startswith("refused:"):
            if include_gone_refused:
                plan.fetch.append(url)
            else:
                skip(entry.status, url)
        elif lastmod is not None and lastmod <= entry.fetched_at:
            skip("lastmod_not_newer", url)
        else:
            plan.revalidate[url] = conditional_headers(entry)
    return plan
