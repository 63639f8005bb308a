from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from warcio.archiveiterator import ArchiveIterator
from werkzeug import Request, Response

from pipeline.acquire.feeds import FeedItem
from pipeline.acquire.run import (
    FeedResult,
    FetchSummary,
    PagesResult,
    Selection,
    fetch_feed,
    fetch_pages,
    run_fetch,
    select_items,
)
from pipeline.cli import main
from tests.acquire.conftest import FEEDS, feed_bytes, make_config, page_hits, serve_robots

ARTICLE = (FEEDS / "article.html").read_bytes()


def _serve_site(server, base_url: str, feed: str = "rss_basic.xml") -> None:
    serve_robots(server)
    server.expect_request("/feed.xml").respond_with_data(feed_bytes(feed, base_url),
                                                         content_type="application/rss+xml; charset=utf-8")
    for path in ("/info/monde/1.html", "/info/suisse/2.html", "/info/culture/3.html"):
        server.expect_request(path).respond_with_data(ARTICLE, content_type="text/html; charset=utf-8")


def _feed_handler(bodies: list[bytes], etags: list[str]):
    """Serve bodies[i] with etags[i] on the i-th request (last one repeated); honour If-None-Match."""
    calls = {"n": 0}

    def handler(request: Request) -> Response:
        i = min(calls["n"], len(bodies) - 1)
        calls["n"] += 1
        if request.headers.get("If-None-Match") == etags[i]:
            return Response(status=304, headers={"ETag": etags[i]})
        return Response(bodies[i], content_type="application/rss+xml",
                        headers={"ETag": etags[i], "Last-Modified": "Thu, 13 Jan 2022 12:00:00 GMT"})

    return handler


def test_conditional_get_304_path(server, base_url, config, archive, client):
    body = feed_bytes("rss_basic.xml", base_url)
    server.expect_request("/feed.xml").respond_with_handler(_feed_handler([body], ['"v1"']))
    source = config.get("test")
    first = fetch_feed(source, f"{base_url}/feed.xml", config=config, archive=archive, run_id="r1", client=client)
    assert first.status == "fetched" and len(first.items) == 3 and first.warc_paths
    state = archive.feed_state("test", f"{base_url}/feed.xml")
    assert state.etag == '"v1"' and state.content_sha256 and state.last_modified
    second = fetch_feed(source, f"{base_url}/feed.xml", config=config, archive=archive, run_id="r2", client=client)
    assert second.status == "unchanged" and second.http_status == 304 and second.items == []
    request, _ = server.log[-1]
    assert request.headers["If-None-Match"] == '"v1"'
    assert request.headers["If-Modified-Since"] == "Thu, 13 Jan 2022 12:00:00 GMT"
    captures = list(archive.read_captures(second.warc_paths))
    assert [(c.kind, c.status) for c in captures] == [("feed", 304)]


def test_new_etag_with_unchanged_content_is_unchanged(server, base_url, config, archive, client):
    body = feed_bytes("rss_basic.xml", base_url)
    changed = body.replace(b"Un article relatif", b"Un article relatif, mis a jour")
    server.expect_request("/feed.xml").respond_with_handler(
        _feed_handler([body, body, changed], ['"a"', '"b"', '"c"']))
    source, url = config.get("test"), f"{base_url}/feed.xml"
    assert fetch_feed(source, url, config=config, archive=archive, run_id="r1", client=client).status == "fetched"
    lying = fetch_feed(source, url, config=config, archive=archive, run_id="r2", client=client)
    assert lying.http_status == 200 and lying.status == "unchanged"
    assert len(lying.items) == 3  # still returned: select_items finds them all unchanged
    assert archive.feed_state("test", url).etag == '"b"'
    assert fetch_feed(source, url, config=config, archive=archive, run_id="r3", client=client).status == "fetched"


