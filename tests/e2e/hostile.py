"""The fixture site made hard, as a new user's first run meets the web: robots rules, the same
article in two feeds, an item without a link, 429 and 503 answered with Retry-After, a redirect
on the domain and one off it, gone pages, a gzip page far beyond any article, a PDF, a page
that answers 503 to every attempt, links to a foreign host and to the link-local metadata
address, and a feed that is an XML entity bomb.

Every request is counted per path (`HostileSite.hits`), and conditional ones apart
(`HostileSite.conditional`), so a test can assert what was asked for and how.
"""

from __future__ import annotations

import gzip
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from werkzeug import Request, Response

from tests.e2e.site import ARTICLES, article_html

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><title>&lol2;</title></channel></rss>
"""
MAX_DECODED = 300_000  # the sources file's max_decompressed_bytes: the big page is 10 times that


def _slug(art: dict) -> str:
    return f"/info/{art['slug']}.html"


@dataclass
class HostileSite:
    base: str  # http://127.0.0.1:PORT
    published: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    hits: Counter[str] = field(default_factory=Counter)
    conditional: Counter[str] = field(default_factory=Counter)  # requests with If-None-Match / If-Modified-Since

    # ------------------------------------------------------------------ what the feeds list
    def links(self) -> dict[str, str]:
        """Name → link of every item of the `main` feed (besides the articles)."""
        b = self.base
        return {
            "robots": f"{b}/private/secret.html",
            "foreign": "http://www.example.com/info/elsewhere.html",
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "throttled": f"{b}/info/throttled.html",
            "unavailable": f"{b}/info/unavailable.html",
            "moved": f"{b}/info/moved.html",
            "offsite": f"{b}/info/offsite.html",
            "missing": f"{b}/info/missing.html",
            "removed": f"{b}/info/removed.html",
            "huge": f"{b}/info/huge.html",
            "pdf": f"{b}/info/report.pdf",
            "down": f"{b}/info/down.html",
        }

    def _item(self, title: str, link: str | None, guid: str, when: datetime) -> str:
        link_xml = f"<link>{html.escape(link)}</link>" if link else ""
        return (f"<item><title>{html.escape(title)}</title>{link_xml}<guid isPermaLink=\"false\">{guid}</guid>"
                f"<pubDate>{format_datetime(when)}</pubDate></item>")

    def _rss(self, items: list[str]) -> bytes:
        return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>t</title>"
                f"<link>{self.base}/</link><description>d</description>{''.join(items)}</channel></rss>").encode()

    def feed_main(self) -> bytes:
        when = self.published
        items = [self._item(a["title"], f"{self.base}{_slug(a)}", f"rts-{i}", when) for i, a in enumerate(ARTICLES[:2])]
        items.append(self._item("Sans lien", None, "rts-nolink", when))
        items += [self._item(name, link, f"rts-{name}", when) for name, link in self.links().items()]
        return self._rss(items)

    def feed_second(self) -> bytes:
        """The first article again (same link, another feed) and one article of its own."""
        when = self.published
        return self._rss([self._item(ARTICLES[0]["title"], f"{self.base}{_slug(ARTICLES[0])}", "rts-0", when),
                          self._item(ARTICLES[2]["title"], f"{self.base}{_slug(ARTICLES[2])}", "rts-2", when)])

    def feed_urls(self) -> list[str]:
        return [f"{self.base}/feeds/main.xml", f"{self.base}/feeds/second.xml", f"{self.base}/feeds/bomb.xml"]

    def sitemap(self) -> bytes:
        """For refetch backfills: a page no feed gave (never archived), an article already fetched
        whose lastmod is not newer than our fetch, the gone and too-large pages, a foreign link."""
        when = self.published.isoformat()
        locs = [f"{self.base}/info/fresh.html", f"{self.base}{_slug(ARTICLES[0])}", self.links()["removed"],
                self.links()["huge"], "http://www.example.com/info/elsewhere.html"]
        urls = "".join(f"<url><loc>{html.escape(loc)}</loc><lastmod>{when}</lastmod></url>" for loc in locs)
        return ('<?xml version="1.0" encoding="UTF-8"?>'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()

    def page_requests(self) -> int:
        return sum(n for path, n in self.hits.items() if not path.startswith(("/feeds/", "/robots.txt", "/sitemap")))

    # ------------------------------------------------------------------ answers
    def handle(self, request: Request) -> Response:
        path = request.path
        self.hits[path] += 1
        if request.headers.get("If-None-Match") or request.headers.get("If-Modified-Since"):
            self.conditional[path] += 1
        n = self.hits[path]
        html_type = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return Response("User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        if path == "/feeds/main.xml":
            return Response(self.feed_main(), content_type="application/rss+xml")
        if path == "/feeds/second.xml":
            return Response(self.feed_second(), content_type="application/rss+xml")
        if path == "/feeds/bomb.xml":
            return Response(BOMB, content_type="application/rss+xml")
        if path == "/sitemap.xml":
            return Response(self.sitemap(), content_type="application/xml")
        for i, art in enumerate(ARTICLES):
            if path == _slug(art):
                return self._page(request, article_html(art, base=self.base, published=self.published
                                                        - timedelta(minutes=10 * i)))
        if path == "/info/throttled.html" and n % 2 == 1:
            return Response("slow down", status=429, headers={"Retry-After": "0"}, content_type="text/plain")
        if path == "/info/unavailable.html" and n % 2 == 1:
            return Response("busy", status=503, headers={"Retry-After": "0"}, content_type="text/plain")
        if path in ("/info/throttled.html", "/info/unavailable.html", "/info/landing.html", "/info/fresh.html"):
            return self._page(request, article_html(ARTICLES[3], base=self.base, published=self.published))
        if path == "/info/down.html":  # every attempt: the item fails after them, retried next run
            return Response("down", status=503, headers={"Retry-After": "0"}, content_type="text/plain")
        if path == "/info/moved.html":
            return Response("", status=301, headers={"Location": f"{self.base}/info/landing.html"})
        if path == "/info/offsite.html":
            return Response("", status=302, headers={"Location": "http://localhost/info/elsewhere.html"})
        if path == "/info/removed.html":
            return Response("gone", status=410, content_type="text/plain")
        if path == "/info/huge.html":
            body = gzip.compress(b"<html><body>" + b"<p>bla bla bla</p>" * (MAX_DECODED * 10 // 18) + b"</body></html>")
            return Response(body, headers={"Content-Encoding": "gzip"}, content_type=html_type)
        if path == "/info/report.pdf":
            return Response(b"%PDF-1.4 fixture", content_type="application/pdf")
        return Response("not found", status=404, content_type="text/plain")

    def _page(self, request: Request, body: bytes) -> Response:
        etag = f'"v-{len(body)}"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, headers={"ETag": etag}, content_type="text/html; charset=utf-8")

    def install(self, httpserver) -> None:  # pytest_httpserver.HTTPServer
        httpserver.expect_request(re.compile(r"/.*")).respond_with_handler(self.handle)


def write_hostile_sources(path: Path, site: HostileSite) -> Path:
    feeds = "\n".join(f"      - \"{u}\"" for u in site.feed_urls())
    path.write_text(f"""user_agent: "newsflow-test/0.1"
contact_url: "https://example.org/newsflow"
timeouts: {{connect: 5, read: 5, total: 10}}
allow_private_addresses: true
max_decompressed_bytes: {MAX_DECODED}
retry: {{attempts: 3, backoff_base_seconds: 0.01, backoff_max_seconds: 0.05, retry_after_max_seconds: 0.1}}
sources:
  - id: rts
    name: "RTS Info (hostile fixtures)"
    site_profile: rts
    language: fr
    feeds:
{feeds}
    allowed_domains: ["127.0.0.1"]
    sitemaps: ["{site.base}/sitemap.xml"]
    politeness: {{requests_per_second: 50}}
""", encoding="utf-8")
    return path
