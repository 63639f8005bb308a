"""Which URLs may be fetched: allowed domains and public addresses only.

Checked before every request, including every redirect hop (pipeline/acquire/http.py):
- the host must belong to the source's `allowed_domains` (article pages; feeds and robots.txt
  are configured or derived URLs, so only the address check applies to them);
- every address the host resolves to must be public: private, loopback, link-local
  (169.254.169.254, the cloud metadata service), shared, reserved, multicast and unspecified
  ranges are refused unless `allow_private_addresses` is set. IP literals are checked without
  any lookup, so `http://10.0.0.1/` is refused with no network traffic at all.

The same check runs again at connect time (`GuardedBackend`, the socket layer under httpx):
the name is resolved once there, every address checked, and the connection made to a checked
address, so a DNS answer that changes between the URL check and the connection (DNS
rebinding) cannot reach a private address either. TLS still verifies the certificate against
the host name (httpcore passes it as SNI).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

from pipeline.acquire.errors import FetchError, RetryableError

Resolver = Callable[[str], list[str]]


def system_resolver(host: str) -> list[str]:
    """Every address `host` resolves to (getaddrinfo)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def check_address(host: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> list[str]:
    """The addresses of `host`, all public; FetchError("private_address") when one is not.

    With `allow_private`, nothing is checked or resolved and `[host]` is returned.
    """
    if allow_private:
        return [host]
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = resolver(host)
        except socket.gaierror as exc:
            if exc.errno == socket.EAI_AGAIN:  # "try again": a resolver hiccup, worth a retry
                raise RetryableError("dns_error", f"cannot resolve {host} (temporary): {exc}") from exc
            raise FetchError("dns_error", f"cannot resolve {host}: {exc}") from exc
        except (OSError, UnicodeError) as exc:
            raise FetchError("dns_error", f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise FetchError("dns_error", f"{host} resolves to no address")
    bad = [a for a in addresses if not is_public_address(a)]
    if bad:
        raise FetchError("private_address", f"{host} is or resolves to a non-public address "
                         f"({', '.join(bad)}); set allow_private_addresses to allow it")
    return addresses


def check_url(url: str, *, allow_private: bool, host_allowed: Callable[[str], bool] | None = None,
              resolver: Resolver = system_resolver) -> None:
    """Refuse (FetchError) a URL that is not http(s), off the allowed domains, or non-public."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        raise FetchError("bad_url", f"not a fetchable URL: {url!r}: {exc}") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError("bad_url", f"not an absolute http(s) URL: {url!r}")
    if host_allowed is not None and not host_allowed(host):
        raise FetchError("not_allowed_domain", f"{url}: host {host} is not among the source's allowed domains")
    check_address(host, allow_private=allow_private, resolver=resolver)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore network backend that connects only to checked addresses (see module doc)."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self.resolver = resolver

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addresses = check_address(host, allow_private=self.allow_private, resolver=self.resolver)
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                           socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last
