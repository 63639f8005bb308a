"""robots.txt, fetched once per host and cached for the life of the client (protego).

Rules of RFC 9309: a 2xx body is parsed; 4xx (no robots.txt) allows everything; 5xx or an
unreachable host disallows everything on that host for this run — temporarily: the pages are
recorded `failed:robots_unavailable` and tried again by the next run, not refused for good. A `Crawl-delay` for our
user agent becomes the host's minimum interval between requests (capped at 60 s). Every
robots.txt response is handed back once as captures to archive (kind "robots").
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from protego import Protego

from pipeline.models import Capture
from pipeline.sources import Politeness

if TYPE_CHECKING:
    from pipeline.acquire.http import PoliteClient

log = logging.getLogger(__name__)

ROBOTS_MAX_BYTES = 512 * 1024
CRAWL_DELAY_MAX = 60.0


@dataclass
class RobotsRules:
    host_url: str  # scheme://host[:port]
    parser: Protego | None  # None with allow_all / disallow_all below
    allow_all: bool = False
    note: str = ""  # why (e.g. "404: no robots.txt", "unavailable: timeout")
    temporary: bool = False  # disallowed only because robots.txt could not be read this time

    def can_fetch(self, url: str, user_agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, user_agent))


@dataclass
class RobotsCheck:
    allowed: bool
    captures: list[Capture] = field(default_factory=list)  # non-empty the first time a host is seen
    note: str = ""
    temporary: bool = False  # see RobotsRules.temporary: the page is worth trying next run


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def agent_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: `newsflow/0.1 (…)` → `newsflow`."""
    return user_agent.split("/", 1)[0].split(" ", 1)[0] or "*"


class RobotsCache:
    def __init__(self, client: PoliteClient) -> None:
        self.client = client
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def check(self, url: str, *, source: str, politeness: Politeness | None = None) -> RobotsCheck:
        key = robots_url(url)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        captures: list[Capture] = []
        with lock:
            rules = self._rules.get(key)
            if rules is None:
                rules, captures = self._fetch(key, source=source, politeness=politeness)
                self._rules[key] = rules
        token = agent_token(self.client.config.user_agent)
        return RobotsCheck(allowed=rules.can_fetch(url, token), captures=captures, note=rules.note,
                           temporary=rules.temporary)

    def _fetch(self, url: str, *, source: str, politeness: Politeness | None) -> tuple[RobotsRules, list[Capture]]:
        result = self.client.get(url, kind="robots", source=source, politeness=politeness,
                                 max_bytes=ROBOTS_MAX_BYTES)
        host_url = url.removesuffix("/robots.txt")
        status = result.status
        if result.ok and status is not None and 200 <= status < 300:
            parser = Protego.parse(result.body.decode("utf-8", errors="replace"))
            delay = parser.crawl_delay(agent_token(self.client.config.user_agent))
            if delay:
                host = urlsplit(url).hostname or ""
                self.client.limiter.set_min_interval(host, min(float(delay), CRAWL_DELAY_MAX))
            rules = RobotsRules(host_url, parser, note="robots.txt")
        elif result.error is not None and result.error.status is not None and 400 <= result.error.status < 500 \
                and result.error.status != 429:
            rules = RobotsRules(host_url, None, allow_all=True, note=f"{result.error.status}: no robots.txt")
        elif result.error is not None and result.error.reason in ("private_address", "bad_url"):
            rules = RobotsRules(host_url, None, allow_all=False, note=f"refused: {result.error.reason}")
        else:
            reason = result.error.reason if result.error else f"http_{status}"
            rules = RobotsRules(host_url, None, allow_all=False, note=f"unavailable: {reason}", temporary=True)
            log.warning("%s unavailable (%s): host treated as disallowed for this run", url, reason)
        return rules, result.captures
