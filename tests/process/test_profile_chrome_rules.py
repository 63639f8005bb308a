"""The boilerplate test of a site profile, made cheaper, answers as the plain rules do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.process.html_utils import decode_html, parse_html
from pipeline.process.sites import SiteProfile, available_profiles, get_profile
from pipeline.process.sites.base import _fold, _starts_anchored

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _reference_is_boilerplate(prof: SiteProfile, line: str) -> bool:
    """The rule as written: exact lines, runs of chrome items, every pattern searched."""
    folded = _fold(line)
    if not folded:
        return False
    lines_cf = {_fold(x) for x in prof.boilerplate_lines}
    if folded in lines_cf or folded in {_fold(x) for x in prof.boilerplate_section_headers}:
        return True
    if " " in folded and len(folded) <= 200:
        words = folded.replace("|", " ").replace("·", " ").split()
        i = items = 0
        while i < len(words):
            for size in (4, 3, 2, 1):
                if i + size <= len(words) and " ".join(words[i:i + size]) in lines_cf:
                    i += size
                    items += 1
                    break
            else:
                break
        else:
            if items >= 2:
                return True
    return any(re.search(p, line, re.I) for p in prof.boilerplate_patterns)


def _sample_lines() -> list[str]:
    lines: set[str] = set()
    for path in FIXTURES.rglob("*.txt"):
        lines.update(path.read_text(encoding="utf-8").splitlines())
    for path in FIXTURES.rglob("*.html"):
        root = parse_html(decode_html(path.read_bytes())[0])
        if root is not None:
            lines.update(root.text_content().splitlines())
    for name in available_profiles():
        prof = get_profile(name)
        lines.update(prof.boilerplate_lines)
        lines.update(prof.boilerplate_section_headers)
        lines.update(" ".join(sorted(prof.boilerplate_lines)[i:i + 3]) for i in range(0, 30, 3))
    lines.update([
        "", " ", "| |", "· |", "Partager | Facebook · X", "Info Sport Culture Play RTS", "Info Sport Culture hier",
        "Ce site utilise des cookies pour mesurer l'audience.", "Les cookies : politique et consentement",
        "COOKIES acceptez-les", "Nous utilisons des cookies", "© 2024 RTS - Radio Télévision Suisse",
        "Accueil > Info > Monde", "Lecture : 3 min", "12 commentaires", "pic.twitter.com/abc123",
        "We use cookies to improve", "Copyright 2023 Example Inc.", "Un paragraphe ordinaire, sans chrome.",
        # case-insensitive look-alikes: Kelvin sign, long s, dotless and dotted capital i
        "Les cooKies : politique", "Les cookieſ : politique", "Les cookıes : politique",
        "Les COOKİES : politique", "Les c o o k i e s : politique",
    ])
    return sorted(lines)


@pytest.mark.parametrize("name", available_profiles())
def test_boilerplate_equals_plain_rules(name: str) -> None:
    prof = get_profile(name)
    for line in _sample_lines():
        expected = _reference_is_boilerplate(prof, line)
        assert prof.is_boilerplate_line(line) is expected, line
        section = prof.is_section_header(line)
        kind = "section" if section else "boilerplate" if expected else None
        assert prof.chrome_kind(line) == kind, line


@pytest.mark.parametrize(("pattern", "anchored"), [
    ("^a", True), ("^(?:a|b)c", True), ("^a|b", False), (r"^\|x|y", False), (r"^a\|b", True),
    ("^[|]x", True), ("^[]|]x", True), ("^[^]|]x", True), (r"^[\]|]x", True), ("a^", False), ("", False),
])
def test_starts_anchored(pattern: str, anchored: bool) -> None:
    assert _starts_anchored(pattern) is anchored


def test_invisible_characters_are_not_printable() -> None:
    """normalize_line skips its invisible-character search for printable text."""
    from pipeline.process.clean import _INVISIBLE, _INVISIBLE_RE, normalize_line

    invisible = [chr(c) for c in range(0x110000) if _INVISIBLE_RE.match(chr(c))]
    assert sorted(map(ord, invisible)) == sorted(_INVISIBLE)
    assert not any(ch.isprintable() for ch in invisible)
    assert normalize_line("a\u200bb\x07 \u00a0c\ufeff") == "ab c"


def _reference_normalize(text: str) -> str:
    import unicodedata

    from pipeline.process.clean import _INVISIBLE, _INVISIBLE_RE

    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if _INVISIBLE_RE.search(text):
        text = text.translate(_INVISIBLE)
    return " ".join(text.split())


class _Smart(str):
    """A str subclass (as lxml's smart strings): normalize_line must still return a str."""


@pytest.mark.parametrize("text", [
    "", " ", "a", "a b", " a", "a ", "a  b", "a\tb", "a\u00a0b", "a\u2000b", "\u200ba", "e\u0301t\u00e9",
    "déjà  vu ", "Le 19h30 / RTS / 2 min.", "x\x1fy", "\ufeffBOM", "a\u3000b", _Smart("a b"), _Smart(" a"),
])
def test_normalize_line_equals_plain_rules(text: str) -> None:
    from pipeline.process.clean import normalize_line

    out = normalize_line(text)
    assert out == _reference_normalize(text)
    assert type(out) is str


def test_unfolded_letters_are_the_only_ones() -> None:
    """`_required_letters` relies on it: every character matching an ASCII letter other than
    those case-insensitively folds (`str.casefold`) to that letter."""
    from pipeline.process.sites.base import _UNFOLDED_LETTERS

    others = "".join(x for x in "abcdefghijklmnopqrstuvwxyz" if x not in _UNFOLDED_LETTERS)
    letter = re.compile(f"[{others}]", re.I)
    for code in range(0x110000):
        ch = chr(code)
        if letter.fullmatch(ch):
            assert ch.casefold() in others and len(ch.casefold()) == 1, hex(code)


@pytest.mark.parametrize(("pattern", "letters"), [
    (r"\bcookies\b.{0,60}\b(?:politique)\b", "cook"), ("cookies?", "cook"), ("Publicité", "publ"),
    ("abc|d", None), ("ab", None), (r"(?i)cookies", None), (r"\Bcookies", None), ("xyz+a", None),
])
def test_required_letters(pattern: str, letters: str | None) -> None:
    from pipeline.process.sites.base import _required_letters

    assert _required_letters(pattern) == letters
