"""Pages in markup nobody here designed the extraction for (tests/fixtures/unseen/README.md):
RTS-style pages in eight other markups, German and Italian public-broadcaster pages. Their
goldens were written from what each page says, not from the extractor's output.

The gate of issue 17: the title exact, lead and body token F1 ≥ 0.95, and none of the page's
boilerplate strings in the title, lead or body. `python -m bench.unseen` prints the scores
beside trafilatura's on the same pages."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline.models import Article
from pipeline.process.extract import extract_article

UNSEEN = Path(__file__).resolve().parents[1] / "fixtures" / "unseen"
NAMES = sorted(p.name.removesuffix(".expected.json") for p in UNSEEN.glob("*.expected.json"))
MIN_F1 = 0.95


def token_f1(gold: str, pred: str) -> float:
    """Bag-of-words F1 of lower-cased \\w+ tokens (1.0 when both are empty)."""
    g, p = Counter(re.findall(r"\w+", gold.lower())), Counter(re.findall(r"\w+", pred.lower()))
    if not g and not p:
        return 1.0
    tp = sum((g & p).values())
    return 2 * tp / (sum(g.values()) + sum(p.values())) if tp else 0.0


def _case(name: str) -> tuple[dict[str, Any], Article]:
    expected = json.loads((UNSEEN / f"{name}.expected.json").read_text(encoding="utf-8"))
    return expected, extract_article((UNSEEN / f"{name}.html").read_bytes(), None)


def test_the_fixture_set_is_there() -> None:
    assert len([n for n in NAMES if n.startswith("rts-")]) >= 8
    assert {n.split("-")[0] for n in NAMES} == {"rts", "de", "it"}


@pytest.mark.parametrize("name", NAMES)
def test_title_lead_and_body(name: str) -> None:
    expected, article = _case(name)
    assert article.title == expected["title"]
    assert token_f1(expected["lead"], article.lead) >= MIN_F1, article.lead
    body = "\n".join(b.text for b in article.body)
    assert token_f1("\n".join(b["text"] for b in expected["body"]), body) >= MIN_F1, body


@pytest.mark.parametrize("name", NAMES)
def test_no_boilerplate_in_title_lead_or_body(name: str) -> None:
    expected, article = _case(name)
    text = "\n".join([article.title, article.lead, *(b.text for b in article.body)]).casefold()
    leaks = [s for s in expected["boilerplate"] if s.casefold() in text]
    assert leaks == []


@pytest.mark.parametrize("name", NAMES)
def test_the_evidence_that_gave_the_lead_and_body_is_recorded(name: str) -> None:
    _, article = _case(name)
    assert article.evidence["body"] in {"profile", "generic"}
    assert article.evidence["lead"] in {"profile", "generic", "json-ld:description", "microdata:description",
                                        "meta:og:description", "meta:description", "meta:twitter:description",
                                        "position", "first-paragraph"}


@pytest.mark.parametrize(("name", "signature"), [
    ("de-embeds", {"raw": "(sda/dpa)", "agencies": ["sda", "dpa"], "initials": None}),
    ("it-agency", {"raw": "ATS/ANSA", "agencies": ["ats", "ansa"], "initials": None}),
])
def test_agency_credit_lines_become_the_signature(name: str, signature: dict[str, Any]) -> None:
    _, article = _case(name)
    assert article.signature is not None
    assert {"raw": article.signature.raw, "agencies": article.signature.agencies,
            "initials": article.signature.initials} == signature
    assert all(signature["raw"] not in b.text for b in article.body)


@pytest.mark.parametrize("name", NAMES)
def test_captions_and_their_credits(name: str) -> None:
    expected, article = _case(name)
    assert [{"text": c.text, "credits": c.credits} for c in article.captions] == expected["captions"]


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="signature split across spans after the share "
                                                                 "bar, outside the body: not captured yet"))
    if n == "rts-bem-redesign" else n for n in NAMES])
def test_signature(name: str) -> None:
    expected, article = _case(name)
    got = None if article.signature is None else {
        "raw": article.signature.raw, "agencies": article.signature.agencies, "initials": article.signature.initials}
    assert got == expected["signature"]


@pytest.mark.parametrize("name", NAMES)
def test_embedded_posts_are_kept_apart(name: str) -> None:
    expected, article = _case(name)
    assert [{"platform": e.platform, "text": e.text} for e in article.embeds] == expected["embeds"]
    body = "\n".join(b.text for b in article.body)
    assert all(e["text"] not in body for e in expected["embeds"])
