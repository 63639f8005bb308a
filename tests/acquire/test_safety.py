from __future__ import annotations

import httpx
import pytest

from pipeline.acquire.errors import FetchError
from pipeline.acquire.feeds import FeedItem
from pipeline.acquire.pages import fetch_page
from pipeline.acquire.safety import check_address, check_url, is_public_address
from tests.acquire.conftest import make_config, serve_robots


def _no_dns(host: str) -> list[str]:
    raise AssertionError(f"unexpected DNS lookup of {host}")


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "127.0.0.1", "192.168.1.5", "172.16.0.1",
                                     "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd00::1",
                                     "::ffff:127.0.0.1", "224.0.0.1"])
def test_non_public_addresses(address):
    assert not is_public_address(address)


def test_public_addresses():
    assert is_public_address("8.8.8.8") and is_public_address("2001:4860:4860::8888")


@pytest.mark.parametrize("url", ["http://10.0.0.1/info/a.html", "http://169.254.169.254/latest/meta-data/",
                                 "http://[::1]:8080/x"])
def test_ip_literals_refused_without_lookup(url):
    with pytest.raises(FetchError) as info:
        check_url(url, allow_private=False, resolver=_no_dns)
    assert info.value.reason == "private_address"


def test_names_resolving_to_private_addresses_are_refused():
    def resolver(host: str) -> list[str]:
        return {"metadata.example": ["169.254.169.254"], "mixed.example": ["93.184.216.34", "10.1.2.3"],
                "ok.example": ["93.184.216.34"]}[host]

    for host in ("metadata.example", "mixed.example"):
        with pytest.raises(FetchError, match="non-public"):
            check_address(host, allow_private=False, resolver=resolver)
    check_address("ok.example", allow_private=False, resolver=resolver)
    check_address("metadata.example", allow_private=True, resolver=_no_dns)


def test_scheme_and_domain_checks():
    with pytest.raises(FetchError) as info:
        check_url("file:///etc/passwd", allow_private=True)
    assert info.value.reason == "bad_url"
    with pytest.raises(FetchError) as info:
        check_url("https://evil.example/a", allow_private=True, host_allowed=lambda h: h.endswith("rts.ch"))
    assert info.value.reason == "not_allowed_domain"


class _Recorder(httpx.BaseTransport):
    """A transport that records requests and answers from a table; no socket is ever opened."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.requests: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(str(request.url))
        return self.routes[str(request.url)]


@pytest.mark.parametrize("link", ["http://10.0.0.1/info/a.html", "http://169.254.169.254/latest/meta-data/"])
def test_page_link_to_private_address_refused_without_connection(make_client, link):
    config = make_config("http://unused", allow_private_addresses=False,
                         source={"allowed_domains": ["10.0.0.1", "169.254.169.254"]})
    transport = _Recorder({})
    client = make_client(config, transport=transport, resolver=_no_dns)
    outcome = fetch_page(client, config.get("test"), FeedItem(guid="g", link=link))
    assert (outcome.status, outcome.reason) == ("refused", "private_address")
    assert transport.requests == []
    assert outcome.captures == []


def test_redirect_to_metadata_address_refused_at_the_hop(make_client):
    config = make_config("http://unused", allow_private_addresses=False,
                         source={"allowed_domains": ["news.example", "169.254.169.254"]})
    transport = _Recorder({
        "http://news.example/robots.txt": httpx.Response(404),
        "http://news.example/info/a.html": httpx.Response(
            302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
    })
    client = make_client(config, transport=transport, resolver=lambda h: ["93.184.216.34"])
    outcome = fetch_page(client, config.get("test"), FeedItem(guid="g", link="http://news.example/info/a.html"))
    assert (outcome.status, outcome.reason) == ("refused", "private_address")
    assert transport.requests == ["http://news.example/robots.txt", "http://news.example/info/a.html"]
    assert [c.status for c in outcome.captures] == [404, 302]  # both responses kept for the archive


def test_redirect_to_domain_outside_the_source_is_refused(server, base_url, config, client):
    serve_robots(server)
    other = f"http://localhost:{server.port}/elsewhere.html"
    server.expect_request("/info/moved.html").respond_with_data("", status=301, headers={"Location": other})
    server.expect_request("/elsewhere.html").respond_with_data("<html>should never be fetched</html>",
                                                               content_type="text/html")
    outcome = fetch_page(client, config.get("test"), FeedItem(guid="g", link=f"{base_url}/info/moved.html"))
    assert (outcome.status, outcome.reason) == ("refused", "redirect_off_domain")
    assert "localhost" in (outcome.error or "")
    assert [req.path for req, _ in server.log] == ["/robots.txt", "/info/moved.html"]


def test_redirect_within_the_source_is_followed_and_hops_capped(server, base_url, make_client):
    serve_robots(server)
    server.expect_request("/info/old.html").respond_with_data("", status=302, headers={"Location": "/info/new.html"})
    server.expect_request("/info/new.html").respond_with_data("<html><p>ici</p></html>", content_type="text/html")
    for i in range(4):
        server.expect_request(f"/info/loop{i}.html").respond_with_data(
            "", status=302, headers={"Location": f"/info/loop{i + 1}.html"})
    config = make_config(base_url, max_redirects=2)
    client = make_client(config)
    ok = fetch_page(client, config.get("test"), FeedItem(guid="g", link=f"{base_url}/info/old.html"))
    assert ok.status == "fetched" and ok.final_url == f"{base_url}/info/new.html"
    assert [c.status for c in ok.captures if c.kind == "page"] == [302, 200]
    loop = fetch_page(client, config.get("test"), FeedItem(guid="g", link=f"{base_url}/info/loop0.html"))
    assert (loop.status, loop.reason) == ("refused", "too_many_redirects")


def test_dns_rebinding_between_check_and_connect_is_refused(server, make_client):
    """The name resolves to a public address at the URL check, then to 127.0.0.1 at connect."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    config = make_config("http://unused", allow_private_addresses=False,
                         source={"allowed_domains": ["rebind.example"]})
    client = make_client(config, resolver=lambda host: next(answers))
    result = client.get(f"http://rebind.example:{server.port}/info/a.html", kind="page", source="test")
    assert result.error.reason == "private_address" and result.attempts == 1
    assert server.log == []


