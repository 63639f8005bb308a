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
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import charset_normalizer
import lxml.html
from bs4.dammit import EncodingDetector
from cssselect import parse as cssselect_parse
from cssselect import parser as cssselect_parser
from lxml import etree
from lxml.cssselect import CSSSelector

from pipeline.process.clean import normalize_line

__all__ = [
    "Selection",
    "SubtreeSelection",
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
# the same characters: `ch in text` (memchr) for each is 2-7x faster than the regex search
_CONTROL_CHARS = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_LANG_RE = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*\s*$")
_TRAILING_COMMA_RE = re.compile(r",\s*([}\]])")


def _html_parser() -> etree.HTMLParser:
    """lxml.html's HTML parser and element classes, the classes looked up in C.

    `lxml.html.HTMLParser` looks the class of every element proxy up in a Python method
    (`HtmlElementClassLookup.lookup`); each element visited (our walks, trafilatura's passes
    over copies of the tree) paid that call. Same classes: `HtmlElement` and the form ones.
    """
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, recover=True, default_doctype=False)
    lookup = etree.ElementNamespaceClassLookup(etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity,
    ))
    lookup.get_namespace(None).update({
        "form": lxml.html.FormElement, "input": lxml.html.InputElement, "label": lxml.html.LabelElement,
        "select": lxml.html.SelectElement, "textarea": lxml.html.TextareaElement,
    })
    parser.set_element_class_lookup(lookup)
    return parser


_PARSER = _html_parser()


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
    if any(ch in text for ch in _CONTROL_CHARS):  # NUL and other control characters: dropped, not fatal
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
    tags = _plain_tags(css)
    if tags:  # `figure`, `h1, h2`: lxml's own tag filter (in C) instead of an XPath union
        return list(root.iter(*tags))
    sel = _compiled(css)
    return sel(root) if sel is not None else []


def select_first(root: Any, css: str) -> Any | None:
    """The first match of the first comma-separated alternative that matches."""
    for alt in css.split(","):
        found = select(root, alt.strip())
        if found:
            return found[0]
    return None


class Selection:
    """Several selectors matched in one pass over `root`, as the tree is now.

    `all(css)` equals `select(root, css)` for the selectors of `all_of`, `first(css)` equals
    `select_first(root, css)` for those of `first_of`. cssselect makes one XPath traversal per comma alternative, each
    costing about as much as this whole pass on an article page; a page's profile selectors
    (some 60 alternatives for RTS) are matched here in two or three passes instead of ~40
    evaluations. Selectors it cannot match itself (pseudo-classes, other attribute operators)
    are left to `select`.
    """

    def __init__(self, root: Any, *, all_of: Iterable[str] = (), first_of: Iterable[str] = ()) -> None:
        keys = list(all_of)
        for css in first_of:
            keys.extend(alt.strip() for alt in css.split(","))
        self._found = _scan_index(tuple(dict.fromkeys(keys))).run(root)

    def all(self, css: str) -> list[Any]:
        return self._found[css]

    def under(self, el: Any, members: Container[Any] | None = None) -> SubtreeSelection:
        """This selection seen from an element of the tree: `under(el).all(css)` equals
        `select(el, css)` as the subtree is now, `first` equals `select_first`. `members`: the
        elements of that subtree, when the caller has them at hand."""
        return SubtreeSelection(self._found, el, members)

    def discard(self, gone: Iterable[Any]) -> None:
        """Forget elements taken out of the tree since (pass every element of a removed
        subtree): what the selectors match among the others is unchanged, as whether an
        element matches depends only on it and its ancestors."""
        gone = set(gone)
        if gone:
            self._found = {key: [el for el in els if el not in gone] for key, els in self._found.items()}

    def first(self, css: str) -> Any | None:
        for alt in css.split(","):
            found = self._found[alt.strip()]
            if found:
                return found[0]
        return None


class SubtreeSelection:
    """A page `Selection`'s matches that lie in one element's subtree (`Selection.under`).

    Exact for selectors without combinators, whose matching depends on the element alone
    (elements removed since are no longer in the subtree); any other is evaluated afresh.
    """

    def __init__(self, found: dict[str, list[Any]], el: Any, members: Container[Any] | None = None) -> None:
        self._found = found
        self._el = el
        self._members = members

    def under(self, el: Any) -> SubtreeSelection:
        """The same for an element of this subtree."""
        return SubtreeSelection(self._found, el)

    def all(self, css: str) -> list[Any]:
        if not _combinator_free(css):
            return select(self._el, css)
        if self._members is None:
            self._members = set(self._el.iter())
        members = self._members
        return [m for m in self._found[css] if m in members]

    def first(self, css: str) -> Any | None:
        for alt in css.split(","):
            found = self.all(alt.strip())
            if found:
                return found[0]
        return None


