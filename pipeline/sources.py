"""The sources configuration (`config/sources.yaml`): what to read, and how politely.

Loaded with PyYAML, validated with pydantic (unknown keys rejected). Any problem raises a
`SourcesError` whose message names the file, the source and the key, e.g.
`config/sources.yaml: sources[1] (srf) → feeds[0]: not an absolute http(s) URL: 'srf.ch/rss'`.
See docs/acquisition.md for every key and how to add a source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "Politeness",
    "RetryPolicy",
    "SourceConfig",
    "SourcesConfig",
    "SourcesError",
    "Timeouts",
    "load_sources",
    "parse_sources",
]

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_LANG_RE = re.compile(r"^[a-z]{2}$")


class SourcesError(ValueError):
    """The sources file cannot be used. `str()` is one line; `.errors` lists every problem."""

    def __init__(self, message: str, errors: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors or [message])


def _http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {value!r}")
    return value.strip()


def _host(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if not _HOST_RE.match(host):
        raise ValueError(f"{value!r} is not a host name (no scheme, path or port)")
    return host


HttpUrlStr = Annotated[str, AfterValidator(_http_url)]
HostStr = Annotated[str, AfterValidator(_host)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    """Seconds. `read` is between two bytes, `total` caps one whole response (all hops)."""

    connect: float = Field(10.0, gt=0)
    read: float = Field(20.0, gt=0)
    total: float = Field(60.0, gt=0)


class RetryPolicy(_Strict):
    """Retries of timeouts, connection errors, 429 and 5xx (tenacity; exponential + jitter)."""

    attempts: int = Field(3, ge=1, le=10)
    backoff_base_seconds: float = Field(1.0, ge=0)
    backoff_max_seconds: float = Field(30.0, ge=0)
    retry_after_max_seconds: float = Field(120.0, ge=0)  # longer Retry-After: give up until next run


class QuarantinePolicy(_Strict):
    """A feed that fails the same way `after_failures` runs in a row is not asked for again until
    its next retry time: `retry_hours` later, doubled at each further identical failure, at most
    `max_retry_hours` (pipeline/acquire/health.py)."""

    after_failures: int = Field(3, ge=1, le=100)
    retry_hours: float = Field(6.0, gt=0)
    max_retry_hours: float = Field(48.0, gt=0)


class Politeness(_Strict):
    requests_per_second: float = Field(1.0, gt=0, le=50)  # per host
    concurrency: int = Field(1, ge=1, le=16)  # requests in flight per host: one unless the source says otherwise


class SourceConfig(_Strict):
    id: str
    name: str
    site_profile: str = "generic"
    language: str
    feeds: list[HttpUrlStr] = Field(default_factory=list)
    allowed_domains: list[HostStr] = Field(min_length=1)
    allow_subdomains: bool = True
    sitemaps: list[HttpUrlStr] = Field(default_factory=list)
    politeness: Politeness = Field(default_factory=Politeness)
    enabled: bool = True
    expected_gap_hours: float = Field(6.0, gt=0)

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError(f"{v!r} is not a source id (lower-case letters, digits, '-' and '_')")
        return v

    @field_validator("language")
    @classmethod
    def _check_language(cls, v: str) -> str:
        if not _LANG_RE.match(v):
            raise ValueError(f"{v!r} is not an ISO 639-1 code such as 'fr'")
        return v

    def host_allowed(self, host: str | None) -> bool:
        """Is `host` one of allowed_domains (or a subdomain of one, when allowed)?"""
        if not host:
            return False
        h = host.lower().rstrip(".")
        return any(h == d or (self.allow_subdomains and h.endswith("." + d)) for d in self.allowed_domains)


class SourcesConfig(_Strict):
    user_agent: str = "newsflow/0.1"
    contact_url: HttpUrlStr
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_feed_bytes: int = Field(5 * 2**20, gt=0)  # bytes on the wire
    max_page_bytes: int = Field(5 * 2**20, gt=0)  # bytes on the wire
    max_decompressed_bytes: int = Field(20 * 2**20, gt=0)  # decoded body (gzip bombs)
    max_redirects: int = Field(5, ge=0, le=20)
    allow_private_addresses: bool = False  # tests on 127.0.0.1 set it; never in production
    page_content_types: list[str] = Field(default_factory=lambda: ["text/html", "application/xhtml+xml"])
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    quarantine: QuarantinePolicy = Field(default_factory=QuarantinePolicy)
    sources: list[SourceConfig] = Field(default_factory=list)

    @field_validator("user_agent")
    @classmethod
    def _check_ua(cls, v: str) -> str:
        if not v.strip() or any(c in v for c in "\r\n"):
            raise ValueError("must be a non-empty single line")
        return v.strip()

    @model_validator(mode="after")
    def _unique_ids(self) -> SourcesConfig:
        seen: set[str] = set()
        for i, s in enumerate(self.sources):
            if s.id in seen:
                raise ValueError(f"sources[{i}]: duplicate source id {s.id!r}")
            seen.add(s.id)
        return self

    @property
    def full_user_agent(self) -> str:
        """`newsflow/0.1 (+https://contact)`: what every request sends."""
        return f"{self.user_agent} (+{self.contact_url})"

    def get(self, source_id: str) -> SourceConfig:
        for s in self.sources:
            if s.id == source_id:
                return s
        known = ", ".join(s.id for s in self.sources) or "none"
        raise KeyError(f"unknown source {source_id!r} (configured: {known})")

    def enabled(self) -> list[SourceConfig]:
        return [s for s in self.sources if s.enabled]

    def select(self, source_ids: Sequence[str] | None = None) -> list[SourceConfig]:
        """The named sources (enabled or not), or every enabled source when none is named."""
        if not source_ids:
            return self.enabled()
        return [self.get(i) for i in source_ids]


def _format_loc(loc: Sequence[Any], data: Any) -> str:
    parts: list[str] = []
    node = data
    for i, key in enumerate(loc):
        if isinstance(key, int):
            label = f"[{key}]"
            if parts:
                parts[-1] += label
            else:
                parts.append(label)
            item = node[key] if isinstance(node, list) and key < len(node) else None
            if i == 1 and loc[0] == "sources" and isinstance(item, dict) and item.get("id"):
                parts[-1] += f" ({item['id']})"
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return " → ".join(parts)


def parse_sources(data: Any, *, origin: str = "<sources>") -> SourcesConfig:
    """Validate already-loaded YAML data; errors are prefixed with `origin`."""
    if not isinstance(data, dict):
        raise SourcesError(f"{origin}: the top level must be a mapping with a 'sources' list")
    try:
        return SourcesConfig.model_validate(data)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            loc = _format_loc(err["loc"], data)
            messages.append(f"{origin}: {loc}: {msg}" if loc else f"{origin}: {msg}")
        first = messages[0] + (f" (and {len(messages) - 1} more)" if len(messages) > 1 else "")
        raise SourcesError(first, messages) from None


def load_sources(path: str | Path) -> SourcesConfig:
    """Read and validate a sources file. Raises SourcesError naming file, source and key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SourcesError(f"{p}: not UTF-8 text: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SourcesError(f"{p}{where}: not valid YAML: {problem}") from None
    return parse_sources(data, origin=str(p))
