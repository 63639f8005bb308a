"""URL normalisation and the stable document id.

`normalize_url` is what makes two spellings of one article the same article: the feed link
with `?utm_source=rss`, the page's `<link rel=canonical>` and a share link with `#comments`
all give one URL, hence one `document_id` (the Elasticsearch `_id`).

Built on w3lib's `canonicalize_url` (percent-encoding normalised, query arguments sorted,
fragment dropped); on top of it: scheme and host lower-cased, default port and empty
user-info dropped, tracking parameters removed, relative links resolved against a base.
The tracking list is explicit (courlan's tracker regex also drops `ref`, `source`, `ga*`,
`gl*`… prefixes, which would merge distinct pages of some sites).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

__all__ = ["TRACKING_PARAMS", "UrlError", "document_id", "is_tracking_param", "normalize_url"]

# Exact names (compared lower-cased).
TRACKING_PARAMS: frozenset[str] = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "twclid", "yclid",
    "ysclid", "igshid", "igsh", "mc_cid", "mc_eid", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi",
    "_openstat", "oly_anon_id", "oly_enc_id", "vero_conv", "vero_id", "xtor", "at_medium",
    "at_campaign", "at_platform", "wt_mc", "wt.mc_id", "ref_src", "ref_url", "s_cid",
    "cmpid", "ncid",
})
# Prefixes (compared lower-cased): utm_source, utm_medium, pk_campaign, mtm_kwd, …
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hsa_", "matomo_", "piwik_", "at_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class UrlError(ValueError):
    """The string is not an absolute http(s) URL (after resolution against the base)."""


def is_tracking_param(name: str) -> bool:
    lname = name.lower()
    return lname in TRACKING_PARAMS or lname.startswith(TRACKING_PREFIXES)


def normalize_url(url: str, base: str | None = None) -> str:
    """The canonical spelling of `url` (resolved against `base` when relative).

    Raises `UrlError` for an empty string or a result that is not an absolute http(s) URL.
    """
    raw = (url or "").strip()
    if not raw:
        raise UrlError("empty URL")
    if raw.startswith("//"):  # scheme-relative: take the base's scheme, else https
        scheme = urlsplit(base).scheme if base else "https"
        raw = f"{scheme or 'https'}:{raw}"
    elif base and not _SCHEME_RE.match(raw):
        raw = urljoin(base.strip(), raw)
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UrlError(f"not an absolute http(s) URL: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    try:
        port = parts.port
    except ValueError as exc:
        raise UrlError(f"bad port in URL: {url!r}") from exc
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username:
        userinfo = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{userinfo}@{netloc}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not is_tracking_param(k)])
    rebuilt = urlunsplit((scheme, netloc, parts.path or "/", query, ""))
    return canonicalize_url(rebuilt, keep_fragments=False)


def document_id(url: str) -> str:
    """The stable article id: first 32 hex chars of sha256 of `normalize_url(url)`."""
    return hashlib.sha256(normalize_url(url).encode("utf-8")).hexdigest()[:32]