def test_second_run_over_the_same_feed_fetches_zero_pages(server, base_url, config, archive, client):
    _serve_site(server, base_url)
    first = run_fetch(config, archive=archive, run_id="run-1", client=client)
    assert (first.feeds_fetched, first.items_new, first.pages_fetched) == (1, 3, 3)
    assert page_hits(server) == 3
    second = run_fetch(config, archive=archive, run_id="run-2", client=client)
    assert second.pages_fetched == 0 and page_hits(server) == 3
    assert second.feeds_unchanged == 1 and second.items_seen == 3 and second.items_unchanged == 3
    assert second.pages_skipped == {"already_fetched": 3}
    assert second.per_source["test"]["items"] == {"unchanged": 3}
    json.dumps(second.to_dict())
    assert FetchSummary.from_dict(second.to_dict()) == second


def test_pages_archived_with_identical_bodies_and_seen_recorded(server, base_url, config, archive, client):
    _serve_site(server, base_url)
    summary = run_fetch(config, archive=archive, run_id="run-1", client=client)
    pages = list(archive.read_captures(summary.pages_warc_paths))
    by_kind = sorted((c.kind, c.status) for c in pages)
    assert by_kind == [("page", 200)] * 3 + [("robots", 200)]
    assert all(c.body == ARTICLE for c in pages if c.kind == "page")
    assert {c.meta["charset"] for c in pages if c.kind == "page"} == {"utf-8"}
    now = datetime.now(UTC)
    window = {"start": now - timedelta(hours=1), "end": now + timedelta(hours=1)}
    again = list(archive.iter_captures(**window, sources=["test"], kinds=("page",)))
    assert sorted(c.url for c in again) == sorted(c.url for c in pages if c.kind == "page")
    assert [c.body for c in again] == [ARTICLE] * 3  # byte-identical bodies read back by time range
    every = list(archive.iter_captures(**window, sources=["test"], kinds=("feed", "robots", "page")))
    assert sorted(c.kind for c in every) == ["feed", "page", "page", "page", "robots"]
    feed = next(c for c in every if c.kind == "feed")
    assert feed.body == feed_bytes("rss_basic.xml", base_url)
    assert feed.header("Content-Type") == "application/rss+xml; charset=utf-8"
    # every response has its request record, with the headers we sent
    requests = []
    for rel in summary.feed_warc_paths + summary.pages_warc_paths:
        with archive.fs.open(f"{archive.root}/{rel}", "rb") as fh:
            requests += [r.http_headers for r in ArchiveIterator(fh) if r.rec_type == "request"]
    assert len(requests) == 5
    assert {h.get_header("User-Agent") for h in requests} == {"newsflow-test/1.0 (+https://example.org/contact)"}
    assert list(archive.iter_captures(start=now + timedelta(hours=1), end=now + timedelta(hours=2),
                                      sources=["test"], kinds=("page",))) == []
    seen = archive.seen("test")
    entry = seen.get(f"{base_url}/info/monde/1.html")
    assert entry.status == "fetched" and entry.guid == "article-1" and entry.record_id
    assert entry.record_id in {c.record_id for c in pages}
    assert entry.title == "Les forces russes entament leur retrait du Kazakhstan"


def test_updated_item_is_fetched_again(server, base_url, config, archive, client):
    _serve_site(server, base_url)
    run_fetch(config, archive=archive, run_id="run-1", client=client)
    newer = feed_bytes("rss_basic.xml", base_url).replace(b"Thu, 13 Jan 2022 11:00:00 +0100",
                                                          b"Thu, 13 Jan 2022 15:00:00 +0100")
    server.clear()
    serve_robots(server)
    server.expect_request("/feed.xml").respond_with_data(newer, content_type="application/rss+xml")
    server.expect_request("/info/suisse/2.html").respond_with_data(ARTICLE, content_type="text/html")
    summary = run_fetch(config, archive=archive, run_id="run-2", client=client)
    assert (summary.items_updated, summary.items_unchanged, summary.pages_fetched) == (1, 2, 1)
    assert [req.path for req, _ in server.log if req.path.startswith("/info/")] == ["/info/suisse/2.html"]


