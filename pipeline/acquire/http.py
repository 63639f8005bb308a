"""The polite HTTP client every acquisition request goes through (httpx + tenacity).

One `PoliteClient.get()` call = one logical fetch:
- identifying User-Agent with the contact URL from the sources file, gzip/deflate accepted;
- redirects followed one hop at a time (at most `max_redirects`), every hop re-checked by
  `pipeline.acquire.safety.check_url` (allowed domains when given, public addresses) before
  any connection is made;
- bodies streamed and capped: bytes on the wire (`max_bytes`) and decoded bytes
  (`max_decompressed_bytes`, against gzip bombs), plus a total time budget per response;
- retries (tenacity): timeouts, connection errors, 429 and 5xx, with exponential backoff and
  jitter, or after the server's `Retry-After`; one longer than `retry_after_max_seconds` is
  not waited for in the run (the fetch fails, the next run retries; the host is held for
  that maximum meanwhile); 404/410 are "gone" at once, other 4xx fail at once;
- per-host rate limit and concurrency (pipeline/acquire/ratelimit.py) around every request.

It never raises for HTTP or network trouble: the `HttpResult` carries the error, and
`captures` holds every response received (redirect hops and failed attempts included), ready
for `Archive.write_captures`.

Redirects are followed by hand (a dozen lines) rather than with httpx's follow_redirects
because the allowed domains change per source and every hop must be archived.
"""

from __future__ import annotations

import email.utils
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from pipeline.acquire.errors import FetchError, RetryableError
from pipeline.acquire.ratelimit import HostLimiter
from pipeline.acquire.safety import GuardedBackend, Resolver, check_url, system_resolver
from pipeline.models import Capture, CaptureKind
from pipeline.sources import Politeness, RetryPolicy, SourcesConfig

log = logging.getLogger(__name__)

_REDIRECTS = {301, 302, 303, 307, 308}
_REDIRECT_BODY_MAX = 64 * 1024


@dataclass
class HttpResult:
    url: str
    status: int | None = None
    final_url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    captures: list[Capture] = field(default_factory=list)
    error: FetchError | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _retry_worth_it(policy: RetryPolicy) -> Callable[[BaseException], bool]:
    """Retry transient failures, but not before the server's Retry-After: when it asks for
    longer than `retry_after_max_seconds`, give up now (the next run retries the page)."""
    def check(exc: BaseException) -> bool:
        if not isinstance(exc, RetryableError):
            return False
        return exc.retry_after is None or exc.retry_after <= policy.retry_after_max_seconds

    return check


