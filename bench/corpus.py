"""The benchmark corpus: N archived page captures of realistic length, in a temporary archive.

Base pages come from the project's fixtures (RTS pages under tests/fixtures/rts/ and
tests/fixtures/seed.html — French, the product's main source) and from the shared extraction
benchmark (../shared/benchmarks/extraction/zyte-aeb/html/*.html.gz — real pages of many sites,
mostly English). The corpus takes every shared page once (or as many as fit in
`web_share × N`) and fills the rest by cycling through the RTS pages, each copy under its own
URL (so document ids differ) and its own fetch time, spread over consecutive UTC hours like an
hourly crawl. Captures are written with `Archive.write_captures`, one call per hour.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from pipeline.archive import Archive
from pipeline.models import Capture

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SHARED_PAGES = REPO_ROOT.parent / "shared" / "benchmarks" / "extraction" / "zyte-aeb"
CORPUS_START = datetime(2024, 1, 15, tzinfo=UTC)
PER_HOUR = 100  # captures per archive hour
RTS_SOURCE = "rts"
WEB_SOURCE = "web"  # the shared benchmark's pages: not a configured source (generic profile)


@dataclass(frozen=True)
class BasePage:
    name: str
    source: str
    url: str
    html: bytes

    def copy(self, i: int) -> tuple[str, bytes]:
        """URL and body of copy number i: its own URL, also where the page declares one."""
        url = _variant_url(self.url, i)
        return url, with_url(self.html, declared_urls(self.html, self.url), url)


@dataclass
class CorpusInfo:
    root: str
    n: int
    start: datetime
    end: datetime
    hours: int
    bytes_html: int
    by_source: dict[str, int] = field(default_factory=dict)
    base_pages: dict[str, int] = field(default_factory=dict)
    write_s: float = 0.0
    warc_files: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"root": self.root, "n": self.n, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "hours": self.hours, "html_mb": round(self.bytes_html / 1e6, 1), "by_source": self.by_source,
                "distinct_base_pages": len(self.base_pages),
                "most_copied": dict(sorted(self.base_pages.items(), key=lambda kv: -kv[1])[:10]), "write_s": round(self.write_s, 2),
                "warc_files": self.warc_files}


def rts_pages(fixtures: Path = FIXTURES) -> list[BasePage]:
    """The RTS HTML fixtures (tests/fixtures/rts/*.html and seed.html)."""
    paths = sorted((fixtures / "rts").glob("*.html")) + sorted(fixtures.glob("seed.html"))
    pages = []
    for path in paths:
        html = path.read_bytes()
        url = urljoin("https://www.rts.ch/", _canonical(html) or f"/info/monde/{path.stem}.html")
        pages.append(BasePage(name=f"rts:{path.name}", source=RTS_SOURCE, url=url, html=html))
    return pages


def web_pages(root: Path = SHARED_PAGES) -> list[BasePage]:
    """The shared extraction benchmark's pages, with their original URLs."""
    truth_path = root / "ground-truth.json"
    truth = json.loads(truth_path.read_text("utf-8")) if truth_path.exists() else {}
    pages = []
    for path in sorted((root / "html").glob("*.html.gz")):
        key = path.name.split(".", 1)[0]
        url = (truth.get(key) or {}).get("url") or f"https://example.org/{key}"
        pages.append(BasePage(name=f"web:{key[:12]}", source=WEB_SOURCE, url=url,
                              html=gzip.decompress(path.read_bytes())))
    return pages


_CANONICAL = re.compile(rb'<link[^>]+rel=["\']canonical["\'][^>]*>', re.I)
_HREF = re.compile(rb'href=["\']([^"\']+)["\']', re.I)
_OG_URL = re.compile(rb'<meta[^>]+property=["\']og:url["\'][^>]*>', re.I)
_CONTENT = re.compile(rb'content=["\']([^"\']+)["\']', re.I)
_LD_URL = re.compile(rb'"(?:url|@id|mainEntityOfPage)"\s*:\s*"(https?:[^"]+|/[^"]*)"')


def declared_urls(html: bytes, base: str = "https://www.rts.ch/") -> set[bytes]:
    """The URLs a page declares for itself: canonical link and og:url, and JSON-LD url/@id
    values that point to the same path (not the site's or publisher's home page)."""
    own: set[bytes] = set()
    for tag_re, attr_re in ((_CANONICAL, _HREF), (_OG_URL, _CONTENT)):
        for m in tag_re.finditer(html):
            a = attr_re.search(m.group(0))
            if a:
                own.add(a.group(1))
    paths = {_path(u, base) for u in own} - {"", "/"}
    own = {u for u in own if _path(u, base) in paths}
    own.update(m.group(1) for m in _LD_URL.finditer(html) if _path(m.group(1), base) in paths)
    return own


def _path(url: bytes, base: str) -> str:
    return urlsplit(urljoin(base, url.decode("utf-8", "replace"))).path.rstrip("/")


def with_url(html: bytes, urls: set[bytes], new_url: str) -> bytes:
    """The page with every URL it declares for itself replaced by `new_url` (a copy of an
    article under its own URL, so that its document id differs)."""
    new = new_url.encode("utf-8")
    for old in sorted(urls, key=len, reverse=True):
        html = html.replace(old, new)
    return html


def _canonical(html: bytes) -> str | None:
    m = _CANONICAL.search(html)
    if not m:
        return None
    h = _HREF.search(m.group(0))
    return h.group(1).decode("utf-8", "replace") if h else None


def _variant_url(url: str, i: int) -> str:
    """A distinct URL per copy: `…/12345-title.html` → `…/12345-title-b000042.html`."""
    base, sep, query = url.partition("?")
    base = base.split("#", 1)[0].rstrip("/")
    m = re.match(r"^(.*?)(\.[a-z]{2,5})$", base.rsplit("/", 1)[-1])
    if m:
        head = base[: -len(m.group(0))] + m.group(1)
        new = f"{head}-b{i:06d}{m.group(2)}"
    else:
        new = f"{base}-b{i:06d}"
    return new + (sep + query if query else "")


def plan(n: int, *, web_share: float = 0.1, rts: list[BasePage] | None = None,
         web: list[BasePage] | None = None) -> Iterator[BasePage]:
    """Which base page each of the N captures copies: the shared pages once each (at most
    web_share × N of them), interleaved with RTS pages cycled to fill the rest."""
    rts = rts_pages() if rts is None else rts
    web = web_pages() if web is None else web
    if not rts and not web:
        raise RuntimeError(f"no base pages: neither {FIXTURES}/rts/*.html nor {SHARED_PAGES}/html")
    n_web = min(len(web), round(n * web_share)) if rts else n
    n_rts = n - n_web
    stride = (n / n_web) if n_web else 0.0
    web_slots = {int(k * stride) for k in range(n_web)} if n_web else set()
    wi = ri = 0
    for i in range(n):
        if (i in web_slots or not rts) and web:
            yield web[wi % len(web)]
            wi += 1
        elif n_rts:
            yield rts[ri % len(rts)]
            ri += 1


def build_corpus(root: str | Path, n: int, *, web_share: float = 0.1, run_id: str = "bench-corpus",
                 start: datetime = CORPUS_START, per_hour: int = PER_HOUR) -> CorpusInfo:
    """Write N page captures into the archive at `root`; return what was written."""
    import time

    t0 = time.perf_counter()
    archive = Archive(str(root))
    info = CorpusInfo(root=str(root), n=n, start=start, end=start, hours=0, bytes_html=0)
    hour_batch: list[Capture] = []
    current_hour = 0
    for i, page in enumerate(plan(n, web_share=web_share)):
        hour = i // per_hour
        if hour != current_hour and hour_batch:
            info.warc_files += len(archive.write_captures(hour_batch, run_id=run_id).paths)
            hour_batch = []
        current_hour = hour
        fetched_at = start + timedelta(hours=hour, seconds=(i % per_hour) * (3600 // per_hour))
        url, body = page.copy(i)
        hour_batch.append(Capture(
            url=url, fetched_at=fetched_at, status=200, body=body,
            kind="page", source=page.source,
            response_headers=(("Content-Type", "text/html; charset=utf-8"),),
        ))
        info.bytes_html += len(body)
        info.by_source[page.source] = info.by_source.get(page.source, 0) + 1
        info.base_pages[page.name] = info.base_pages.get(page.name, 0) + 1
    if hour_batch:
        info.warc_files += len(archive.write_captures(hour_batch, run_id=run_id).paths)
    info.hours = current_hour + 1
    info.end = start + timedelta(hours=info.hours)
    info.write_s = time.perf_counter() - t0
    return info