def test_refetch_and_max_pages(server, base_url, config, archive, client):
    _serve_site(server, base_url)
    capped = run_fetch(config, archive=archive, run_id="run-1", client=client, max_pages=1)
    assert capped.pages_fetched == 1 and capped.pages_skipped == {"max_pages": 2}
    rest = run_fetch(config, archive=archive, run_id="run-2", client=client)
    assert rest.pages_fetched == 2 and rest.items_new == 2
    again = run_fetch(config, archive=archive, run_id="run-3", client=client, refetch=True)
    assert again.pages_fetched == 3 and again.items_refetch == 3


def test_gone_and_failed_pages_are_counted_by_reason(server, base_url, config, archive, make_client):
    serve_robots(server)
    server.expect_request("/feed.xml").respond_with_data(feed_bytes("rss_basic.xml", base_url),
                                                         content_type="application/rss+xml")
    server.expect_request("/info/monde/1.html").respond_with_data("no", status=404)
    server.expect_request("/info/suisse/2.html").respond_with_data("err", status=500)
    server.expect_request("/info/culture/3.html").respond_with_data(b"%PDF-1.4", content_type="application/pdf")
    client = make_client(config)
    first = run_fetch(config, archive=archive, run_id="run-1", client=client)
    assert first.pages_fetched == 0
    assert first.pages_failed == {"content_type": 1, "gone": 1, "http_500": 1}
    statuses = {url.rsplit("/", 1)[-1]: e.status for url, e in archive.seen("test").entries.items()}
    assert statuses == {"1.html": "gone", "2.html": "failed:http_500", "3.html": "refused:content_type"}
    second = run_fetch(config, archive=archive, run_id="run-2", client=client)
    assert second.items_retry == 1 and second.items_unchanged == 2  # only the 500 is tried again
    assert second.pages_failed == {"http_500": 1}


def test_feed_failures_are_reported_and_do_not_stop_other_feeds(server, base_url, archive, client):
    config = make_config(base_url, source={"feeds": [f"{base_url}/feed.xml", f"{base_url}/broken.xml",
                                                     f"{base_url}/lol.xml"]})
    _serve_site(server, base_url)
    server.expect_request("/broken.xml").respond_with_data("down", status=500)
    server.expect_request("/lol.xml").respond_with_data((FEEDS / "billion_laughs.xml").read_bytes(),
                                                        content_type="application/rss+xml")
    summary = run_fetch(config, archive=archive, run_id="run-1", client=client)
    assert (summary.feeds_fetched, summary.feeds_failed, summary.pages_fetched) == (1, 2, 3)
    reasons = {f["feed_url"].rsplit("/", 1)[-1]: f["reason"] for f in summary.feed_failures}
    assert reasons == {"broken.xml": "http_500", "lol.xml": "unsafe_xml"}
    failed_feed_captures = [c for c in archive.read_captures(summary.feed_warc_paths) if c.status == 500]
    assert len(failed_feed_captures) == 3  # every attempt archived


def test_truncated_feed_via_fetch_feed_keeps_items(server, base_url, config, archive, client):
    server.expect_request("/feed.xml").respond_with_data(feed_bytes("truncated.xml", base_url),
                                                         content_type="application/rss+xml")
    result = fetch_feed(config.get("test"), f"{base_url}/feed.xml", config=config, archive=archive,
                        run_id="r", client=client)
    assert result.status == "fetched" and result.bozo_error and len(result.items) == 2
    assert result.counts == {"items": 2, "skipped_no_link": 1}
    assert FeedResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_latin1_feed_served_as_text_xml(server, base_url, config, archive, client):
    server.expect_request("/feed.xml").respond_with_data(feed_bytes("iso-8859-1.xml", base_url),
                                                         content_type="text/xml")
    result = fetch_feed(config.get("test"), f"{base_url}/feed.xml", config=config, archive=archive,
                        run_id="r", client=client)
    assert result.status == "fetched"
    assert [i.title for i in result.items] == ["Genève: la météo s'améliore à Neuchâtel"]
    assert result.items[0].link == f"{base_url}/info/regions/10.html"


