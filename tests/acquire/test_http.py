from __future__ import annotations

import gzip
import socket
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace

import pytest
from werkzeug import Request, Response

from pipeline.acquire.feeds import FeedItem
from pipeline.acquire.http import parse_retry_after
from pipeline.acquire.pages import detect_charset, fetch_page
from tests.acquire.conftest import FEEDS, make_config, serve_robots


def _get(client, url: str, **kw):
    return client.get(url, kind="page", source="test", **kw)


def test_user_agent_names_the_contact_url_and_gzip_is_decoded(server, base_url, client):
    body = "<html><p>Données compressées</p></html>".encode()
    server.expect_request("/info/gz.html").respond_with_data(
        gzip.compress(body), content_type="text/html; charset=utf-8", headers={"Content-Encoding": "gzip"})
    result = _get(client, f"{base_url}/info/gz.html")
    assert result.ok and result.body == body
    request, _ = server.log[-1]
    assert request.headers["User-Agent"] == "newsflow-test/1.0 (+https://example.org/contact)"
    assert "gzip" in request.headers["Accept-Encoding"]
    assert result.captures[0].body == body and result.captures[0].request_headers


def test_429_with_retry_after_then_success(server, base_url, make_client):
    config = make_config(base_url, retry={"attempts": 3, "backoff_base_seconds": 0.001,
                                          "backoff_max_seconds": 0.001, "retry_after_max_seconds": 60})
    client = make_client(config)
    server.expect_oneshot_request("/info/busy.html").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"})
    server.expect_oneshot_request("/info/busy.html").respond_with_data("<html>ok</html>", content_type="text/html")
    result = _get(client, f"{base_url}/info/busy.html")
    assert result.ok and result.status == 200 and result.attempts == 2
    assert client.sleeps == [7.0]  # the server's Retry-After, not the backoff (recorded, not slept)
    assert [c.status for c in result.captures] == [429, 200]


def test_retry_after_longer_than_the_maximum_is_not_cut_short(server, base_url, client):
    """Retry-After 7 s with retry_after_max_seconds 0.05: no early retry; the run gives up."""
    server.expect_request("/info/busy.html").respond_with_data("slow down", status=429, headers={"Retry-After": "7"})
    result = _get(client, f"{base_url}/info/busy.html")
    assert result.error.reason == "http_429" and result.attempts == 1 and client.sleeps == []
    assert len(server.log) == 1


def test_retry_after_drives_the_wait_when_under_the_cap(server, base_url, make_client):
    config = make_config(base_url, retry={"attempts": 2, "backoff_base_seconds": 0.001,
                                          "backoff_max_seconds": 0.001, "retry_after_max_seconds": 600})
    client = make_client(config)
    server.expect_oneshot_request("/info/b.html").respond_with_data("", status=503, headers={"Retry-After": "3"})
    server.expect_oneshot_request("/info/b.html").respond_with_data("<html>ok</html>", content_type="text/html")
    assert _get(client, f"{base_url}/info/b.html").ok
    assert client.sleeps == [3.0]  # recorded, not slept: the test client's sleep is a no-op


def test_500_three_times_then_a_recorded_failure(server, base_url, client):
    server.expect_request("/info/broken.html").respond_with_data("oops", status=500)
    result = _get(client, f"{base_url}/info/broken.html")
    assert not result.ok
    assert result.error.reason == "http_500" and result.attempts == 3
    assert len(server.log) == 3 and [c.status for c in result.captures] == [500, 500, 500]
    assert len(client.sleeps) == 2 and all(0 < s <= 0.002 + 0.001 for s in client.sleeps)  # backoff + jitter


def test_backoff_is_exponential_with_jitter_from_tenacity(server, base_url, make_client, monkeypatch):
    """No Retry-After: waits of base·2^n plus a random jitter in [0, base], capped by the max."""
    config = make_config(base_url, retry={"attempts": 5, "backoff_base_seconds": 1, "backoff_max_seconds": 6,
                                          "retry_after_max_seconds": 60})
    server.expect_request("/info/down.html").respond_with_data("", status=502)
    jitters = iter([0.25, 0.5, 0.75, 1.0, 0.0])  # tenacity also computes a wait after the last attempt
    bounds: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        bounds.append((a, b))
        return next(jitters)

    monkeypatch.setattr("tenacity.wait.random", SimpleNamespace(uniform=uniform))  # tenacity's only
    client = make_client(config)
    result = _get(client, f"{base_url}/info/down.html")
    assert result.error.reason == "http_502" and result.attempts == 5
    assert client.sleeps == [1.25, 2.5, 4.75, 6.0]  # 1, 2, 4, 8 (capped at 6) + jitter
    assert bounds[:4] == [(0, 1.0)] * 4