def test_connection_goes_to_the_checked_address(server, make_client, monkeypatch):
    """No system DNS: the guarded backend connects to what the resolver returned and checked."""
    monkeypatch.setattr("pipeline.acquire.safety.is_public_address", lambda a: a == "127.0.0.1")
    server.expect_request("/info/a.html").respond_with_data("<html>ok</html>", content_type="text/html")
    config = make_config("http://unused", allow_private_addresses=False)
    client = make_client(config, resolver=lambda host: {"site.example": ["127.0.0.1"]}[host])
    result = client.get(f"http://site.example:{server.port}/info/a.html", kind="page", source="test")
    assert result.ok and result.body == b"<html>ok</html>"
    request, _ = server.log[0]
    assert request.headers["Host"] == f"site.example:{server.port}"


def test_a_malformed_redirect_location_is_a_bad_url(make_client):
    config = make_config("http://unused", source={"allowed_domains": ["news.example"]})
    transport = _Recorder({"http://news.example/a": httpx.Response(302, headers={"Location": "http://[oops/"})})
    client = make_client(config, transport=transport, resolver=lambda h: ["93.184.216.34"])
    result = client.get("http://news.example/a", kind="page", source="test")
    assert result.error.reason == "bad_url" and [c.status for c in result.captures] == [302]


def test_a_temporary_dns_failure_is_retried_a_permanent_one_is_not(make_client):
    import socket

    config = make_config("http://unused", allow_private_addresses=False, source={"allowed_domains": ["news.example"]})
    transport = _Recorder({"http://news.example/a": httpx.Response(200, text="<html>ok</html>")})
    answers = iter([socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), ["93.184.216.34"]])

    def flaky(host: str) -> list[str]:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = make_client(config, transport=transport, resolver=flaky)
    result = client.get("http://news.example/a", kind="page", source="test")
    assert result.ok and result.attempts == 2 and transport.requests == ["http://news.example/a"]

    def unknown(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    client = make_client(config, transport=transport, resolver=unknown)
    result = client.get("http://news.example/a", kind="page", source="test")
    assert result.error.reason == "dns_error" and result.attempts == 1


def test_preflight_refuses_a_private_address_before_any_request(server, base_url):
    """The policy the dry run and the real fetch share: no request at all for the metadata address."""
    from pipeline.acquire.http import PoliteClient
    from pipeline.acquire.pages import preflight

    config = make_config(base_url, allow_private_addresses=False,
                         source={"allowed_domains": ["169.254.169.254", "127.0.0.1"]})
    with PoliteClient(config) as client:
        refused = preflight(client, config.get("test"), "http://169.254.169.254/latest/meta-data/")
    assert refused is not None and refused.reason == "private_address"
    assert list(server.log) == []