def test_malformed_feed_is_a_warning_in_the_summary(server, base_url, config, archive, client):
    serve_robots(server)
    server.expect_request("/feed.xml").respond_with_data(feed_bytes("truncated.xml", base_url),
                                                         content_type="application/rss+xml")
    for path in ("/info/t/1.html", "/info/t/2.html"):
        server.expect_request(path).respond_with_data(ARTICLE, content_type="text/html")
    summary = run_fetch(config, archive=archive, run_id="r", client=client)
    assert summary.feeds_fetched == 1 and summary.feeds_failed == 0 and summary.pages_fetched >= 2
    assert summary.feed_warnings[0]["feed_url"] == f"{base_url}/feed.xml" and summary.feed_warnings[0]["error"]


def test_steps_are_independent_and_serialisable(server, base_url, config, archive):
    """The Airflow path: each step alone, results through JSON (as XCom would carry them)."""
    _serve_site(server, base_url)
    source = config.get("test")
    feed = FeedResult.from_dict(json.loads(json.dumps(
        fetch_feed(source, f"{base_url}/feed.xml", config=config, archive=archive, run_id="a").to_dict())))
    selection = Selection.from_dict(json.loads(json.dumps(
        select_items(source, feed.items + feed.items, archive=archive).to_dict())))
    assert selection.counts == {"duplicate": 3, "new": 3} and len(selection.to_fetch) == 3
    pages = PagesResult.from_dict(json.loads(json.dumps(
        fetch_pages(source, selection.to_fetch, config=config, archive=archive, run_id="a").to_dict())))
    assert pages.fetched == 3 and pages.warc_paths and pages.bytes == 3 * len(ARTICLE) + len("User-agent: *\nAllow: /\n")
    assert all(p["record_id"] for p in pages.pages)
    assert select_items(source, feed.items, archive=archive).to_fetch == []


def test_dry_run_writes_nothing(server, base_url, config, tmp_path, client):
    from pipeline.archive import Archive

    _serve_site(server, base_url)
    root = tmp_path / "dry"
    summary = run_fetch(config, archive=Archive(str(root)), run_id="dry", dry_run=True, client=client)
    assert summary.would_fetch == {"test": [f"{base_url}/info/monde/1.html", f"{base_url}/info/suisse/2.html",
                                            f"{base_url}/info/culture/3.html"]}
    assert summary.pages_fetched == 0 and page_hits(server) == 0
    assert not root.exists()


