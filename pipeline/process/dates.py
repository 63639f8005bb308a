"""Dates, times and durations as news pages write them.

- `to_utc(text_or_dt, default_tz)` parses an ISO-8601 / RFC-822 / free-form timestamp
  (python-dateutil) and returns a timezone-aware UTC datetime; a naive value is read in
  `default_tz` (the site's zone), never silently in the machine's zone.
- `parse_human_date(text)` reads `le 13 janvier 2022`, `1er février 2022`, `13.01.2022`,
  `13 January 2022`, `13. Januar 2022` … into a `date`.
- `parse_human_datetime(text, tz)` adds an optional time (`à 10:46`, `10h46`, `um 10.46 Uhr`).
- `parse_duration(text)` reads `20 sec.`, `6 min.`, `1h05`, `2 min. 30 sec.`, `01:30`
  into seconds.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser

__all__ = [
    "DATE_RE",
    "DURATION_RE",
    "MONTHS",
    "TIME_RE",
    "parse_duration",
    "parse_human_date",
    "parse_human_datetime",
    "to_utc",
    "zone",
]

# Month names (lower-case, accents kept and stripped) in the four languages of Swiss media.
MONTHS: dict[str, int] = {}
for _names in (
    # fr
    ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
     "octobre", "novembre", "décembre"),
    ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre",
     "octobre", "novembre", "decembre"),
    # de
    ("januar", "februar", "märz", "april", "mai", "juni", "juli", "august", "september",
     "oktober", "november", "dezember"),
    ("jänner", "feber", "maerz", "april", "mai", "juni", "juli", "august", "september",
     "oktober", "november", "dezember"),
    # it
    ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
     "settembre", "ottobre", "novembre", "dicembre"),
    # en
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"),
):
    for _i, _name in enumerate(_names, start=1):
        MONTHS.setdefault(_name, _i)
# abbreviations: "janv.", "févr.", "Jan", "Sept." …
for _abbr, _num in (
    ("janv", 1), ("jan", 1), ("févr", 2), ("fevr", 2), ("fév", 2), ("feb", 2), ("mar", 3),
    ("avr", 4), ("apr", 4), ("juil", 7), ("jul", 7), ("jun", 6), ("aug", 8), ("sept", 9),
    ("sep", 9), ("oct", 10), ("okt", 10), ("nov", 11), ("déc", 12), ("dec", 12), ("dez", 12),
):
    MONTHS.setdefault(_abbr, _num)

_MONTH_ALT = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))

# `le 13 janvier 2022`, `1er février 2022`, `13. Januar 2022`, `13 janv. 2022`
_WORD_DATE = rf"(?:le\s+|am\s+|il\s+)?(?P<d>\d{{1,2}})(?:er|re|\.)?\s+(?P<m>{_MONTH_ALT})\.?\s+(?P<y>\d{{4}})"
# `13.01.2022`, `13/01/2022`, `13.1.22`
_NUM_DATE = r"(?:le\s+|am\s+|il\s+)?(?P<nd>\d{1,2})[./](?P<nm>\d{1,2})[./](?P<ny>\d{4}|\d{2})"
DATE_RE = re.compile(rf"(?:{_WORD_DATE}|{_NUM_DATE})", re.IGNORECASE)

# `à 10:46`, `à 10h46`, `10 h 46`, `um 10.46 Uhr`, `10:46:05`
TIME_RE = re.compile(
    r"(?:(?:à|a|um|alle|at)\s+)?(?P<h>[01]?\d|2[0-3])\s*(?:[:h]|\.(?=\d\d\b))\s*(?P<min>[0-5]\d)"
    r"(?::(?P<s>[0-5]\d))?(?:\s*Uhr)?",
    re.IGNORECASE,
)

# One duration: `20 sec.`, `6 min.`, `1h05`, `1 h 05`, `1h`, `2 min. 30 sec.`, `01:30`, `1:02:03`
DURATION_RE = re.compile(
    r"^\s*(?:"
    r"(?P<h1>\d{1,2})\s*h(?:eures?|rs?\.?)?\s*(?P<m1>\d{1,2})?(?:\s*(?:min\.?|mn|minutes?|\'))?"
    r"|(?:(?P<m2>\d{1,3})\s*(?:min\.?|mn|minutes?|minuti|Min\.?|\'))(?:\s*(?P<s2>\d{1,2})\s*(?:sec\.?|s\.?|secondes?|Sek\.?|\"))?"
    r"|(?P<s3>\d{1,4})\s*(?:sec\.?|s\.?|secondes?|secondi|Sek\.?|\")"
    r"|(?:(?P<h4>\d{1,2}):)?(?P<m4>\d{1,2}):(?P<s4>\d{2})"
    r")\s*$",
    re.IGNORECASE,
)


# Zone abbreviations found in RFC-822-style dates of news pages (dateutil knows only UTC/GMT).
_TZ_ABBREVIATIONS: dict[str, int] = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 3600, "CET": 3600, "MEZ": 3600, "CEST": 7200, "MESZ": 7200,
    "EET": 7200, "EEST": 10800, "MSK": 10800, "IST": 19800, "JST": 32400, "KST": 32400,
    "AEST": 36000, "AEDT": 39600, "EST": -18000, "EDT": -14400, "CST": -21600, "CDT": -18000,
    "MST": -25200, "MDT": -21600, "PST": -28800, "PDT": -25200,
}


def _tzinfos(name: str, offset: int | None) -> tzinfo | None:
    seconds = _TZ_ABBREVIATIONS.get(name.upper()) if name else None
    return timezone(timedelta(seconds=seconds), name) if seconds is not None else None


def zone(name: str | None) -> tzinfo:
    """A tzinfo for an IANA name (`Europe/Zurich`); UTC when None/empty/unknown."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return UTC


