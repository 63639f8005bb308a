"""HTML plumbing shared by the extractors: decoding, one lxml parse, selectors, text.

- `decode_html(data)`: bytes → str. Byte-order mark, then the charset the page declares
  (`<meta charset>` / `http-equiv`, found by bs4's `EncodingDetector`), then detection
  (charset-normalizer). A declaration that does not fit the bytes is overridden, with a warning.
- `parse_html(text)`: one parse with lxml's HTML parser (the parser bs4 uses as `"lxml"`),
  comments and processing instructions dropped, `<br>` turned into line breaks.
- `select(root, css)`: cached cssselect queries; `text_lines(el)`: the element's text as
  normalised lines; `normalize_lang("fr-CH")` → `"fr"`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import charset_normalizer
import lxml.html
from bs4.dammit import EncodingDetector
from lxml import etree
from lxml.cssselect import CSSSelector

from pipeline.process.clean import normalize_line

__all__ = [
    "decode_html",
    "detect_charset",
    "element_text",
    "iter_json_ld",
    "normalize_lang",
    "parse_html",
    "select",
    "text_lines",
]

_SINGLE_BYTE = {"iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252", "iso-8859-15", "ascii", "us-ascii"}
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, recover=True, default_doctype=False)


# Among equally plausible single-byte decodings, the ones of the Western European sources this
# pipeline reads (charset_normalizer ranks cp1250 and cp1252 equal on French text).
_PREFERRED_LEGACY = ("cp1252", "iso8859_15", "latin_1")


def detect_charset(data: bytes) -> str | None:
    """charset_normalizer's best guess, ties among single-byte code pages going to windows-1252."""
    results = list(charset_normalizer.from_bytes(data[:200_000]))
    if not results:
        return None
    best = results[0]
    tied = {r.encoding for r in results if r.chaos <= best.chaos and r.coherence >= best.coherence - 0.01}
    return next((e for e in _PREFERRED_LEGACY if e in tied), best.encoding)


def decode_html(data: bytes, declared: str | None = None) -> tuple[str, str, list[str]]:
    """Decode page bytes; returns (text, encoding used, warnings).

    `declared` is a charset from the HTTP Content-Type header, tried before the page's own.
    """
    warnings: list[str] = []
    data, bom_encoding = EncodingDetector.strip_byte_order_mark(data)
    if bom_encoding:
        return data.decode(bom_encoding, errors="replace").lstrip("\ufeff"), bom_encoding, warnings
    candidates = [c for c in (declared, EncodingDetector.find_declared_encoding(data, is_html=True)) if c]
    for enc in candidates:
        enc_l = enc.lower()
        try:
            text = data.decode(enc_l)
        except (LookupError, UnicodeDecodeError):
            warnings.append(f"declared charset {enc!r} does not decode the page; detecting")
            continue
        if enc_l in _SINGLE_BYTE and not data.isascii():
            try:
                utf8 = data.decode("utf-8")
            except UnicodeDecodeError:
                return text, enc_l, warnings
            warnings.append(f"declared charset {enc!r} but the bytes are UTF-8; decoded as UTF-8")
            return utf8, "utf-8", warnings
        return text, enc_l, warnings
    try:
        return data.decode("utf-8"), "utf-8", warnings
    except UnicodeDecodeError:
        pass
    detected = detect_charset(data)
    if detected:
        if not candidates:
            warnings.append(f"no charset declared; detected {detected}")
        return data.decode(detected, errors="replace"), detected, warnings
    warnings.append("charset unknown and not detectable; decoded as windows-1252")
    return data.decode("cp1252", errors="replace"), "cp1252", warnings


def parse_html(text: str) -> lxml.html.HtmlElement | None:
    """The document tree (lxml, recovering from broken markup); None when there is no markup."""
    text = _XML_DECL_RE.sub("", text, count=1)
    if _CONTROL_RE.search(text):  # NUL and other control characters: dropped, not fatal
        text = _CONTROL_RE.sub("", text)
    if not text.strip():
        return None
    try:
        root = lxml.html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return root


@lru_cache(maxsize=512)
def _compiled(css: str) -> CSSSelector | None:
    try:
        return CSSSelector(css, translator="html")
    except Exception:  # cssselect raises its own SelectorError/ExpressionError family
        return None


def select(root: Any, css: str) -> list[Any]:
    """Elements under `root` matching `css` (document order); [] for an empty/bad selector."""
    if not css:
        return []
    sel = _compiled(css)
    return sel(root) if sel is not None else []


def select_first(root: Any, css: str) -> Any | None:
    """The first match of the first comma-separated alternative that matches."""
    for alt in css.split(","):
        found = select(root, alt.strip())
        if found:
            return found[0]
    return None


def element_text(el: Any) -> str:
    """All text of an element, one line per `<br>`/newline, lines normalised, empty ones dropped."""
    return "\n".join(text_lines(el))


def text_lines(el: Any) -> list[str]:
    raw = el.text_content() if hasattr(el, "text_content") else "".join(el.itertext())
    return [line for line in (normalize_line(x) for x in raw.split("\n")) if line]


def normalize_lang(code: str | None) -> str | None:
    """`fr-CH`, `fr_CH`, `FR` → `fr`; None for empty/odd values."""
    if not code:
        return None
    m = re.match(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*$", code)
    return m.group(1).lower() if m else None


def iter_json_ld(root: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object of the page, `@graph` members and lists flattened. Bad JSON is skipped."""
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            try:
                data = json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
            except ValueError:
                continue
        yield from _flatten_ld(data)


def _flatten_ld(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten_ld(item)
    elif isinstance(data, dict):
        yield data
        graph = data.get("@graph")
        if graph is not None:
            yield from _flatten_ld(graph)