def test_fetch_command_dry_run_and_real_run(server, base_url, tmp_path, capsys):
    import yaml

    _serve_site(server, base_url)
    config = make_config(base_url).model_dump()
    config["retry"]["attempts"] = 1
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    root = tmp_path / "archive"
    assert main(["fetch", "--sources", str(path), "--source", "test", "--archive", str(root), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "test: would fetch 3 page(s)" in out and f"  {base_url}/info/culture/3.html" in out
    assert not root.exists()
    assert main(["fetch", "--sources", str(path), "--archive", str(root)]) == 0
    assert "pages: 3 fetched" in capsys.readouterr().out
    assert main(["fetch", "--sources", str(path), "--archive", str(root)]) == 0
    assert "pages: 0 fetched; skipped: already_fetched 3" in capsys.readouterr().out


def test_select_items_decisions(archive):
    from pipeline.acquire.select import decide
    from pipeline.archive import SeenEntry

    t0 = datetime(2022, 1, 13, 10, tzinfo=UTC)
    item = FeedItem(guid="g", link="https://x.example/a", title="A", published=t0)
    seen = SeenEntry(url=item.link, fetched_at=t0 + timedelta(minutes=5), title="A", published=t0)
    assert decide(item, None) == "new"
    assert decide(item, seen) == "unchanged"
    assert decide(item, seen, refetch=True) == "refetch"
    assert decide(FeedItem(guid="g", link=item.link, title="A (mis à jour)", published=t0), seen) == "updated"
    assert decide(FeedItem(guid="g", link=item.link, title="A", published=t0,
                           updated=t0 + timedelta(hours=1)), seen) == "updated"
    undated = SeenEntry(url=item.link, fetched_at=t0, title="A")
    assert decide(FeedItem(guid="g", link=item.link, title="A"), undated) == "unchanged"
    assert decide(FeedItem(guid="g", link=item.link, title="A", updated=t0 + timedelta(hours=2)), undated) == "updated"
    failed = SeenEntry(url=item.link, fetched_at=t0, title="A", status="failed:timeout")
    refused = SeenEntry(url=item.link, fetched_at=t0, title="A", status="refused:robots")
    assert decide(FeedItem(guid="g", link=item.link, title="A"), failed) == "retry"
    assert decide(FeedItem(guid="g", link=item.link, title="A"), refused) == "unchanged"


def test_an_unexpected_error_on_one_page_does_not_stop_the_others(server, base_url, config, archive, client,
                                                                   monkeypatch):
    from pipeline.acquire import pages

    real = pages.detect_charset

    def flaky(body, content_type):
        if b"boom" in body:
            raise RuntimeError("boom")
        return real(body, content_type)

    monkeypatch.setattr("pipeline.acquire.pages.detect_charset", flaky)
    serve_robots(server)
    server.expect_request("/feed.xml").respond_with_data(feed_bytes("rss_basic.xml", base_url),
                                                         content_type="application/rss+xml")
    server.expect_request("/info/monde/1.html").respond_with_data(ARTICLE, content_type="text/html")
    server.expect_request("/info/suisse/2.html").respond_with_data(b"<html>boom</html>", content_type="text/html")
    server.expect_request("/info/culture/3.html").respond_with_data(ARTICLE, content_type="text/html")
    summary = run_fetch(config, archive=archive, run_id="r", client=client)
    assert summary.pages_fetched == 2 and summary.pages_failed == {"error": 1}
    assert archive.seen("test").get(f"{base_url}/info/suisse/2.html").status == "failed:error"
    archived = [(c.kind, c.url.rsplit("/", 1)[-1]) for c in archive.read_captures(summary.pages_warc_paths)]
    assert sorted(archived) == [("page", "1.html"), ("page", "2.html"), ("page", "3.html"),
                                ("robots", "robots.txt")]  # the failed page's response is archived too


def _serve_conditional_site(server, base_url: str) -> None:
    """The fixture site, with a feed that answers 304 to its own ETag (as real servers do)."""
    serve_robots(server)
    server.expect_request("/feed.xml").respond_with_handler(
        _feed_handler([feed_bytes("rss_basic.xml", base_url)], ['"v1"']))


def test_pages_left_by_max_pages_are_fetched_although_the_feed_answers_304(server, base_url, config, archive,
                                                                           client):
    _serve_conditional_site(server, base_url)
    for path in ("/info/monde/1.html", "/info/suisse/2.html", "/info/culture/3.html"):
        server.expect_request(path).respond_with_data(ARTICLE, content_type="text/html")
    capped = run_fetch(config, archive=archive, run_id="run-1", client=client, max_pages=1)
    assert capped.pages_fetched == 1 and capped.pages_skipped == {"max_pages": 2}
    rest = run_fetch(config, archive=archive, run_id="run-2", client=client)
    assert rest.pages_fetched == 2 and rest.items_new == 2
    feed_requests = [req for req, _ in server.log if req.path == "/feed.xml"]
    assert "If-None-Match" not in feed_requests[1].headers  # validators were held back: items pending
    done = run_fetch(config, archive=archive, run_id="run-3", client=client)
    assert done.feeds_unchanged == 1 and done.pages_fetched == 0
    assert server.log[-1][0].headers["If-None-Match"] == '"v1"'  # all settled: conditional again


def test_a_transient_page_failure_is_retried_although_the_feed_answers_304(server, base_url, config, archive,
                                                                           client):
    _serve_conditional_site(server, base_url)
    server.expect_request("/info/monde/1.html").respond_with_data(ARTICLE, content_type="text/html")
    server.expect_request("/info/culture/3.html").respond_with_data(ARTICLE, content_type="text/html")
    calls = {"n": 0}

    def flaky(_request: Request) -> Response:  # down for the 3 attempts of the first run
        calls["n"] += 1
        if calls["n"] <= 3:
            return Response("down", status=503)
        return Response(ARTICLE, content_type="text/html")

    server.expect_request("/info/suisse/2.html").respond_with_handler(flaky)
    first = run_fetch(config, archive=archive, run_id="run-1", client=client)
    assert first.pages_fetched == 2 and first.pages_failed == {"http_503": 1}
    second = run_fetch(config, archive=archive, run_id="run-2", client=client)
    assert second.items_retry == 1 and second.pages_fetched == 1 and second.pages_failed == {}
    assert second.feeds_unchanged == 1  # same body as last time, by its hash
    assert archive.seen("test").get(f"{base_url}/info/suisse/2.html").status == "fetched"


def test_fresh_etag_and_build_date_with_the_same_items_is_unchanged(server, base_url, config, archive, client):
    """Feeds regenerate <lastBuildDate> (and reorder items) on every request: not a change."""
    body = feed_bytes("rss_basic.xml", base_url)
    rebuilt = body.replace(b"<description>Fixture feed</description>",
                           b"<description>Fixture feed</description><lastBuildDate>Thu, 13 Jan 2022 "
                           b"13:00:00 +0100</lastBuildDate>")
    first_item = body.index(b"<item>")
    items = body[first_item:body.rindex(b"</item>") + len(b"</item>")].split(b"</item>")
    reordered = rebuilt.replace(b"</item>".join(items), b"</item>".join([items[1].lstrip(), items[0], *items[2:]]))
    assert reordered != rebuilt
    server.expect_request("/feed.xml").respond_with_handler(
        _feed_handler([body, rebuilt, reordered], ['"a"', '"b"', '"c"']))
    source, url = config.get("test"), f"{base_url}/feed.xml"
    statuses = [fetch_feed(source, url, config=config, archive=archive, run_id=f"r{i}", client=client).status
                for i in range(3)]
    assert statuses == ["fetched", "unchanged", "unchanged"]


def test_step_by_step_with_validators_saved_at_once_still_retries_a_failed_page(server, base_url, config, archive,
                                                                                 client):
    """The Airflow path (fetch_feed with commit_state=True, then select_items + fetch_pages) and a
    feed that answers 304: the page that failed with a 503 is retried at the next run."""
    _serve_conditional_site(server, base_url)
    calls = {"n": 0}

    def flaky(_request: Request) -> Response:
        calls["n"] += 1
        return Response("down", status=503) if calls["n"] <= 3 else Response(ARTICLE, content_type="text/html")

    server.expect_request("/info/suisse/2.html").respond_with_handler(flaky)
    for path in ("/info/monde/1.html", "/info/culture/3.html"):
        server.expect_request(path).respond_with_data(ARTICLE, content_type="text/html")
    source, url = config.get("test"), f"{base_url}/feed.xml"
    fetched = []
    for run in ("hour-1", "hour-2", "hour-3"):
        feed = fetch_feed(source, url, config=config, archive=archive, run_id=run, client=client)
        selection = select_items(source, feed.items, archive=archive)
        pages = fetch_pages(source, selection.to_fetch, config=config, archive=archive, run_id=run, client=client)
        fetched.append((feed.http_status, selection.counts, pages.fetched, pages.failed))
    assert fetched == [(200, {"new": 3}, 2, {"http_503": 1}),
                       (200, {"retry": 1, "unchanged": 2}, 1, {}),  # asked without validators
                       (304, {}, 0, {})]  # all settled: conditional again