def to_utc(value: str | datetime | None, default_tz: tzinfo | str | None = None) -> datetime | None:
    """Parse a machine-readable timestamp into an aware UTC datetime; None when unreadable.

    A value without a time zone is interpreted in `default_tz` (UTC when None). A bare
    date (`2022-01-13`) becomes midnight in that zone.
    """
    if value is None:
        return None
    tz = zone(default_tz) if isinstance(default_tz, str) or default_tz is None else default_tz
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if not text or len(text) > 80:
            return None
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                with warnings.catch_warnings():
                    # an unknown zone name leaves the value naive: read in default_tz below
                    warnings.simplefilter("ignore", dateutil_parser.UnknownTimezoneWarning)
                    dt = dateutil_parser.parse(text, tzinfos=_tzinfos)
            except (ValueError, OverflowError, TypeError):
                return None
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=tz)
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _match_to_date(m: re.Match[str]) -> date | None:
    try:
        if m.group("d"):
            return date(int(m.group("y")), MONTHS[m.group("m").lower()], int(m.group("d")))
        year = int(m.group("ny"))
        if year < 100:
            year += 2000
        return date(year, int(m.group("nm")), int(m.group("nd")))
    except (KeyError, ValueError):
        return None


def parse_human_date(text: str) -> date | None:
    """The first calendar date written in `text` (`le 13 janvier 2022` → 2022-01-13)."""
    m = DATE_RE.search(text or "")
    return _match_to_date(m) if m else None


def parse_human_datetime(text: str, tz: tzinfo | str | None = None) -> datetime | None:
    """A date with an optional time after it, read in `tz`, returned in UTC."""
    m = DATE_RE.search(text or "")
    if not m:
        return None
    day = _match_to_date(m)
    if day is None:
        return None
    t = TIME_RE.search(text, m.end())
    at = time(int(t.group("h")), int(t.group("min")), int(t.group("s") or 0)) if t else time(0, 0)
    local_tz = zone(tz) if isinstance(tz, str) or tz is None else tz
    return datetime.combine(day, at, tzinfo=local_tz).astimezone(UTC)


def parse_duration(text: str) -> int | None:
    """Seconds in `20 sec.` (20), `6 min.` (360), `1h05` (3900), `2 min. 30 sec.` (150)."""
    m = DURATION_RE.match(text or "")
    if not m:
        return None
    g = m.groupdict()
    if g["h1"] is not None:
        return int(g["h1"]) * 3600 + int(g["m1"] or 0) * 60
    if g["m2"] is not None:
        return int(g["m2"]) * 60 + int(g["s2"] or 0)
    if g["s3"] is not None:
        return int(g["s3"])
    return int(g["h4"] or 0) * 3600 + int(g["m4"]) * 60 + int(g["s4"])