# ---- one-pass matching of simple selectors
# Tags, `.class`, `#id`, `[attr]`, `[attr=value]` and the descendant/child combinators, with
# the semantics of the XPath cssselect writes (HTML translator): tag and attribute names
# lower-cased; `.c` = a token of @class split on XML whitespace (normalize-space); results in
# document order; a combinator's ancestor must lie inside the queried element.
_SAFE_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]*$")  # cssselect's `is_safe_name`
_CLASS_NAME_RE = re.compile(r"^[!-~]+$")  # printable ASCII: no whitespace of any kind
_XML_SPACE_RE = re.compile(r"[ \t\n\r]+")  # what XPath normalize-space() collapses


@dataclass(frozen=True)
class _Compound:
    """One compound selector: `tag.class#id[attr=value]` (tag None = any element)."""

    tag: str | None
    classes: tuple[str, ...] = ()
    attrs: tuple[tuple[str, str | None], ...] = ()  # (name, value); value None = exists

    @property
    def plain(self) -> bool:
        return self.tag is not None and not self.classes and not self.attrs

    def matches(self, el: Any) -> bool:
        if self.tag is not None and el.tag != self.tag:
            return False
        for name, value in self.attrs:
            got = el.get(name)
            if got is None or (value is not None and got != value):
                return False
        if self.classes:
            value = el.get("class") or ""
            # a printable value has no whitespace but the space: str.split() splits it alike
            tokens = value.split() if value.isprintable() else _XML_SPACE_RE.split(value)
            return all(c in tokens for c in self.classes)
        return True


# a complex selector read right to left: the subject, then (combinator, compound) pairs for
# its ancestors; combinator " " (descendant) or ">" (child)
_Chain = tuple[_Compound, tuple[tuple[str, _Compound], ...]]


def _compound(node: Any) -> _Compound | None:
    classes: list[str] = []
    attrs: list[tuple[str, str | None]] = []
    while not isinstance(node, cssselect_parser.Element):
        if isinstance(node, cssselect_parser.Class) and _CLASS_NAME_RE.match(node.class_name):
            classes.append(node.class_name)
        elif isinstance(node, cssselect_parser.Hash):
            attrs.append(("id", node.id))
        elif (isinstance(node, cssselect_parser.Attrib) and node.namespace is None
              and _SAFE_NAME_RE.match(node.attrib) and node.operator in ("exists", "=")):
            attrs.append((node.attrib.lower(), None if node.value is None else node.value.value))
        else:
            return None
        node = node.selector
    if node.namespace is not None or (node.element and not _SAFE_NAME_RE.match(node.element)):
        return None
    tag = node.element.lower() if node.element else None
    return _Compound(tag, tuple(reversed(classes)), tuple(reversed(attrs)))


def _chain(tree: Any) -> _Chain | None:
    ancestors: list[tuple[str, _Compound]] = []
    subject: _Compound | None = None
    combinator = ""
    while True:
        if isinstance(tree, cssselect_parser.CombinedSelector):
            if tree.combinator not in (" ", ">"):
                return None
            part, left, left_combinator = _compound(tree.subselector), tree.selector, tree.combinator
        else:
            part, left, left_combinator = _compound(tree), None, ""
        if part is None:
            return None
        if subject is None:
            subject = part
        else:
            ancestors.append((combinator, part))
        if left is None:
            return subject, tuple(ancestors)
        tree, combinator = left, left_combinator


@lru_cache(maxsize=512)
def _chains(css: str) -> tuple[_Chain, ...] | None:
    """The selector list as chains; None when it is empty, invalid or not simple."""
    try:
        selectors = cssselect_parse(css)
    except Exception:  # cssselect's SelectorError family: `select` reports it as no match
        return None
    chains = []
    for sel in selectors:
        chain = None if sel.pseudo_element is not None else _chain(sel.parsed_tree)
        if chain is None:
            return None
        chains.append(chain)
    return tuple(chains) or None


@lru_cache(maxsize=512)
def _combinator_free(css: str) -> bool:
    """Simple selectors only, no descendant/child combinator (an empty selector qualifies)."""
    chains = _chains(css)
    return not css or (chains is not None and all(not ancestors for _subject, ancestors in chains))


@lru_cache(maxsize=512)
def _plain_tags(css: str) -> tuple[str, ...]:
    """(`figure`, `figcaption`) for `figure, figcaption`; () unless every alternative is a tag."""
    chains = _chains(css) or ()
    if chains and all(subject.plain and not ancestors for subject, ancestors in chains):
        return tuple(subject.tag for subject, _ in chains if subject.tag)
    return ()


_Ancestors = tuple[tuple[str, int], ...]  # (combinator, slot of the ancestor's compound)


@dataclass
class _Slot:
    """A distinct compound of the indexed selectors, and what to do when an element matches it."""

    part: _Compound
    index: int
    is_ancestor: bool = False  # some chain needs it above its subject: remember the element
    subjects: list[tuple[str, _Ancestors]] = field(default_factory=list)  # chains it is the subject of
    # a bare tag (or `*`): every element the index offers for it matches, no test needed
    sure: bool = False


