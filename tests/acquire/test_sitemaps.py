"""Sitemaps: index -> urlsets (plain and gzip, Google News) -> URLs filtered by date."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from pipeline.acquire.sitemaps import SitemapError, list_sitemap_urls, parse_sitemap

SITEMAPS = Path(__file__).parent.parent / "fixtures" / "sitemaps"
KAZAKH = "https://www.rts.ch/info/monde/12766431-les-forces-russes-entament-leur-retrait-du-kazakhstan.html"


def _serve(httpserver: HTTPServer) -> str:
    base = httpserver.url_for("").rstrip("/")
    index = (SITEMAPS / "index.xml").read_text().replace("{base}", base)
    httpserver.expect_request("/sitemap.xml").respond_with_data(index, content_type="application/xml")
    httpserver.expect_request("/sitemap-news.xml").respond_with_data(
        (SITEMAPS / "news.xml").read_bytes(), content_type="application/xml")
    httpserver.expect_request("/sitemap-2022-01.xml.gz").respond_with_data(
        gzip.compress((SITEMAPS / "month.xml").read_bytes()), content_type="application/gzip")
    httpserver.expect_request("/sitemap-2021-12.xml").respond_with_data(
        (SITEMAPS / "old.xml").read_bytes(), content_type="application/xml")
    return base


def _fetch(url: str) -> bytes:
    response = httpx.get(url, timeout=5)
    response.raise_for_status()
    return response.content


def test_index_to_urlsets_to_date_filtered_urls(httpserver: HTTPServer) -> None:
    base = _serve(httpserver)
    listing = list_sitemap_urls(_fetch, [f"{base}/sitemap.xml"],
                                start=datetime(2022, 1, 13, tzinfo=UTC), end=datetime(2022, 1, 14, tzinfo=UTC))
    locs = [u.loc for u in listing.urls]
    # news publication date 2022-01-13T10:42+01:00 and lastmods on the 13th are in; the 12th,
    # the 20th, the undated URL and the news item of the 5th are out; duplicates appear once.
    assert locs == [KAZAKH, "https://www.rts.ch/info/economie/12765001-b.html"]
    assert listing.urls[0].news_title == "Les forces russes entament leur retrait du Kazakhstan"
    assert listing.urls[0].date == datetime(2022, 1, 13, 9, 42, tzinfo=UTC)
    assert listing.sitemaps_read == 3  # index + news + gzip month
    assert listing.sitemaps_skipped == 1  # December's lastmod is before the range: not fetched
    assert listing.undated == 1
    assert listing.errors == []
    assert all(req.path != "/sitemap-2021-12.xml" for req, _ in httpserver.log)


def test_undated_urls_can_be_included(httpserver: HTTPServer) -> None:
    base = _serve(httpserver)
    listing = list_sitemap_urls(_fetch, [f"{base}/sitemap-2022-01.xml.gz"], include_undated=True,
                                start=datetime(2022, 1, 13, tzinfo=UTC), end=datetime(2022, 1, 14, tzinfo=UTC))
    assert "https://www.rts.ch/info/economie/12765003-undated.html" in [u.loc for u in listing.urls]


def test_a_broken_sitemap_is_recorded_and_others_still_read(httpserver: HTTPServer) -> None:
    base = _serve(httpserver)
    httpserver.expect_request("/broken.xml").respond_with_data("<urlset><url><loc>x</lo", status=200)
    listing = list_sitemap_urls(_fetch, [f"{base}/broken.xml", f"{base}/sitemap-news.xml"],
                                start=datetime(2022, 1, 1, tzinfo=UTC), end=datetime(2022, 2, 1, tzinfo=UTC))
    assert len(listing.urls) == 2
    assert len(listing.errors) == 1 and "broken.xml" in listing.errors[0]
    assert "not well-formed" in listing.errors[0]


def test_entity_expansion_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol2;</loc></url></urlset>"""
    with pytest.raises(SitemapError, match="refused"):
        parse_sitemap(bomb)


def test_gzip_bomb_is_refused() -> None:
    big = gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024) + b"</urlset>")
    with pytest.raises(SitemapError, match="expands beyond"):
        parse_sitemap(big)


def test_unknown_root_and_non_xml() -> None:
    with pytest.raises(SitemapError, match="neither"):
        parse_sitemap(b"<rss><channel/></rss>")
    with pytest.raises(SitemapError, match="not well-formed"):
        parse_sitemap(b"\x00\x01binary")