class _WaitRetryAfter(wait_base):
    """`Retry-After` when the server sent one (capped), else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = wait_exponential_jitter(multiplier=policy.backoff_base_seconds,
                                               max=policy.backoff_max_seconds,
                                               jitter=policy.backoff_base_seconds)

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, FetchError) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.retry_after_max_seconds)
        return float(self.backoff(retry_state))


_RAW_CHUNK = 16 * 1024  # compressed bytes per step: ≤ ~17 MB decoded before the bound applies


class _Inflater:
    """gzip / deflate decoding whose output per call is bounded (zlib `max_length`).

    httpx's decoders inflate a whole network chunk at once: 64 KiB of a gzip bomb becomes
    64 MB before any cap can look at it (measured: 140 MB peak for a 20 MiB cap). Here each
    call returns at most `room + 1` bytes and leaves the rest of the input unread.
    """

    def __init__(self, wbits: int, *, raw_fallback: bool) -> None:
        self._d = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # "deflate" sent as a raw stream (no zlib header)
        self._started = False

    @classmethod
    def for_encoding(cls, encoding: str | None) -> _Inflater | None:
        enc = (encoding or "").strip().lower()
        if enc in ("gzip", "x-gzip"):
            return cls(zlib.MAX_WBITS | 16, raw_fallback=False)
        if enc == "deflate":
            return cls(zlib.MAX_WBITS, raw_fallback=True)
        if enc in ("", "identity"):
            return _Identity()
        return None

    def feed(self, data: bytes, room: int) -> bytes:
        limit = max(room, 0) + 1  # one byte over the room is enough to know the cap is passed
        if not self._started and self._raw_fallback:
            try:
                out = self._d.decompress(data, limit)
            except zlib.error:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._d.decompress(data, limit)
        else:
            out = self._d.decompress(data, limit)
        self._started = True
        while self._d.unconsumed_tail and len(out) < limit:
            out += self._d.decompress(self._d.unconsumed_tail, limit - len(out))
        return out

    def flush(self) -> bytes:
        return self._d.flush() if not self._d.unconsumed_tail else b""


class _Identity(_Inflater):
    def __init__(self) -> None:
        pass

    def feed(self, data: bytes, room: int) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class PoliteClient:
    """Thread-safe; share one per process (it holds the per-host limiter and robots cache)."""

    def __init__(self, config: SourcesConfig, *, transport: httpx.BaseTransport | None = None,
                 resolver: Resolver = system_resolver, limiter: HostLimiter | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.resolver = resolver
        self.limiter = limiter or HostLimiter()
        self.sleep = sleep
        self.sleeps: list[float] = []  # every retry wait, for logs and tests
        t = config.timeouts
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        if transport is None:
            transport = httpx.HTTPTransport(limits=limits)
            # connect only to checked addresses (closes the DNS-rebinding window): httpcore's
            # `network_backend` option, which httpx's transport does not pass through
            transport._pool._network_backend = GuardedBackend(
                allow_private=config.allow_private_addresses, resolver=resolver)
        self._client = httpx.Client(
            headers={"User-Agent": config.full_user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.total),
            follow_redirects=False,
            transport=transport,
            limits=limits,
        )
        from pipeline.acquire.robots import RobotsCache  # circular: robots fetches through us

        self.robots = RobotsCache(self)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.sleep(seconds)

    # ------------------------------------------------------------------ public
    def get(self, url: str, *, kind: CaptureKind, source: str, politeness: Politeness | None = None,
            host_allowed: Callable[[str], bool] | None = None, max_bytes: int | None = None,
            headers: dict[str, str] | None = None, check: Callable[[httpx.Response], None] | None = None,
            meta: dict[str, str] | None = None, retry: RetryPolicy | None = None,
            gate: Callable[[str], None] | None = None) -> HttpResult:
        """Fetch `url` politely; see the module docstring. Never raises FetchError.

        `gate(url)` runs before every hop once the safety checks passed (robots.txt for pages);
        a FetchError it raises ends the fetch.
        """
        result = HttpResult(url=url)
        policy = retry or self.config.retry
        retrying = Retrying(stop=stop_after_attempt(policy.attempts), wait=_WaitRetryAfter(policy),
                            retry=retry_if_exception(_retry_worth_it(policy)), sleep=self._sleep,
                            reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    result.attempts += 1
                    self._attempt(result, kind=kind, source=source, politeness=politeness or Politeness(),
                                  host_allowed=host_allowed,
                                  max_bytes=max_bytes or self.config.max_page_bytes,
                                  headers=headers or {}, check=check, meta=meta or {}, gate=gate)
        except FetchError as exc:
            result.error = exc
            log.debug("%s: %s (%s) after %d attempt(s)", url, exc.reason, exc, result.attempts)
        return result

    # ------------------------------------------------------------------ one attempt
    def _attempt(self, result: HttpResult, *, kind: CaptureKind, source: str, politeness: Politeness,
                 host_allowed: Callable[[str], bool] | None, max_bytes: int, headers: dict[str, str],
                 check: Callable[[httpx.Response], None] | None, meta: dict[str, str],
                 gate: Callable[[str], None] | None) -> None:
        current = result.url
        hops = 0
        deadline = time.monotonic() + self.config.timeouts.total
        while True:
            try:
                check_url(current, allow_private=self.config.allow_private_addresses,
                          host_allowed=host_allowed, resolver=self.resolver)
            except FetchError as exc:
                if hops and exc.reason == "not_allowed_domain":  # named apart: the link itself was fine
                    raise FetchError("redirect_off_domain", f"{result.url}: redirected off the allowed "
                                     f"domains to {current}") from exc
                raise
            if gate is not None:
                gate(current)
            host = urlsplit(current).hostname or ""
            try:
                request = self._client.build_request("GET", current, headers=headers)
            except httpx.InvalidURL as exc:
                raise FetchError("bad_url", f"not a fetchable URL: {current!r}: {exc}") from exc
            with self.limiter.slot(host, politeness):
                fetched_at = datetime.now(UTC)
                try:
                    response = self._client.send(request, stream=True)
                except httpx.TimeoutException as exc:
                    raise RetryableError("timeout", f"{current}: timed out ({type(exc).__name__})") from exc
                except httpx.TransportError as exc:
                    raise RetryableError("connect_error", f"{current}: {type(exc).__name__}: {exc}") from exc
                try:
                    capture_meta = dict(meta)
                    if response.status_code in _REDIRECTS and response.headers.get("location"):
                        body = self._read(response, _REDIRECT_BODY_MAX, deadline, current, truncate=True)
                        location = response.headers["location"]
                        capture_meta["redirect_to"] = location
                        result.captures.append(self._capture(request, response, body, kind, source,
                                                             fetched_at, current, None, capture_meta))
                        try:
                            target = urljoin(current, location)
                        except ValueError as exc:
                            raise FetchError("bad_url", f"{current}: bad redirect Location {location!r}") from exc
                        hops += 1
                        if hops > self.config.max_redirects:
                            raise FetchError("too_many_redirects",
                                             f"{result.url}: more than {self.config.max_redirects} redirects")
                        current = target
                        continue
                    final = current if current != result.url else None
                    if 200 <= response.status_code < 300 and check is not None:
                        try:
                            check(response)
                        except FetchError as exc:
                            capture_meta["refused"] = exc.reason
                            result.captures.append(self._capture(request, response, b"", kind, source,
                                                                 fetched_at, result.url, final, capture_meta))
                            raise
                    try:
                        body = self._read(response, max_bytes, deadline, current)
                    except FetchError as exc:
                        if exc.reason == "too_large":
                            capture_meta["refused"] = exc.reason
                            result.captures.append(self._capture(request, response, b"", kind, source,
                                                                 fetched_at, result.url, final, capture_meta))
                        raise
                finally:
                    response.close()
            result.captures.append(self._capture(request, response, body, kind, source, fetched_at,
                                                 result.url, final, capture_meta))
            result.status = response.status_code
            result.final_url = current
            result.headers = tuple(response.headers.multi_items())
            result.body = body
            self._raise_for_status(response, current)
            return

    def _raise_for_status(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:  # the whole host asked for a pause, not only this URL
                self.limiter.defer(urlsplit(url).hostname or "",
                                   min(retry_after, self.config.retry.retry_after_max_seconds))
            raise RetryableError(f"http_{status}", f"{url}: HTTP {status}", status=status,
                                 retry_after=retry_after)
        if status in (404, 410):
            raise FetchError("gone", f"{url}: HTTP {status}", status=status)
        raise FetchError(f"http_{status}", f"{url}: HTTP {status}", status=status)

    def _read(self, response: httpx.Response, max_bytes: int, deadline: float, url: str, *,
              truncate: bool = False) -> bytes:
        """The decoded body, refusing more than `max_bytes` on the wire or too much once decoded."""
        length = response.headers.get("content-length", "")
        if not truncate and length.isdigit() and int(length) > max_bytes:
            raise FetchError("too_large", f"{url}: Content-Length {length} over the cap of {max_bytes} bytes")
        max_decoded = self.config.max_decompressed_bytes
        inflate = _Inflater.for_encoding(response.headers.get("content-encoding"))
        if response.is_stream_consumed:  # already read in memory (a mock transport): httpx decoded it
            inflate = None
        # gzip/deflate are undone here with zlib's output bound, so a bomb costs at most the cap
        # in memory; other encodings (a server ignoring our Accept-Encoding) go through httpx.
        chunks_in = response.iter_raw(_RAW_CHUNK) if inflate is not None else response.iter_bytes()
        chunks: list[bytes] = []
        total = 0
        try:
            for raw in chunks_in:
                chunk = inflate.feed(raw, max_decoded - total) if inflate is not None else raw
                chunks.append(chunk)
                total += len(chunk)
                if response.num_bytes_downloaded > max_bytes or total > max_decoded:
                    if truncate:
                        break
                    what = "decoded" if total > max_decoded else "on the wire"
                    cap = max_decoded if total > max_decoded else max_bytes
                    raise FetchError("too_large", f"{url}: body over the cap of {cap} bytes {what}")
                if time.monotonic() > deadline:
                    raise RetryableError("timeout", f"{url}: response took longer than "
                                         f"{self.config.timeouts.total:g} s")
            if inflate is not None and total <= max_decoded:
                tail = inflate.flush()
                total += len(tail)
                chunks.append(tail)
                if total > max_decoded and not truncate:
                    raise FetchError("too_large", f"{url}: body over the cap of {max_decoded} bytes decoded")
        except httpx.TimeoutException as exc:
            raise RetryableError("timeout", f"{url}: timed out while reading the body") from exc
        except (httpx.DecodingError, zlib.error) as exc:
            raise FetchError("decoding_error", f"{url}: cannot decode the body: {exc}") from exc
        except httpx.TransportError as exc:
            raise RetryableError("connect_error", f"{url}: connection lost: {exc}") from exc
        body = b"".join(chunks)
        return body[:max_decoded] if truncate else body

    @staticmethod
    def _capture(request: httpx.Request, response: httpx.Response, body: bytes, kind: CaptureKind,
                 source: str, fetched_at: datetime, url: str, final_url: str | None,
                 meta: dict[str, str]) -> Capture:
        return Capture(url=url, final_url=final_url, fetched_at=fetched_at, status=response.status_code,
                       body=body, kind=kind, source=source,
                       request_headers=tuple(request.headers.multi_items()),
                       response_headers=tuple(response.headers.multi_items()), meta=dict(meta))
