"""Fetch one article page: allowed domain and public address, robots.txt, then a polite GET.

The order matters, at every redirect hop: the safety checks run before anything touches the
network (a link to 10.0.0.1 costs no packet), then robots.txt of the hop's host, then the GET. The Content-Type must be one of the
configured page types (a missing one or `application/octet-stream` is sniffed instead);
a binary body is refused. The charset is found from the HTTP header, then the page's
`<meta>`, then detection (w3lib.encoding + charset-normalizer) and recorded in the
capture's meta as `charset` for the processing stage. Bodies are kept as received.
"""

from __future__ import annotations

import codecs
import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import charset_normalizer
import httpx
from w3lib.encoding import html_to_unicode

from pipeline.acquire.errors import REFUSAL_REASONS, FetchError
from pipeline.acquire.feeds import FeedItem
from pipeline.acquire.http import HttpResult, PoliteClient
from pipeline.acquire.safety import check_url
from pipeline.models import Capture
from pipeline.sources import SourceConfig

log = logging.getLogger(__name__)

_SNIFFED_TYPES = {"", "application/octet-stream", "binary/octet-stream"}
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"ID3",
                 b"RIFF", b"OggS", b"\x00\x00\x00")


@dataclass
class PageOutcome:
    url: str
    status: str  # "fetched" | "unchanged" (304 to a conditional refetch) | "gone" | "refused" | "failed"
    reason: str | None = None  # FetchError.reason when not fetched
    error: str | None = None
    http_status: int | None = None
    final_url: str | None = None
    charset: str | None = None
    bytes: int = 0
    attempts: int = 0
    redirects: int = 0  # hops followed (details of this one item, never errors of their own)
    captures: list[Capture] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("captures")
        return d


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def looks_binary(body: bytes) -> bool:
    head = body[:1024]
    return head.startswith(_BINARY_MAGIC) or b"\x00" in head


def _detect(data: bytes) -> str | None:
    """charset-normalizer's best guess; among guesses with as little "chaos", windows-1252 first.

    Latin-1/windows-1252 text in French, German or Italian decodes without "chaos" as
    windows-1250, -1257 and others too, and charset-normalizer may rank one of those first
    (`très` would become `trčs`). windows-1252 is the WHATWG default for these languages.
    """
    matches = list(charset_normalizer.from_bytes(data[:65536]))
    if not matches:
        return None
    best = matches[0]
    tied = [m for m in matches if m.chaos <= best.chaos]
    if any("cp1252" in m.could_be_from_charset for m in tied):
        return "cp1252"  # as little chaos as the best guess, and the usual one here
    return best.encoding


def detect_charset(body: bytes, content_type: str | None) -> str:
    """HTTP header charset, then <meta charset>, then detection; `utf-8` when all are silent."""
    encoding, _ = html_to_unicode(content_type, body, default_encoding="utf-8", auto_detect_fun=_detect)
    try:
        return codecs.lookup(encoding).name  # one spelling: "utf-8", "cp1252", …
    except LookupError:
        return encoding


def _content_type_check(allowed: list[str]) -> Any:
    allowed_set = {a.lower() for a in allowed}

    def check(response: httpx.Response) -> None:
        mtype = media_type(response.headers.get("content-type"))
        if mtype not in allowed_set and mtype not in _SNIFFED_TYPES:
            raise FetchError("content_type", f"{response.url}: Content-Type {mtype!r} is not a page type")

    return check


def _robots_gate(client: PoliteClient, source: SourceConfig, captures: list[Capture]) -> Callable[[str], None]:
    def gate(hop_url: str) -> None:  # every hop: a redirect may land on another host
        check = client.robots.check(hop_url, source=source.id, politeness=source.politeness)
        captures.extend(check.captures)
        if not check.allowed and check.temporary:  # not a refusal: tried again next run
            raise FetchError("robots_unavailable", f"{hop_url}: robots.txt could not be read ({check.note})")
        if not check.allowed:
            raise FetchError("robots", f"{hop_url}: disallowed by robots.txt ({check.note})")

    return gate


