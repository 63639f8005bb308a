from __future__ import annotations

import threading
import time
from typing import Any

from werkzeug import Request, Response

from pipeline.acquire.feeds import FeedItem
from pipeline.acquire.pages import fetch_page
from pipeline.acquire.ratelimit import HostLimiter
from pipeline.acquire.robots import agent_token
from pipeline.sources import Politeness
from tests.acquire.conftest import make_config, page_hits, serve_robots


def _item(base_url: str, path: str) -> FeedItem:
    return FeedItem(guid=path, link=f"{base_url}{path}")


def test_robots_disallowing_a_path(server, base_url, client, config):
    serve_robots(server, "User-agent: *\nDisallow: /info/private/\n\nUser-agent: newsflow-test\n"
                         "Disallow: /info/secret\n")
    server.expect_request("/info/public.html").respond_with_data("<html>ok</html>", content_type="text/html")
    source = config.get("test")
    first = fetch_page(client, source, _item(base_url, "/info/secret-plan.html"))
    second = fetch_page(client, source, _item(base_url, "/info/public.html"))
    assert (first.status, first.reason) == ("refused", "robots")
    assert second.status == "fetched"
    robots_requests = [req for req, _ in server.log if req.path == "/robots.txt"]
    assert len(robots_requests) == 1  # cached per host
    assert [c.kind for c in first.captures] == ["robots"] and second.captures[0].kind == "page"
    assert page_hits(server) == 1  # the disallowed page was never requested


def test_group_for_our_agent_applies_and_others_do_not(server, base_url, client, config):
    serve_robots(server, "User-agent: otherbot\nDisallow: /\n")
    server.expect_request("/info/a.html").respond_with_data("<html>a</html>", content_type="text/html")
    assert fetch_page(client, config.get("test"), _item(base_url, "/info/a.html")).status == "fetched"
    assert agent_token("newsflow/0.1 (+https://x)") == "newsflow"


def test_missing_robots_allows_and_broken_robots_disallows(server, base_url, make_client, config):
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/info/a.html").respond_with_data("<html>a</html>", content_type="text/html")
    assert fetch_page(make_client(config), config.get("test"), _item(base_url, "/info/a.html")).status == "fetched"

    server.clear()
    server.expect_request("/robots.txt").respond_with_data("down", status=503)
    outcome = fetch_page(make_client(config), config.get("test"), _item(base_url, "/info/a.html"))
    assert (outcome.status, outcome.reason) == ("failed", "robots_unavailable")  # not refused for good
    assert "unavailable: http_503" in (outcome.error or "")
    assert page_hits(server) == 0


def test_pages_behind_an_unavailable_robots_txt_are_tried_again_next_run(server, base_url, config, archive,
                                                                       make_client):
    from pipeline.acquire.run import run_fetch
    from tests.acquire.conftest import feed_bytes

    server.expect_request("/feed.xml").respond_with_data(feed_bytes("rss_basic.xml", base_url),
                                                         content_type="application/rss+xml")
    server.expect_oneshot_request("/robots.txt").respond_with_data("down", status=503)
    first = run_fetch(config, archive=archive, run_id="run-1", client=make_client(config))
    assert first.pages_fetched == 0 and first.pages_failed == {"robots_unavailable": 3} and page_hits(server) == 0
    assert archive.seen("test").get(f"{base_url}/info/monde/1.html").status == "failed:robots_unavailable"
    serve_robots(server)
    for path in ("/info/monde/1.html", "/info/suisse/2.html", "/info/culture/3.html"):
        server.expect_request(path).respond_with_data("<html>ok</html>", content_type="text/html")
    second = run_fetch(config, archive=archive, run_id="run-2", client=make_client(config))  # a new run
    assert second.items_retry == 3 and second.pages_fetched == 3


def test_crawl_delay_becomes_the_host_interval(server, base_url, client, config):
    serve_robots(server, "User-agent: *\nCrawl-delay: 4\n")
    server.expect_request("/info/a.html").respond_with_data("<html>a</html>", content_type="text/html")
    fetch_page(client, config.get("test"), _item(base_url, "/info/a.html"))
    assert client.limiter._min_interval["127.0.0.1"] == 4.0


class _FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limit_spaces_requests_per_host():
    clock = _FakeClock()
    limiter = HostLimiter(clock=clock, sleep=clock.sleep)
    polite = Politeness(requests_per_second=2, concurrency=1)
    for _ in range(3):
        with limiter.slot("a.example", polite):
            pass
    with limiter.slot("b.example", polite):  # another host does not wait
        pass
    assert clock.slept == [0.5, 0.5]
    limiter.set_min_interval("a.example", 3.0)
    with limiter.slot("a.example", polite):
        pass
    assert clock.slept[-1] == 0.5  # the booking made before the crawl delay was known
    with limiter.slot("a.example", polite):
        pass
    assert clock.slept[-1] == 3.0


def test_concurrency_cap_per_host():
    limiter = HostLimiter(sleep=lambda _s: None)
    polite = Politeness(requests_per_second=50, concurrency=2)
    state = {"inside": 0, "peak": 0}
    cond = threading.Condition()
    release = threading.Event()

    def worker() -> None:
        with limiter.slot("h.example", polite):
            with cond:
                state["inside"] += 1
                state["peak"] = max(state["peak"], state["inside"])
                cond.notify_all()
            release.wait(timeout=10)
            with cond:
                state["inside"] -= 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    with cond:
        assert cond.wait_for(lambda: state["inside"] == 2, timeout=10)
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert state["peak"] == 2 and state["inside"] == 0


