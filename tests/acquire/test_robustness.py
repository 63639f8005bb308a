"""Property tests: hostile input gives a FetchError or a result, never another exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.acquire.errors import FetchError
from pipeline.acquire.feeds import parse_feed
from pipeline.acquire.safety import check_url


def _no_dns(host: str) -> list[str]:
    return ["93.184.216.34"]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.from_regex(r"https?://[^\s/]{0,30}(/[^\s]{0,20})?", fullmatch=True)))
def test_check_url_only_raises_fetch_errors(url):
    try:
        check_url(url, allow_private=False, host_allowed=lambda h: True, resolver=_no_dns)
    except FetchError as exc:
        assert exc.reason in {"bad_url", "private_address", "dns_error"}


_ITEM = st.builds(
    lambda title, link, guid: f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid></item>",
    st.text(alphabet=st.characters(blacklist_characters="<&", blacklist_categories=("Cs", "Cc")), max_size=30),
    st.one_of(st.just("/a/b.html"), st.just("http://x.example/p?utm_source=a#f"), st.text(max_size=15)),
    st.text(alphabet="abc-1", max_size=5),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ITEM, max_size=5), st.integers(min_value=0, max_value=400))
def test_parse_feed_survives_any_truncation(items, cut):
    data = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            + "".join(items) + "</channel></rss>").encode("utf-8")
    feed = parse_feed(data[: len(data) - cut] if cut else data, feed_url="https://news.example/feed")
    for item in feed.items:
        assert item.link.startswith(("http://", "https://")) and "#" not in item.link
        assert "utm_source" not in item.link


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_parse_feed_on_random_bytes(data):
    try:
        parse_feed(data, feed_url="https://news.example/feed")
    except FetchError as exc:
        assert exc.reason == "unsafe_xml"