def preflight(client: PoliteClient, source: SourceConfig, url: str,
              robots_captures: list[Capture] | None = None) -> FetchError | None:
    """The policy a link meets before its page is requested: http(s), allowed domain, public
    address, robots.txt (from the client's cache, else one robots.txt request per host).

    The dry run calls it instead of the GET; the real GET (`PoliteClient.get`, from `fetch_page`)
    runs the same two checks on every hop, the first included, before requesting it.
    """
    try:
        check_url(url, allow_private=client.config.allow_private_addresses, host_allowed=source.host_allowed,
                  resolver=client.resolver)
        _robots_gate(client, source, robots_captures if robots_captures is not None else [])(url)
    except FetchError as exc:
        return exc
    return None


def refusal(url: str, exc: FetchError) -> PageOutcome:
    """The outcome of a link refused before any page request."""
    return _failed(PageOutcome(url=url, status="failed"), exc)


def fetch_page(client: PoliteClient, source: SourceConfig, item: FeedItem,
               conditional: Mapping[str, str] | None = None) -> PageOutcome:
    """Fetch `item.link` for `source`. Never raises for network, HTTP or policy trouble.

    `conditional`: `If-None-Match` / `If-Modified-Since` of an archived page (a refetch); a 304
    answer is the outcome `unchanged` (reason `not_modified`), its exchange archived, no body.
    """
    config = client.config
    url = item.link
    outcome = PageOutcome(url=url, status="failed")
    robots_captures: list[Capture] = []
    # the GET applies `preflight`'s two checks (check_url, then the robots gate) to every hop,
    # the first included, before it is requested: the same decision as the dry run's
    robots_gate = _robots_gate(client, source, robots_captures)

    meta = {"guid": item.guid}
    if item.feed_url:
        meta["feed_url"] = item.feed_url
    try:
        result = client.get(url, kind="page", source=source.id, politeness=source.politeness,
                            host_allowed=source.host_allowed, max_bytes=config.max_page_bytes,
                            headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                                     **(conditional or {})},
                            check=_content_type_check(config.page_content_types), meta=meta, gate=robots_gate)
    except Exception as exc:  # a bug, not the network: robots.txt responses are still archived
        outcome.captures = list(robots_captures)
        return _unexpected(outcome, exc)
    try:
        return _finish(outcome, result, [*robots_captures])
    except Exception as exc:  # a bug, not the network: every response received is still archived
        outcome.captures = [*robots_captures, *result.captures]
        return _unexpected(outcome, exc)


def _finish(outcome: PageOutcome, result: HttpResult, robots_captures: list[Capture]) -> PageOutcome:
    url = outcome.url
    outcome.attempts = result.attempts
    outcome.redirects = sum(1 for c in result.captures if "redirect_to" in c.meta)
    outcome.http_status = result.status
    outcome.final_url = result.final_url if result.final_url != url else None
    captures = list(result.captures)
    if result.error is None and result.status == 304:
        outcome.captures = [*robots_captures, *captures]
        outcome.status, outcome.reason = "unchanged", "not_modified"
        return outcome
    if result.error is None and looks_binary(result.body):
        captures[-1] = dataclasses.replace(captures[-1], body=b"",
                                           meta={**captures[-1].meta, "refused": "content_type"})
        outcome.captures = [*robots_captures, *captures]
        return _failed(outcome, FetchError("content_type", f"{url}: binary body"))
    if result.error is not None:
        outcome.captures = [*robots_captures, *captures]
        return _failed(outcome, result.error)
    charset = detect_charset(result.body, result.header("content-type"))
    captures[-1] = dataclasses.replace(captures[-1], meta={**captures[-1].meta, "charset": charset})
    outcome.captures = [*robots_captures, *captures]
    outcome.status = "fetched"
    outcome.charset = charset
    outcome.bytes = len(result.body)
    return outcome


def _unexpected(outcome: PageOutcome, exc: Exception) -> PageOutcome:
    log.exception("unexpected error fetching %s", outcome.url)
    outcome.status = "failed"
    outcome.reason = "error"
    outcome.error = f"{outcome.url}: {type(exc).__name__}: {exc}"
    return outcome


def _failed(outcome: PageOutcome, exc: FetchError) -> PageOutcome:
    outcome.reason = exc.reason
    outcome.error = str(exc)
    if exc.reason == "gone":
        outcome.status = "gone"
    elif exc.reason in REFUSAL_REASONS:
        outcome.status = "refused"
    else:
        outcome.status = "failed"
    return outcome
