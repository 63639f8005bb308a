"""Captures to WARC bytes and back (warcio). Pure: bytes in, bytes out; no file system.

Each Capture becomes a `request` record and a `response` record (WARC/1.1, so WARC-Date keeps
microseconds), linked by WARC-Concurrent-To. The body stored is the one the pipeline read,
after content decoding: the HTTP `Content-Encoding`/`Transfer-Encoding` headers are kept as
`X-Archive-Orig-…` (the pywb convention) and `Content-Length` is set to the stored length, so
any WARC reader sees consistent records. newsflow's own metadata rides in `Newsflow-*` WARC
headers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.models import Capture

_DECODED_HEADERS = {"content-encoding", "transfer-encoding"}
_ORIG_PREFIX = "X-Archive-Orig-"
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 404: "Not Found",
            410: "Gone", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def _warc_date(dt: datetime) -> str:
    dt = dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_warc_date(value: str) -> datetime:
    value = value.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in value else "%Y-%m-%dT%H:%M:%S"
    return datetime.strptime(value, fmt).replace(tzinfo=UTC)


def _stored_response_headers(capture: Capture) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for key, value in capture.response_headers:
        lkey = key.lower()
        if lkey in _DECODED_HEADERS:
            headers.append((_ORIG_PREFIX + key, value))
        elif lkey == "content-length":
            continue
        else:
            headers.append((key, value))
    headers.append(("Content-Length", str(len(capture.body))))
    return headers


def _restore_response_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for key, value in headers:
        if key.startswith(_ORIG_PREFIX) and key[len(_ORIG_PREFIX):].lower() in _DECODED_HEADERS:
            out.append((key[len(_ORIG_PREFIX):], value))
        else:
            out.append((key, value))
    return tuple(out)


def write_captures(stream: BinaryIO, captures: Iterable[Capture]) -> list[Capture]:
    """Write captures as gzip WARC records to `stream`; return them with `record_id` set."""
    writer = WARCWriter(stream, gzip=True, warc_version="1.1")
    written: list[Capture] = []
    for cap in captures:
        target = cap.effective_url
        date = _warc_date(cap.fetched_at)
        meta_headers = {
            "WARC-Date": date,
            "Newsflow-Kind": cap.kind,
            "Newsflow-Source": cap.source,
        }
        if cap.final_url and cap.final_url != cap.url:
            meta_headers["Newsflow-Requested-URI"] = cap.url
        if cap.meta:
            meta_headers["Newsflow-Meta"] = json.dumps(cap.meta, ensure_ascii=True, sort_keys=True)

        status_line = f"{cap.status} {_REASONS.get(cap.status, 'Status')}"
        http_headers = StatusAndHeaders(status_line, _stored_response_headers(cap), protocol="HTTP/1.1")
        response = writer.create_warc_record(
            target, "response", payload=io.BytesIO(cap.body), length=len(cap.body),
            http_headers=http_headers, warc_headers_dict=dict(meta_headers),
        )
        record_id = response.rec_headers.get_header("WARC-Record-ID")

        req_headers = list(cap.request_headers) or [("Host", "")]
        request = writer.create_warc_record(
            target, "request", payload=io.BytesIO(b""), length=0,
            http_headers=StatusAndHeaders(f"GET {_request_target(target)} HTTP/1.1", req_headers,
                                          is_http_request=True),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": record_id},
        )
        writer.write_record(response)
        writer.write_record(request)
        written.append(_with_record_id(cap, record_id))
    return written


def _request_target(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _with_record_id(cap: Capture, record_id: str) -> Capture:
    return _replace(cap, record_id=record_id)


def read_captures(stream: BinaryIO) -> Iterator[Capture]:
    """Yield the Captures of a WARC stream, bodies byte-identical.

    A response's request headers come from the `request` record that names it in
    WARC-Concurrent-To (newsflow writes it right after the response).
    """
    pending: Capture | None = None
    for record in ArchiveIterator(stream):
        if record.rec_type == "request":
            if pending is not None and record.rec_headers.get_header("WARC-Concurrent-To") == pending.record_id:
                req = record.http_headers
                headers = tuple((k, v) for k, v in (req.headers if req is not None else []))
                pending = _replace(pending, request_headers=headers)
            continue
        if record.rec_type != "response":
            continue
        if pending is not None:
            yield pending
        pending = _capture_of(record)
    if pending is not None:
        yield pending


def _replace(cap: Capture, **changes: object) -> Capture:
    from dataclasses import replace

    return replace(cap, **changes)  # type: ignore[arg-type]


def _capture_of(record: ArcWarcRecord) -> Capture:
    rec = record.rec_headers
    target = rec.get_header("WARC-Target-URI") or ""
    requested = rec.get_header("Newsflow-Requested-URI")
    meta_raw = rec.get_header("Newsflow-Meta")
    http = record.http_headers
    status = int(http.get_statuscode()) if http is not None else 0
    headers = _restore_response_headers(http.headers if http is not None else [])
    headers = tuple((k, v) for k, v in headers if k.lower() != "content-length")
    return Capture(
        url=requested or target,
        final_url=target if requested else None,
        fetched_at=_parse_warc_date(rec.get_header("WARC-Date")),
        status=status,
        body=record.raw_stream.read(),
        kind=rec.get_header("Newsflow-Kind") or "page",  # type: ignore[arg-type]
        source=rec.get_header("Newsflow-Source") or "",
        response_headers=headers,
        record_id=rec.get_header("WARC-Record-ID"),
        meta=json.loads(meta_raw) if meta_raw else {},
    )
