"""The ingest steps the DAG tasks call, one by one: a worker lost between the feed task and
the pages task must not leave a saved ETag whose 304 would hide the feed's items forever."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.flows import ingest
from tests.e2e.site import ARTICLES, FixtureSite, write_sources

ETAG = '"feed-v1"'


def _serve_with_etag(site: FixtureSite, httpserver: HTTPServer) -> None:
    """The fixture site, its feeds answering 304 to a matching If-None-Match like a real server."""

    def handle(request: Request) -> Response:
        if request.path.startswith("/feeds/") and request.headers.get("If-None-Match") == ETAG:
            site.requests.append(request.path + " 304")
            return Response(status=304)
        response = site.handle(request)
        if request.path.startswith("/feeds/"):
            response.headers["ETag"] = ETAG
        return response

    import re

    httpserver.expect_request(re.compile(r"/.*")).respond_with_handler(handle)


def _steps(tmp_path: Path, site: FixtureSite, run_id: str, *, pages: bool) -> tuple[dict, dict | None]:
    sources = str(tmp_path / "sources.yaml")
    archive = str(tmp_path / "archive")
    feed = ingest.fetch_feed(sources_file=sources, archive_root=archive, run_id=run_id, source_id="rts",
                             feed_url=site.feed_urls()[0])
    if not pages:
        return feed, None
    paths = [feed["items_path"]] if feed["items_path"] else []
    return feed, ingest.fetch_pages(sources_file=sources, archive_root=archive, run_id=run_id, source_id="rts",
                                    items_paths=paths)


def test_a_worker_lost_between_feed_and_pages_loses_no_item(tmp_path: Path, httpserver: HTTPServer) -> None:
    site = FixtureSite(base=f"http://127.0.0.1:{httpserver.port}")
    _serve_with_etag(site, httpserver)
    write_sources(tmp_path / "sources.yaml", site, feeds=[site.feed_urls()[0]])
    in_feed = sum(1 for a in ARTICLES if a["feed"] == site.feed_urls()[0].rsplit("/", 1)[1][:-4])
    assert in_feed >= 2

    # Run 1: the feed task succeeds, then the worker is lost before the pages task.
    feed, _ = _steps(tmp_path, site, "run-1", pages=False)
    assert feed["status"] == "fetched" and feed["items"] == in_feed
    assert site.page_requests() == 0

    # Run 2: no ETag was saved, so the feed comes back in full and its pages are fetched.
    feed, pages = _steps(tmp_path, site, "run-2", pages=True)
    assert "/feeds/" not in " ".join(r for r in site.requests if r.endswith(" 304"))
    assert feed["items"] == in_feed
    assert pages is not None and pages["pages_fetched"] == in_feed and pages["pages_pending"] == 0

    # Run 3: everything settled, so now the ETag is used: 304, nothing fetched again.
    feed, pages = _steps(tmp_path, site, "run-3", pages=True)
    assert any(r.endswith(" 304") for r in site.requests)
    assert feed["status"] == "unchanged" and feed["items"] == 0
    assert pages is not None and pages["pages_fetched"] == 0
    assert site.page_requests() == in_feed
