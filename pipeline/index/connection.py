"""Connecting to Elasticsearch: URL, credentials, TLS, timeouts — and clear errors.

Configuration comes from arguments or the environment (secrets only ever from there):

- `ES_URL` (or `--es-url`): `http(s)://host:9200`; `user:pass@` in the URL works too.
- `ES_USERNAME` / `ES_PASSWORD` (basic auth) or `ES_API_KEY` (an encoded API key, or `id:key`).
- `ES_CA_CERTS`: a CA bundle file for TLS (self-signed cluster certificates).
- `ES_TIMEOUT` (seconds per request, default 30), `ES_MAX_RETRIES` (transport retries on
  connection errors and 429/502/503/504, default 3).
- `ES_COMPAT_VERSION`: the REST API compatibility version the client asks for
  (`compatible-with=N` in Accept and Content-Type). The `elasticsearch` 9 client always sends
  9, which an Elasticsearch 8 cluster refuses; `8` pins it for such a cluster. Default: the
  client's own major version. Applied at the transport layer, below the client, for every
  request (the client rewrites any header a caller sets).

Nothing here logs or raises a password, an API key or a URL's `user:pass@` part.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from elastic_transport import HttpHeaders, TlsError, Urllib3HttpNode
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    TransportError,
    UnsupportedProductError,
    __versionstr__,
)

log = logging.getLogger(__name__)

READ_ALIAS = "news-articles"
WRITE_ALIAS = "news-articles-write"
INDEX_PREFIX = "news-articles-v"
TEMPLATE_NAME = "news-articles"

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
CLIENT_MAJOR = int(__versionstr__.split(".")[0])
COMPAT_VERSIONS = (7, 8, 9)
_COMPAT_PARAM = re.compile(r"compatible-with=\d+")


class EsConnectionError(RuntimeError):
    """Elasticsearch cannot be used: not configured, unreachable, or credentials refused.
    The message is one line, names the (redacted) URL and never holds a secret."""


@dataclass(frozen=True)
class EsConfig:
    url: str
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    ca_certs: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    compat_version: int = CLIENT_MAJOR

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    def __repr__(self) -> str:  # never show secrets, even in a traceback's locals
        auth = "api_key" if self.api_key else ("basic" if self.username else "none")
        return f"EsConfig(url={self.safe_url!r}, auth={auth}, ca_certs={self.ca_certs!r})"

    @classmethod
    def from_env(cls, es_url: str | None = None, environ: Mapping[str, str] | None = None) -> EsConfig:
        env = os.environ if environ is None else environ
        url = (es_url or env.get("ES_URL") or "").strip()
        if not url:
            raise EsConnectionError("no Elasticsearch configured: set ES_URL or pass --es-url")
        try:
            parts = urlsplit(url if "://" in url else f"http://{url}")
            _ = parts.port  # a bad port raises here, not in the client (whose message quotes the URL)
        except ValueError as exc:
            raise EsConnectionError(f"ES_URL {redact_url(url)!r} cannot be parsed ({_one_line(exc)})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EsConnectionError(f"ES_URL {redact_url(url)!r} is not an http(s) URL")
        try:
            timeout = float(env.get("ES_TIMEOUT") or DEFAULT_TIMEOUT)
            retries = int(env.get("ES_MAX_RETRIES") or DEFAULT_MAX_RETRIES)
        except ValueError as exc:
            raise EsConnectionError(f"ES_TIMEOUT / ES_MAX_RETRIES: not a number ({exc})") from None
        compat = (env.get("ES_COMPAT_VERSION") or str(CLIENT_MAJOR)).strip()
        if compat not in {str(v) for v in COMPAT_VERSIONS}:
            raise EsConnectionError(f"ES_COMPAT_VERSION {compat!r}: must be one of "
                                    f"{', '.join(map(str, COMPAT_VERSIONS))} (the cluster's major version)")
        ca = env.get("ES_CA_CERTS") or None
        if ca and not Path(ca).is_file():
            raise EsConnectionError(f"ES_CA_CERTS: {ca}: no such file")
        return cls(url=urlunsplit(parts), username=env.get("ES_USERNAME") or None,
                   password=env.get("ES_PASSWORD") or None, api_key=env.get("ES_API_KEY") or None,
                   ca_certs=ca, timeout=timeout, max_retries=retries, compat_version=int(compat))


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact_url(url: str) -> str:
    """`https://elastic:secret@host:9200` -> `https://***@host:9200` (for messages and logs)."""
    return _USERINFO.sub("***@", url)


def compat_node_class(version: int) -> type[Urllib3HttpNode]:
    """The HTTP node class that asks for REST compatibility `version` on every request."""

    class CompatNode(Urllib3HttpNode):
        def perform_request(self, method: str, target: str, body: bytes | None = None,
                            headers: HttpHeaders | None = None, **kwargs: object):  # type: ignore[override]
            if headers is not None:
                headers = headers.copy()
                for name in ("accept", "content-type"):
                    if name in headers:
                        headers[name] = _COMPAT_PARAM.sub(f"compatible-with={version}", headers[name])
            return super().perform_request(method, target, body=body, headers=headers, **kwargs)

    CompatNode.__name__ = f"CompatNode{version}"
    return CompatNode


def client_from_config(cfg: EsConfig) -> Elasticsearch:
    kwargs: dict[str, object] = {
        "request_timeout": cfg.timeout,
        "max_retries": cfg.max_retries,
        "retry_on_timeout": True,
    }
    if cfg.compat_version != CLIENT_MAJOR:
        kwargs["node_class"] = compat_node_class(cfg.compat_version)
    if cfg.api_key:
        key = cfg.api_key
        kwargs["api_key"] = tuple(key.split(":", 1)) if ":" in key else key
    elif cfg.username:
        kwargs["basic_auth"] = (cfg.username, cfg.password or "")
    if cfg.ca_certs:
        kwargs["ca_certs"] = cfg.ca_certs
    try:
        return Elasticsearch(cfg.url, **kwargs)  # type: ignore[arg-type]
    except ValueError as exc:  # the client's message quotes the URL, password included
        raise EsConnectionError(f"ES_URL {cfg.safe_url!r}: {_one_line(exc)}") from None


def connect(es_url: str | None = None, *, check: bool = True,
            environ: Mapping[str, str] | None = None) -> Elasticsearch:
    """A client for ES_URL (or `es_url`). With `check`, one `GET /` proves the cluster answers
    and accepts the credentials; otherwise `EsConnectionError` says what is wrong."""
    cfg = EsConfig.from_env(es_url, environ)
    es = client_from_config(cfg)
    if check:
        info = check_connection(es, cfg.safe_url)
        version = info.get("version", {})
        log.info("connected to %s %s at %s", "OpenSearch" if version.get("distribution") == "opensearch"
                 else "Elasticsearch", version.get("number", "?"), cfg.safe_url)
    return es


def check_connection(es: Elasticsearch, safe_url: str) -> dict:
    try:
        return dict(es.options(max_retries=0).info())
    except AuthenticationException:
        raise EsConnectionError(f"Elasticsearch at {safe_url} refused the credentials (401): "
                                "check ES_USERNAME/ES_PASSWORD or ES_API_KEY") from None
    except AuthorizationException:
        raise EsConnectionError(f"Elasticsearch at {safe_url}: the user lacks privileges (403) "
                                "for this request") from None
    except UnsupportedProductError:
        raise EsConnectionError(f"{safe_url} does not answer as Elasticsearch (product check failed)") from None
    except ApiError as exc:
        hint = ""
        if "media_type_header_exception" in describe_error(exc):
            hint = (f" (the client asks for REST compatibility {es_compat_version(es)}: set ES_COMPAT_VERSION "
                    "to the cluster's major version)")
        raise EsConnectionError(f"Elasticsearch at {safe_url} answered {exc.status_code}: "
                                f"{describe_error(exc)}{hint}") from None
    except TlsError as exc:
        raise EsConnectionError(f"Elasticsearch at {safe_url} is unreachable: {transport_reason(exc)} "
                                "(set ES_CA_CERTS to the cluster's CA file)") from None
    except TransportError as exc:
        raise EsConnectionError(f"Elasticsearch at {safe_url} is unreachable: {transport_reason(exc)}") from None


def es_compat_version(es: Elasticsearch) -> int:
    """The REST compatibility version a client made here sends."""
    node = next(iter(es.transport.node_pool.all()), None)
    name = type(node).__name__ if node is not None else ""
    return int(name.removeprefix("CompatNode")) if name.startswith("CompatNode") else CLIENT_MAJOR


def describe_error(exc: ApiError) -> str:
    """`type: reason` of an Elasticsearch error response, one line."""
    body = exc.body if isinstance(exc.body, dict) else {}
    err = body.get("error")
    if isinstance(err, dict):
        return f"{err.get('type', 'error')}: {err.get('reason', '')}".strip()
    return _one_line(exc.message if isinstance(exc.message, str) else str(exc))


def transport_reason(exc: TransportError) -> str:
    """`ConnectionError: … Connection refused` — the transport's detail, one line, no secret."""
    detail = exc.message if isinstance(exc.message, str) and exc.message else str(exc)
    return f"{type(exc).__name__}: {_one_line(detail)}"


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split())
    text = redact_url(text)
    return text[:300]