def test_robots_of_the_redirect_target_host_is_obeyed(server, base_url, make_client):
    def robots(request: Request) -> Response:
        text = "User-agent: *\nDisallow: /\n" if request.host.startswith("localhost") else "User-agent: *\nAllow: /\n"
        return Response(text, content_type="text/plain")

    server.expect_request("/robots.txt").respond_with_handler(robots)
    server.expect_request("/info/hop.html").respond_with_data(
        "", status=301, headers={"Location": f"http://localhost:{server.port}/info/target.html"})
    config = make_config(base_url, source={"allowed_domains": ["127.0.0.1", "localhost"]})
    outcome = fetch_page(make_client(config), config.get("test"), _item(base_url, "/info/hop.html"))
    assert (outcome.status, outcome.reason) == ("refused", "robots")
    assert [req.path for req, _ in server.log] == ["/robots.txt", "/info/hop.html", "/robots.txt"]
    assert [c.kind for c in outcome.captures] == ["robots", "robots", "page"]


def test_retry_after_holds_every_request_to_that_host(server, base_url, make_client):
    """A 429 with Retry-After on one page pauses the next request to the same host too."""
    from tests.acquire.conftest import make_config

    clock = _FakeClock()
    config = make_config(base_url, retry={"attempts": 1, "retry_after_max_seconds": 600})
    client = make_client(config, limiter=HostLimiter(clock=clock, sleep=clock.sleep))
    server.expect_request("/info/a.html").respond_with_data("busy", status=429, headers={"Retry-After": "30"})
    server.expect_request("/info/b.html").respond_with_data("<html>b</html>", content_type="text/html")
    polite = Politeness(requests_per_second=50, concurrency=2)
    first = client.get(f"{base_url}/info/a.html", kind="page", source="test", politeness=polite)
    assert first.error.reason == "http_429" and clock.slept == []
    second = client.get(f"{base_url}/info/b.html", kind="page", source="test", politeness=polite)
    assert second.ok and clock.slept == [30.0]
    other = client.get(f"http://localhost:{server.port}/info/b.html", kind="page", source="test", politeness=polite)
    assert other.ok and clock.slept == [30.0]  # another host is not held


def _timed_pages(server, n: int, hold: float = 0.05, prefix: str = "/p/") -> dict[str, Any]:
    """Pages <prefix>0 … <prefix>n-1; each request is held until another one comes in, at most
    `hold` seconds (so requests a client lets overlap do overlap, and the wait ends as soon as they
    do); records the peak in flight and the start times."""
    state: dict[str, Any] = {"inside": 0, "peak": 0, "starts": []}
    arrived = threading.Condition()

    def handler(request: Request) -> Response:
        with arrived:
            state["inside"] += 1
            state["peak"] = max(state["peak"], state["inside"])
            state["starts"].append(time.monotonic())
            arrived.notify_all()
            if hold:
                arrived.wait_for(lambda: state["inside"] > 1, timeout=hold)
            state["inside"] -= 1
        return Response("<html><body><p>page</p></body></html>", content_type="text/html")

    for i in range(n):
        server.expect_request(f"{prefix}{i}").respond_with_handler(handler)
    return state


def test_one_request_in_flight_per_host_unless_the_source_says_otherwise(server, base_url, archive):
    from pipeline.acquire.http import PoliteClient
    from pipeline.acquire.run import fetch_pages

    serve_robots(server)
    state = _timed_pages(server, 6)
    config = make_config(base_url, source={"politeness": {"requests_per_second": 50}})  # no concurrency given
    assert config.get("test").politeness.concurrency == 1
    with PoliteClient(config) as client:
        pages = fetch_pages(config.get("test"), [_item(base_url, f"/p/{i}") for i in range(6)], config=config,
                            archive=archive, run_id="r", client=client)
    assert pages.fetched == 6 and state["peak"] == 1

    state = _timed_pages(server, 6, prefix="/q/")
    config = make_config(base_url, source={"politeness": {"requests_per_second": 50, "concurrency": 3}})
    with PoliteClient(config) as client:
        fetch_pages(config.get("test"), [_item(base_url, f"/q/{i}") for i in range(6)], config=config,
                    archive=archive, run_id="r2", client=client)
    assert state["peak"] >= 2  # the source asked for more


def test_crawl_delay_is_a_floor_under_a_faster_configured_rate(server, base_url, archive):
    from pipeline.acquire.http import PoliteClient
    from pipeline.acquire.run import fetch_pages

    serve_robots(server, "User-agent: *\nCrawl-delay: 0.3\n")
    state = _timed_pages(server, 3, hold=0)
    config = make_config(base_url, source={"politeness": {"requests_per_second": 50}})  # 0.02 s asked
    with PoliteClient(config) as client:
        fetch_pages(config.get("test"), [_item(base_url, f"/p/{i}") for i in range(3)], config=config,
                    archive=archive, run_id="r", client=client)
    gaps = [b - a for a, b in zip(state["starts"], state["starts"][1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.28, gaps
