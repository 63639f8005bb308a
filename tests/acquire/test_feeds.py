from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.acquire.errors import FetchError
from pipeline.acquire.feeds import FeedItem, parse_feed
from pipeline.acquire.xmlsafe import check_xml_safe
from tests.acquire.conftest import FEEDS, feed_bytes

BASE = "http://news.example.ch"


def test_rss_items_are_normalised():
    feed = parse_feed(feed_bytes("rss_basic.xml", BASE), feed_url=f"{BASE}/feed.xml",
                      content_type="application/rss+xml")
    assert feed.bozo_error is None
    assert feed.title == "Test Info"
    first, second, third = feed.items
    assert first.link == f"{BASE}/info/monde/1.html"  # utm_* and fragment stripped
    assert first.guid == "article-1"
    assert first.title == "Les forces russes entament leur retrait du Kazakhstan"
    assert first.summary == "Le contingent militaire a débuté jeudi son retrait."
    assert first.published == datetime(2022, 1, 13, 9, 15, tzinfo=UTC)
    assert first.updated is None  # no <updated>: not silently copied from pubDate
    assert first.categories == ["Monde"]
    assert first.enclosures == [{"url": f"{BASE}/img/1.jpg", "type": "image/jpeg", "length": "1234"}]
    assert second.categories == ["Suisse", "Politique"]
    assert third.link == f"{BASE}/info/culture/3.html"  # relative, fbclid stripped


def test_feed_in_iso_8859_1():
    data = (FEEDS / "iso-8859-1.xml").read_bytes().replace(b"http://SERVER", BASE.encode())
    assert "é".encode() not in data  # really Latin-1 bytes
    feed = parse_feed(data, feed_url=f"{BASE}/feed.xml", content_type="application/rss+xml")
    assert feed.title == "Actualité romande"
    assert feed.items[0].title == "Genève: la météo s'améliore à Neuchâtel"
    assert feed.items[0].summary == "Été précoce, températures élevées."


def test_truncated_feed_keeps_readable_items_and_records_error():
    feed = parse_feed(feed_bytes("truncated.xml", BASE), feed_url=f"{BASE}/feed.xml")
    assert feed.bozo_error and "no element found" in feed.bozo_error
    assert [(i.title, i.link) for i in feed.items] == [("Premier article", f"{BASE}/info/t/1.html"),
                                                       ("Deuxième article", f"{BASE}/info/t/2.html")]
    assert feed.items[1].published == datetime(2022, 1, 17, 9, tzinfo=UTC)
    assert feed.skipped == {"no_link": 1}  # the cut-off third item has no link: counted, not invented


def test_duplicate_guids_and_links_are_dropped():
    feed = parse_feed(feed_bytes("duplicate_guids.xml", BASE), feed_url=f"{BASE}/feed.xml")
    assert [i.title for i in feed.items] == ["Un", "Deux"]
    assert feed.skipped == {"duplicate": 2}


def test_items_without_dates_and_relative_links_atom():
    feed = parse_feed(feed_bytes("no_dates.atom", BASE), feed_url=f"{BASE}/feeds/atom")
    assert [i.link for i in feed.items] == [f"{BASE}/info/nd/1.html", f"{BASE}/info/nd/2.html"]
    assert all(i.published is None and i.updated is None for i in feed.items)
    assert feed.items[0].guid == "urn:test:nd-1"
    assert feed.items[1].categories == ["Sciences"]


def test_relative_link_without_xml_base_resolves_against_feed_url():
    data = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>r</title>'
            b'<item><title>a</title><link>../b/c.html?gclid=1&amp;id=7</link></item></channel></rss>')
    feed = parse_feed(data, feed_url=f"{BASE}/x/y/feed.rss")
    assert feed.items[0].link == f"{BASE}/x/b/c.html?id=7"
    assert feed.items[0].guid == feed.items[0].link  # no guid: the canonical link


def test_billion_laughs_is_refused_before_parsing(monkeypatch):
    data = (FEEDS / "billion_laughs.xml").read_bytes()

    def never(*_a, **_k):
        raise AssertionError("feedparser must not see an entity-declaring document")

    monkeypatch.setattr("pipeline.acquire.feeds.feedparser.parse", never)
    with pytest.raises(FetchError) as info:
        parse_feed(data, feed_url=f"{BASE}/feed.xml")
    assert info.value.reason == "unsafe_xml"
    assert "lol" in str(info.value)


def test_external_entity_is_refused():
    with pytest.raises(FetchError) as info:
        check_xml_safe((FEEDS / "xxe.xml").read_bytes(), url="x")
    assert info.value.reason == "unsafe_xml"


def test_public_doctype_without_entities_is_accepted():
    data = (b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t'
            b'</title><item><title>i</title><link>http://a.example/1</link></item></channel></rss>')
    assert len(parse_feed(data, feed_url=f"{BASE}/f").items) == 1


def test_feed_item_round_trips_through_dict():
    feed = parse_feed(feed_bytes("rss_basic.xml", BASE), feed_url=f"{BASE}/feed.xml")
    for item in feed.items:
        assert FeedItem.from_dict(item.to_dict()) == item