class _ScanIndex:
    """The compounds of several selectors, indexed by first class, else tag, else attribute.

    One pass in document order: an element matching a compound that appears as an ancestor
    in some chain is remembered (an anchor) before its descendants are reached, so that a
    chain's ancestors are then checked by identity, without matching them again.
    """

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.elsewhere: list[str] = []  # empty, plain tags or not simple: `select` answers
        self.slots: dict[_Compound, _Slot] = {}
        for key in keys:
            chains = _chains(key)
            if chains is None or _plain_tags(key):
                self.elsewhere.append(key)
                continue
            for subject, ancestors in chains:
                slots = [(combinator, self._slot(part)) for combinator, part in ancestors]
                for _combinator, slot in slots:
                    slot.is_ancestor = True
                self._slot(subject).subjects.append((key, tuple((c, slot.index) for c, slot in slots)))
        self.by_tag: dict[str, list[_Slot]] = {}
        self.by_class: dict[str, list[_Slot]] = {}
        by_attr: dict[str, list[_Slot]] = {}
        self.any: list[_Slot] = []  # `*`
        for part, slot in self.slots.items():
            if part.classes:  # the most selective: `p.lead` is only tried on elements of class `lead`
                self.by_class.setdefault(part.classes[0], []).append(slot)
            elif part.tag:
                self.by_tag.setdefault(part.tag, []).append(slot)
            elif part.attrs:
                by_attr.setdefault(part.attrs[0][0], []).append(slot)
            else:
                self.any.append(slot)
        self.by_attr = by_attr

    def _slot(self, part: _Compound) -> _Slot:
        if part not in self.slots:
            self.slots[part] = _Slot(part, len(self.slots), sure=not part.classes and not part.attrs)
        return self.slots[part]

    def run(self, root: Any) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {key: [] for key in self.keys}
        for key in self.elsewhere:
            found[key] = select(root, key)
        if not self.slots:
            return found
        anchors: list[set[Any]] = [set() for _ in self.slots]
        by_tag, by_class, by_attr, any_slots = self.by_tag, self.by_class, self.by_attr, self.any
        # the compounds each element may match: those of its tag, of its classes, of its
        # attributes (inlined: this loop runs for every element of the page; `items()` reads
        # all attributes in one call). Classes are split on any whitespace here, a superset of
        # the XML-whitespace tokens for the ASCII class names indexed; `_Compound.matches`
        # then decides exactly.
        for el in root.iter(etree.Element):
            slots = by_tag.get(el.tag)
            for name, value in el.items():
                if name == "class":
                    for token in value.split():
                        more = by_class.get(token)
                        if more:
                            slots = more if slots is None else slots + more
                more = by_attr.get(name)
                if more:
                    slots = more if slots is None else slots + more
            if any_slots:
                slots = any_slots if slots is None else slots + any_slots
            if slots:
                _match(el, slots, anchors, found, root)
        return found


def _match(el: Any, slots: list[_Slot], anchors: list[set[Any]], found: dict[str, list[Any]], root: Any) -> None:
    keys: list[str] = []  # selectors `el` was added to (once each)
    for slot in slots:
        if not slot.sure and not slot.part.matches(el):
            continue
        if slot.is_ancestor:
            anchors[slot.index].add(el)
        for key, ancestors in slot.subjects:
            if (not ancestors or _ancestors_in(el, ancestors, anchors, root)) and key not in keys:
                keys.append(key)
                found[key].append(el)


def _ancestors_in(el: Any, ancestors: _Ancestors, anchors: list[set[Any]], root: Any) -> bool:
    """Do `el`'s ancestors (up to `root` included) satisfy the chain? Backtracks over the
    descendant combinator; an ancestor matches a compound when it is among its anchors."""
    if not ancestors:
        return True
    (combinator, index), rest = ancestors[0], ancestors[1:]
    matching = anchors[index]
    if not matching or el is root:
        return False
    parent = el.getparent()
    if combinator == ">":
        return parent in matching and _ancestors_in(parent, rest, anchors, root)
    while parent is not None:
        if parent in matching and _ancestors_in(parent, rest, anchors, root):
            return True
        if parent is root:
            return False
        parent = parent.getparent()
    return False


@lru_cache(maxsize=256)
def _scan_index(keys: tuple[str, ...]) -> _ScanIndex:
    return _ScanIndex(keys)


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
    m = _LANG_RE.match(code)
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
                data = json.loads(_TRAILING_COMMA_RE.sub(r"\1", raw), strict=False)
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


# Elements whose text is never article text (what a reader does not see).
DROP_TAGS = ("script", "style", "noscript", "template", "svg", "canvas", "object", "embed")


def drop_element(el: Any) -> None:
    """Remove an element but keep its tail text in place."""
    if el.getparent() is not None:
        el.drop_tree()


# Elements whose text a reader never sees as text.
INVISIBLE_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "title", "meta", "link"})


def visible_text(el: Any) -> str:
    """The element's text without that of scripts, styles, SVG and the document head (lxml's
    `text_content` includes them); line breaks of the source kept."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        tag = node.tag if isinstance(node.tag, str) else None
        if tag in INVISIBLE_TAGS:
            return
        if tag is not None and node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return "".join(parts)
