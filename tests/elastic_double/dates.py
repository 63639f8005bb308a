"""Date parsing, formatting and date math in the manner of Elasticsearch (epoch milliseconds, UTC).

Supported formats: the named ones the project can meet (strict_date_optional_time, date_optional_time,
strict_date_time, strict_date_time_no_millis, strict_date, date, epoch_millis, epoch_second,
basic_date) and Java-style patterns made of yyyy, MM, dd, HH, mm, ss, SSS, Z/XXX and quoted literals.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_FORMAT = "strict_date_optional_time||epoch_millis"


class DateParseError(ValueError):
    pass


_ISO_RE = re.compile(
    r"^(?P<y>[+-]?\d{4,9})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:(?P<sep>[T ])(?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$"
)


def _tz_offset(tz: str | None) -> timedelta:
    if not tz or tz == "Z":
        return timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or 0)
    return sign * timedelta(hours=hours, minutes=minutes)


def _to_millis(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _parse_iso(value: str, *, strict: bool, require_time: bool = False, allow_no_tz: bool = True) -> int:
    m = _ISO_RE.match(value)
    if not m or (strict and m.group("sep") == " ") or (require_time and not m.group("h")):
        raise DateParseError(value)
    if m.group("h") and not m.group("mi") and strict:
        pass
    if not allow_no_tz and m.group("h") and not m.group("tz"):
        raise DateParseError(value)
    try:
        frac = (m.group("f") or "0").ljust(9, "0")
        dt = datetime(
            int(m.group("y")),
            int(m.group("mo") or 1),
            int(m.group("d") or 1),
            int(m.group("h") or 0),
            int(m.group("mi") or 0),
            int(m.group("s") or 0),
            int(frac[:6]),
            tzinfo=timezone(_tz_offset(m.group("tz"))),
        )
    except ValueError as exc:
        raise DateParseError(value) from exc
    return _to_millis(dt)


def _epoch_millis(value: str) -> int:
    if not re.fullmatch(r"-?\d+(\.\d+)?", value):
        raise DateParseError(value)
    return int(float(value)) if "." in value else int(value)


def _epoch_second(value: str) -> int:
    if not re.fullmatch(r"-?\d+(\.\d+)?", value):
        raise DateParseError(value)
    return int(float(value) * 1000)


_PATTERN_TOKENS = [
    ("yyyy", r"(?P<y>\d{4})"), ("uuuu", r"(?P<y>\d{4})"), ("MM", r"(?P<mo>\d{2})"), ("dd", r"(?P<d>\d{2})"),
    ("HH", r"(?P<h>\d{2})"), ("mm", r"(?P<mi>\d{2})"), ("ss", r"(?P<s>\d{2})"), ("SSS", r"(?P<f>\d{3})"),
    ("XXX", r"(?P<tz>Z|[+-]\d{2}:\d{2})"), ("ZZ", r"(?P<tz>Z|[+-]\d{2}:?\d{2})"), ("Z", r"(?P<tz>Z|[+-]\d{2}:?\d{2})"),
    ("X", r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)"),
]


def _compile_pattern(pattern: str) -> tuple[re.Pattern[str], str]:
    out = []
    strf = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "'":
            end = pattern.index("'", i + 1)
            out.append(re.escape(pattern[i + 1 : end]))
            strf.append(pattern[i + 1 : end])
            i = end + 1
            continue
        for token, regex in _PATTERN_TOKENS:
            if pattern.startswith(token, i):
                out.append(regex)
                strf.append({"yyyy": "%Y", "uuuu": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M",
                             "ss": "%S", "SSS": "{ms}"}.get(token, "Z"))
                i += len(token)
                break
        else:
            if pattern[i].isalpha():
                raise ValueError(f"Unknown pattern letter: {pattern[i]}")
            out.append(re.escape(pattern[i]))
            strf.append(pattern[i].replace("%", "%%"))
            i += 1
    return re.compile("^" + "".join(out) + "$"), "".join(strf)


def _pattern_parser(pattern: str) -> Callable[[str], int]:
    regex, _ = _compile_pattern(pattern)

    def parse(value: str) -> int:
        m = regex.match(value)
        if not m:
            raise DateParseError(value)
        g = m.groupdict()
        try:
            dt = datetime(int(g.get("y") or 1970), int(g.get("mo") or 1), int(g.get("d") or 1),
                          int(g.get("h") or 0), int(g.get("mi") or 0), int(g.get("s") or 0),
                          int((g.get("f") or "0").ljust(6, "0")[:6]), tzinfo=timezone(_tz_offset(g.get("tz"))))
        except ValueError as exc:
            raise DateParseError(value) from exc
        return _to_millis(dt)

    return parse


_NAMED: dict[str, Callable[[str], int]] = {
    "strict_date_optional_time": lambda v: _parse_iso(v, strict=True),
    "date_optional_time": lambda v: _parse_iso(v, strict=False),
    "strict_date_optional_time_nanos": lambda v: _parse_iso(v, strict=True),
    "strict_date_time": lambda v: _parse_iso(v, strict=True, require_time=True, allow_no_tz=False),
    "date_time": lambda v: _parse_iso(v, strict=False, require_time=True, allow_no_tz=False),
    "strict_date_time_no_millis": lambda v: _parse_iso(v, strict=True, require_time=True, allow_no_tz=False),
    "date_time_no_millis": lambda v: _parse_iso(v, strict=False, require_time=True, allow_no_tz=False),
    "strict_date": lambda v: _pattern_parser("yyyy-MM-dd")(v),
    "date": lambda v: _pattern_parser("yyyy-MM-dd")(v),
    "basic_date": lambda v: _pattern_parser("yyyyMMdd")(v),
    "strict_date_hour_minute_second": lambda v: _pattern_parser("yyyy-MM-dd'T'HH:mm:ss")(v),
    "epoch_millis": _epoch_millis,
    "epoch_second": _epoch_second,
}


class DateFormat:
    """A `format` value of a date field or a query (`a||b||c`): parse tries each in order."""

    def __init__(self, spec: str = DEFAULT_FORMAT) -> None:
        self.spec = spec
        self.parsers: list[Callable[[str], int]] = []
        self.names = [p.strip() for p in spec.split("||") if p.strip()]
        if not self.names:
            raise ValueError("empty date format")
        for name in self.names:
            if name in _NAMED:
                self.parsers.append(_NAMED[name])
            else:
                self.parsers.append(_pattern_parser(name))

    def parse(self, value: object) -> int:
        if isinstance(value, bool):
            raise DateParseError(str(value))
        if isinstance(value, int | float):
            if any(n in ("epoch_millis", "epoch_second") for n in self.names):
                return int(value) if "epoch_millis" in self.names else int(value * 1000)
            value = str(value)
        if not isinstance(value, str):
            raise DateParseError(str(value))
        for parser in self.parsers:
            try:
                return parser(value)
            except (DateParseError, ValueError):
                continue
        raise DateParseError(value)

    def format(self, millis: int, tz: str | None = None) -> str:
        name = self.names[0]
        dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
        zone = parse_time_zone(tz) if tz else UTC
        dt = dt.astimezone(zone)
        if name == "epoch_millis":
            return str(millis)
        if name == "epoch_second":
            return str(millis // 1000)
        if name in ("strict_date", "date"):
            return dt.strftime("%Y-%m-%d")
        if name in _NAMED:
            ms = f"{dt.microsecond // 1000:03d}"
            offset = dt.utcoffset() or timedelta(0)
            suffix = "Z" if offset == timedelta(0) else dt.strftime("%z")[:3] + ":" + dt.strftime("%z")[3:]
            return dt.strftime("%Y-%m-%dT%H:%M:%S.") + ms + suffix
        _, strf = _compile_pattern(name)
        return dt.strftime(strf.replace("{ms}", f"{dt.microsecond // 1000:03d}")).replace(
            "Z", "Z" if not dt.utcoffset() else dt.strftime("%z"))


def parse_time_zone(tz: str) -> timezone | ZoneInfo:
    if tz in ("UTC", "Z", "utc", "GMT"):
        return UTC
    if re.fullmatch(r"[+-]\d{2}:?\d{2}", tz):
        return timezone(_tz_offset(tz))
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone [{tz}]") from exc


# --- date math ---------------------------------------------------------------------------------

_MATH_RE = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")


def _add(dt: datetime, sign: int, n: int, unit: str) -> datetime:
    if unit == "y":
        return _add_months(dt, sign * n * 12)
    if unit == "M":
        return _add_months(dt, sign * n)
    seconds = {"w": 604_800, "d": 86_400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return dt + timedelta(seconds=sign * n * seconds)


def _add_months(dt: datetime, months: int) -> datetime:
    total = dt.year * 12 + (dt.month - 1) + months
    year, month = divmod(total, 12)
    day = min(dt.day, calendar.monthrange(year, month + 1)[1])
    return dt.replace(year=year, month=month + 1, day=day)


def round_down(dt: datetime, unit: str) -> datetime:
    if unit == "y":
        return dt.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        d = dt.replace(hour=0, minute=0, second=0, microsecond=0)
        return d - timedelta(days=d.weekday())
    if unit == "d":
        return dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in ("h", "H"):
        return dt.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return dt.replace(second=0, microsecond=0)
    return dt.replace(microsecond=0)


def _round_up(dt: datetime, unit: str) -> datetime:
    start = round_down(dt, unit)
    nxt = _add(start, 1, 1, unit)
    return nxt - timedelta(milliseconds=1)


def resolve_date(
    value: object,
    fmt: DateFormat,
    *,
    round_up: bool = False,
    now: datetime | None = None,
    time_zone: str | None = None,
) -> int:
    """A range bound to epoch millis: a date in `fmt`, `now…` or `<date>||…` date math, with rounding
    as ES does (`gt`/`lte` round up, `gte`/`lt` round down)."""
    zone = parse_time_zone(time_zone) if time_zone else UTC
    if isinstance(value, str) and (value.startswith("now") or "||" in value):
        if value.startswith("now"):
            anchor = (now or datetime.now(UTC)).astimezone(zone)
            expr = value[3:]
        else:
            base, _, expr = value.partition("||")
            anchor = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=fmt.parse(base))).astimezone(zone)
        pos = 0
        for m in _MATH_RE.finditer(expr):
            if m.start() != pos:
                raise DateParseError(value)
            pos = m.end()
            if m.group(4):
                anchor = _round_up(anchor, m.group(4)) if round_up else round_down(anchor, m.group(4))
            else:
                anchor = _add(anchor, 1 if m.group(1) == "+" else -1, int(m.group(2)), m.group(3))
        if pos != len(expr):
            raise DateParseError(value)
        return _to_millis(anchor)
    if isinstance(value, str) and time_zone and _ISO_RE.match(value) and not _ISO_RE.match(value).group("tz"):  # type: ignore[union-attr]
        naive = datetime(1970, 1, 1) + timedelta(milliseconds=fmt.parse(value))
        millis = _to_millis(naive.replace(tzinfo=zone))
    else:
        millis = fmt.parse(value)
    if round_up and isinstance(value, str):
        # Missing date components round up for gt/lte ("2022-01-15" means up to 23:59:59.999).
        m = _ISO_RE.match(value)
        if m:
            unit = next((u for g, u in (("mo", "y"), ("d", "M"), ("h", "d"), ("mi", "h"), ("s", "m"), ("f", "s"))
                         if not m.group(g)), None)
            if unit is not None:
                offset = _tz_offset(m.group("tz")) if m.group("tz") else None
                local = timezone(offset) if offset is not None else zone
                millis = _to_millis(_round_up(millis_to_datetime(millis, local), unit))
    return millis


def millis_to_datetime(millis: int, zone: timezone | ZoneInfo = UTC) -> datetime:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)).astimezone(zone)


def datetime_to_millis(dt: datetime) -> int:
    return _to_millis(dt)