def test_404_and_410_are_gone_without_retry(server, base_url, client):
    server.expect_request("/info/missing.html").respond_with_data("no", status=404)
    server.expect_request("/info/removed.html").respond_with_data("no", status=410)
    for path in ("/info/missing.html", "/info/removed.html"):
        result = _get(client, f"{base_url}{path}")
        assert result.error.reason == "gone" and result.attempts == 1
    assert len(server.log) == 2 and client.sleeps == []


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A socket that accepts connections (backlog) but never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_a_timeout_is_retried_then_recorded(silent_port, make_client):
    base = f"http://127.0.0.1:{silent_port}"
    config = make_config(base, timeouts={"connect": 0.5, "read": 0.1, "total": 5})
    client = make_client(config)
    result = _get(client, f"{base}/info/slow.html")
    assert result.error.reason == "timeout" and result.attempts == 3
    assert result.captures == []


def test_page_over_the_size_cap(server, base_url, make_client):
    config = make_config(base_url, max_page_bytes=1000)
    client = make_client(config)
    serve_robots(server)
    server.expect_request("/info/huge.html").respond_with_data("<html>" + "x" * 5000 + "</html>",
                                                               content_type="text/html")
    outcome = fetch_page(client, config.get("test"), FeedItem(guid="g", link=f"{base_url}/info/huge.html"))
    assert (outcome.status, outcome.reason) == ("refused", "too_large")
    page = [c for c in outcome.captures if c.kind == "page"][-1]
    assert page.body == b"" and page.meta["refused"] == "too_large"


def test_streamed_body_over_the_cap_without_content_length(server, base_url, make_client):
    config = make_config(base_url, max_page_bytes=10_000)
    client = make_client(config)

    def handler(_request: Request) -> Response:
        return Response((b"<p>" + b"y" * 1000 for _ in range(50)), content_type="text/html")

    server.expect_request("/info/stream.html").respond_with_handler(handler)
    result = _get(client, f"{base_url}/info/stream.html")
    assert result.error.reason == "too_large" and result.attempts == 1


def test_gzip_bomb_refused_by_the_decompressed_cap(server, base_url, make_client):
    config = make_config(base_url, max_decompressed_bytes=1_000_000)
    client = make_client(config)
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 100_000
    server.expect_request("/feed.xml").respond_with_data(bomb, content_type="application/rss+xml",
                                                         headers={"Content-Encoding": "gzip"})
    result = client.get(f"{base_url}/feed.xml", kind="feed", source="test", max_bytes=5_000_000)
    assert result.error.reason == "too_large" and "decoded" in str(result.error)


def test_binary_pages_are_refused(server, base_url, client, config):
    serve_robots(server)
    server.expect_request("/info/doc.pdf").respond_with_data(b"%PDF-1.7 ...", content_type="application/pdf")
    server.expect_request("/info/blob").respond_with_data(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
                                                          content_type="application/octet-stream")
    source = config.get("test")
    pdf = fetch_page(client, source, FeedItem(guid="a", link=f"{base_url}/info/doc.pdf"))
    blob = fetch_page(client, source, FeedItem(guid="b", link=f"{base_url}/info/blob"))
    assert (pdf.status, pdf.reason) == ("refused", "content_type")
    assert (blob.status, blob.reason) == ("refused", "content_type")
    assert all(c.body == b"" for c in pdf.captures + blob.captures if c.kind == "page")


