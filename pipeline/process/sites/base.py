"""`SiteProfile`: what one site's pages look like — selectors and boilerplate line patterns.

A profile is data only. The engines (`pipeline.process.clean` for text lines,
`pipeline.process.extract` for HTML) read it; a new site is a new small module in this
package holding one `PROFILE = SiteProfile(...)`, registered in `sites/__init__.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["HtmlSelectors", "SiteProfile"]


@dataclass(frozen=True)
class HtmlSelectors:
    """CSS selectors (lxml cssselect) of a site's article pages; comma lists allowed.

    The first selector that matches wins for `title`, `lead` and `body`. Everything matching
    `remove` is dropped from the tree before the body is read (navigation, share bars,
    cookie banners, newsletter boxes, related-article lists, footers).
    """

    title: str = "h1"
    lead: str = ""
    body: str = ""
    remove: str = ""
    figure: str = "figure"  # image/video/audio blocks inside the body
    caption: str = "figcaption"
    credit: str = ""  # credit element inside a caption (else `[credit]` in its text)
    media: str = ""  # media blocks (a figure or div holding a player and its metadata line)
    media_title: str = ""
    media_show: str = ""
    media_duration: str = ""
    media_date: str = ""
    related_inline: str = ""  # inline `>> Lire:` asides inside the body
    signature: str = ""
    section: str = ""  # breadcrumb / rubric element, last item wins
    authors: str = ""
    time_published: str = ""
    time_modified: str = ""


@dataclass(frozen=True)
class SiteProfile:
    """Selectors and boilerplate patterns of one site (or of `generic`, for unknown sites)."""

    name: str
    hosts: tuple[str, ...] = ()  # registrable hosts, e.g. ("rts.ch",): matches www.rts.ch too
    language: str | None = None  # the site's usual language (ISO 639-1)
    timezone: str = "UTC"  # zone of naive timestamps written on the site
    # The site's lead (chapeau) is part of the article: when extraction misses it, find it
    # again from structured data or its position (pipeline/process/lead.py). Off for the
    # generic web, where a page summary is often a dek that is not part of the article.
    recover_lead: bool = False
    html: HtmlSelectors = field(default_factory=HtmlSelectors)

    # ---- line rules (the text-dump cleaner and the HTML body walker share them)
    # exact lines (compared case-folded, whitespace-collapsed) that are site chrome
    boilerplate_lines: frozenset[str] = frozenset()
    # regexes (searched, case-insensitive) for chrome lines: cookies, newsletter, footer …
    boilerplate_patterns: tuple[str, ...] = ()
    # a line that opens a block of chrome lines running to the next blank line
    # (`Sur le même sujet`, `Articles liés` followed by link titles)
    boilerplate_section_headers: frozenset[str] = frozenset()
    # words allowed in a publication stamp besides dates and times (`Publié le … Modifié …`)
    stamp_keywords: tuple[str, ...] = ()
    stamp_fillers: tuple[str, ...] = ()
    # `>> Lire: Title` — groups `label` and `title`
    related_pattern: str | None = None
    # `>> Lire aussi:` alone, the title on the next line — group `label`
    related_label_pattern: str | None = None
    # any other line announcing what follows (`>> Les explications de … :`)
    teaser_pattern: str | None = None
    # `Caption text [Credit - Name]` — groups `text`, `credit`, `tail` (a repeated credit)
    caption_pattern: str | None = None
    credit_separator: str = r"\s+-\s+|\s*/\s*"
    # media line `Title / Show / 20 sec. / le 13 janvier 2022`: parts separator
    media_separator: str | None = None
    # shows of the site whose kind is known ("audio"/"video"), keys case-folded
    show_kinds: dict[str, str] = field(default_factory=dict)
    # agency signature `afp/jop`, `ats/afp/xyz`: agencies known to the site (lower-case)
    agencies: frozenset[str] = frozenset()
    signature_pattern: str | None = None
    # `Sujet TV: Jean Dupont` style author lines — group `names`
    author_line_pattern: str | None = None
    # an `<h1>` text or `<title>` suffix to drop (` - rts.ch - Monde`)
    title_suffix_pattern: str | None = None

    # ------------------------------------------------------------------ compiled forms
    def __post_init__(self) -> None:
        def comp(p: str | None, flags: int = re.IGNORECASE) -> re.Pattern[str] | None:
            return re.compile(p, flags) if p else None

        object.__setattr__(self, "_boilerplate_res", tuple(re.compile(p, re.I) for p in self.boilerplate_patterns))
        anchored, others = _combine_anchored(self.boilerplate_patterns)
        object.__setattr__(self, "_boilerplate_anchored_re", anchored)
        object.__setattr__(self, "_boilerplate_other_res", others)
        object.__setattr__(self, "_related_re", comp(self.related_pattern))
        object.__setattr__(self, "_teaser_re", comp(self.teaser_pattern))
        object.__setattr__(self, "_related_label_re", comp(self.related_label_pattern))
        object.__setattr__(self, "_caption_re", comp(self.caption_pattern, 0))
        object.__setattr__(self, "_credit_split_re", re.compile(self.credit_separator))
        object.__setattr__(self, "_signature_re", comp(self.signature_pattern))
        object.__setattr__(self, "_author_re", comp(self.author_line_pattern))
        object.__setattr__(self, "_title_suffix_re", comp(self.title_suffix_pattern))
        media_sep = re.compile(self.media_separator) if self.media_separator else None
        object.__setattr__(self, "_media_sep_re", media_sep)
        words = "|".join(re.escape(w) for w in sorted(self.stamp_keywords, key=len, reverse=True))
        fillers = "|".join(re.escape(w) for w in sorted(self.stamp_fillers, key=len, reverse=True))
        object.__setattr__(self, "_stamp_keyword_re", re.compile(rf"\b(?:{words})\b", re.I) if words else None)
        object.__setattr__(self, "_stamp_filler_re", re.compile(rf"\b(?:{fillers})\b", re.I) if fillers else None)
        object.__setattr__(self, "_lines_cf", frozenset(_fold(x) for x in self.boilerplate_lines))
        object.__setattr__(self, "_chrome_first_words", frozenset(x.split(" ")[0] for x in self._lines_cf))  # type: ignore[attr-defined]
        object.__setattr__(self, "_section_headers_cf", frozenset(_fold(x) for x in self.boilerplate_section_headers))

    # the engines read these
    @property
    def boilerplate_res(self) -> tuple[re.Pattern[str], ...]:
        return self._boilerplate_res  # type: ignore[attr-defined]

    @property
    def related_re(self) -> re.Pattern[str] | None:
        return self._related_re  # type: ignore[attr-defined]

    @property
    def related_label_re(self) -> re.Pattern[str] | None:
        return self._related_label_re  # type: ignore[attr-defined]

    @property
    def teaser_re(self) -> re.Pattern[str] | None:
        return self._teaser_re  # type: ignore[attr-defined]

    @property
    def caption_re(self) -> re.Pattern[str] | None:
        return self._caption_re  # type: ignore[attr-defined]

    @property
    def credit_split_re(self) -> re.Pattern[str]:
        return self._credit_split_re  # type: ignore[attr-defined]

    @property
    def signature_re(self) -> re.Pattern[str] | None:
        return self._signature_re  # type: ignore[attr-defined]

    @property
    def author_re(self) -> re.Pattern[str] | None:
        return self._author_re  # type: ignore[attr-defined]

    @property
    def title_suffix_re(self) -> re.Pattern[str] | None:
        return self._title_suffix_re  # type: ignore[attr-defined]

    @property
    def media_sep_re(self) -> re.Pattern[str] | None:
        return self._media_sep_re  # type: ignore[attr-defined]

    @property
    def stamp_keyword_re(self) -> re.Pattern[str] | None:
        return self._stamp_keyword_re  # type: ignore[attr-defined]

    @property
    def stamp_filler_re(self) -> re.Pattern[str] | None:
        return self._stamp_filler_re  # type: ignore[attr-defined]

    def is_boilerplate_line(self, line: str) -> bool:
        """Chrome by exact line or by pattern (not stamps, teasers or captions)."""
        return self._is_boilerplate(line, _fold(line))

    def chrome_kind(self, line: str) -> Literal["section", "boilerplate"] | None:
        """`"section"` (`is_section_header`), else `"boilerplate"` (`is_boilerplate_line`), else
        None: both tests on one folding of the line."""
        folded = _fold(line)
        if folded in self._section_headers_cf:  # type: ignore[attr-defined]
            return "section"
        return "boilerplate" if self._is_boilerplate(line, folded) else None

    def _is_boilerplate(self, line: str, folded: str) -> bool:
        if not folded:
            return False
        if folded in self._lines_cf or folded in self._section_headers_cf:  # type: ignore[attr-defined]
            return True
        if " " in folded and len(folded) <= 200 and self._is_chrome_run(folded):
            return True
        # the `^…` patterns as one anchored alternation: it fails at the first character of a
        # line that starts none of them (a plain alternation of them would scan the whole line)
        anchored = self._boilerplate_anchored_re  # type: ignore[attr-defined]
        if anchored is not None and anchored.match(line):
            return True
        # an unanchored pattern opening with a word is only searched in lines holding its letters
        return any(
            r.search(line) for r, letters in self._boilerplate_other_res  # type: ignore[attr-defined]
            if letters is None or letters in folded
        )

    def _is_chrome_run(self, folded: str) -> bool:
        """A line made only of known chrome items (`Info Sport Culture Play RTS`, `Partager Facebook X`)."""
        spaced = folded.replace("|", " ").replace("·", " ")
        first = spaced.split(None, 1)[:1]
        if not first or first[0] not in self._chrome_first_words:  # type: ignore[attr-defined]
            return False  # no item starts with the line's first word (most lines: one lookup)
        words = spaced.split()
        lines_cf = self._lines_cf  # type: ignore[attr-defined]
        i = items = 0
        while i < len(words):
            for size in (4, 3, 2, 1):
                if i + size <= len(words) and " ".join(words[i:i + size]) in lines_cf:
                    i += size
                    items += 1
                    break
            else:
                return False
        return items >= 2

    def is_section_header(self, line: str) -> bool:
        return _fold(line) in self._section_headers_cf  # type: ignore[attr-defined]

    def matches_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or host.endswith("." + h) for h in self.hosts)


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


_Searched = tuple[re.Pattern[str], str | None]  # a pattern and the letters its matches hold


def _combine_anchored(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, tuple[_Searched, ...]]:
    """(one regex matching where any of the `^…` patterns matches, the other patterns compiled
    with their `_required_letters`).

    A pattern joins the alternation when it can only match at the start of the line (it begins
    with `^` and has no `|` outside groups) and has no group (nothing to renumber); the others
    stay separate searches. All are case-insensitive, as `boilerplate_res`.
    """
    anchored = [p for p in patterns if _starts_anchored(p) and re.compile(p, re.I).groups == 0]
    others = tuple((re.compile(p, re.I), _required_letters(p)) for p in patterns if p not in anchored)
    if not anchored:
        return None, others
    return re.compile("^(?:" + "|".join(f"(?:{p[1:]})" for p in anchored) + ")", re.I), others


# ASCII letters whose case-insensitive matches do not all fold to them: `i` also matches the
# Turkish İ and ı (every other letter's matches, such as the Kelvin sign K, fold to it)
_UNFOLDED_LETTERS = "i"


def _required_letters(pattern: str) -> str | None:
    """Case-folded letters every case-insensitive match of `pattern` holds, or None.

    The ASCII letters opening the pattern (after an optional `\\b`), without a last one a
    quantifier applies to, up to the first letter of `_UNFOLDED_LETTERS`; only when there
    are 3 or more and the pattern has no top-level `|`. A line whose case-folded text lacks
    them cannot match (`cookies` → `cook`).
    """
    if _has_top_level_bar(pattern, 0):
        return None
    body = pattern[2:] if pattern.startswith("\\b") else pattern
    run = re.match(r"[A-Za-z]*", body).group(0)  # type: ignore[union-attr]
    if body[len(run):len(run) + 1] in ("*", "+", "?", "{"):
        run = run[:-1]
    letters = re.split(f"[{_UNFOLDED_LETTERS}]", run.lower(), maxsplit=1)[0]
    return letters if len(letters) >= 3 else None


def _starts_anchored(pattern: str) -> bool:
    """`^…` without a top-level `|` (escapes and character classes skipped)."""
    return pattern.startswith("^") and not _has_top_level_bar(pattern, 1)


def _has_top_level_bar(pattern: str, start: int) -> bool:
    """A `|` outside groups and character classes (escapes skipped) from `start` on."""
    depth, i, n = 0, start, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 1
        elif c == "[":
            i += 1
            i += pattern[i:i + 1] == "^"
            i += pattern[i:i + 1] == "]"  # a `]` first in a class is a literal
            while i < n and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False