def test_page_charset_from_header_meta_or_detection(server, base_url, client, config):
    serve_robots(server)
    cp1252 = (FEEDS / "article-cp1252.html").read_bytes()
    server.expect_request("/info/meta.html").respond_with_data(cp1252, content_type="text/html")
    server.expect_request("/info/header.html").respond_with_data(
        "<p>Genève</p>".encode("latin-1"), content_type="text/html; charset=ISO-8859-1")
    source = config.get("test")
    meta = fetch_page(client, source, FeedItem(guid="a", link=f"{base_url}/info/meta.html"))
    header = fetch_page(client, source, FeedItem(guid="b", link=f"{base_url}/info/header.html"))
    assert meta.status == "fetched" and meta.charset == "cp1252"
    assert meta.captures[-1].meta["charset"] == "cp1252" and meta.captures[-1].body == cp1252
    assert header.charset == "cp1252"  # w3lib maps latin-1 to its superset, as browsers do
    text = "<html><body><p>Überraschung in Zürich: Bäckerei schließt, Grüße aus Österreich</p></body></html>"
    assert detect_charset(text.encode("utf-8"), "text/html") == "utf-8"


def test_parse_retry_after_forms():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize("text", [
    "Le Conseil fédéral a décidé mercredi de prolonger les mesures; très bien, où? À Genève.",
    "Überraschung in Zürich: Bäckerei schließt, Grüße aus Österreich.",
    "Il Consiglio federale ha deciso mercoledì di prorogare le misure per la sanità.",
])
def test_latin1_page_without_declared_charset_is_detected_as_windows_1252(server, base_url, client, config, text):
    """No charset in the header or a <meta>: detection must not pick windows-1250/1258 (è → č)."""
    serve_robots(server)
    html = f"<html><body><p>{text}</p></body></html>"
    server.expect_request("/info/latin.html").respond_with_data(html.encode("latin-1"), content_type="text/html")
    outcome = fetch_page(client, config.get("test"), FeedItem(guid="l", link=f"{base_url}/info/latin.html"))
    assert outcome.status == "fetched" and outcome.charset == "cp1252"
    assert outcome.captures[-1].body.decode(outcome.charset) == html


@pytest.mark.parametrize(("text", "encoding"), [
    ("Zażółć gęślą jaźń. Prezydent powiedział w środę, że rząd przedłuży środki.", "cp1250"),
    ("Президент заявил в среду, что правительство продлит меры.", "cp1251"),
])
def test_detection_still_finds_other_single_byte_charsets(text, encoding):
    html = f"<html><body><p>{text}</p></body></html>"
    assert detect_charset(html.encode(encoding), "text/html") == encoding


def _deflate(data: bytes, *, raw: bool) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return co.compress(data) + co.flush()


@pytest.mark.parametrize("raw", [False, True], ids=["zlib-deflate", "raw-deflate"])
def test_deflate_bodies_are_decoded(server, base_url, client, raw):
    body = ("<html><p>" + "Données déflatées. " * 2000 + "</p></html>").encode()
    server.expect_request("/info/d.html").respond_with_data(
        _deflate(body, raw=raw), content_type="text/html", headers={"Content-Encoding": "deflate"})
    result = _get(client, f"{base_url}/info/d.html")
    assert result.ok and result.body == body


def test_gzip_bomb_is_refused_without_inflating_it_in_memory(server, base_url, make_client):
    """200 MB of zeros in ~200 KB of gzip, cap 1 MB: decoding stops near the cap, in bounded memory."""
    config = make_config(base_url, max_decompressed_bytes=1_000_000)
    client = make_client(config)
    co = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    bomb = b"".join(co.compress(b"\0" * 1_000_000) for _ in range(200)) + co.flush()
    server.expect_request("/info/bomb.html").respond_with_data(bomb, content_type="text/html",
                                                               headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        result = _get(client, f"{base_url}/info/bomb.html")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error.reason == "too_large" and "decoded" in str(result.error)
    assert peak < 16_000_000  # httpx's own decoder inflates 64 KiB of input at once: ~64 MB here


def test_a_corrupt_gzip_body_is_a_decoding_error(server, base_url, client):
    server.expect_request("/info/bad.html").respond_with_data(b"\x1f\x8b\x08\x00garbage-not-gzip",
                                                              content_type="text/html",
                                                              headers={"Content-Encoding": "gzip"})
    result = _get(client, f"{base_url}/info/bad.html")
    assert result.error.reason == "decoding_error" and result.attempts == 1
