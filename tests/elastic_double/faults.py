"""Fault injection and the request log of the double (`es_double.faults`, `es_double.requests`)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass
class RequestRecord:
    """One request the double received: method, path, query parameters, raw body, headers.

    `body` is the parsed body: None when empty, the JSON value, the list of NDJSON lines' values,
    else the text (or the bytes when not UTF-8). It is parsed on first read (then kept): most
    records are never read, and parsing each body here repeated the handlers' own parse.
    """

    method: str
    path: str
    params: dict[str, str]
    raw_body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @cached_property
    def body(self) -> Any:
        raw = self.raw_body
        if not raw:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            return text


@dataclass
class FaultAction:
    """What the server does instead of (or before) answering: error, drop, delay."""

    kind: str  # "error" | "drop" | "delay" | "bulk_item_429"
    status: int = 0
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    apply_items: int = 0


@dataclass
class _Rule:
    kind: str
    first: int = 1
    times: int = 1
    remaining: int = 0
    pattern: re.Pattern[str] | None = None
    method: str | None = None
    status: int = 503
    retry_after: int | None = None
    per_item: bool = False
    apply_items: int = 0
    seconds: float = 0.0
    error_type: str = "unavailable_shards_exception"

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.pattern is None or self.pattern.search(path) is not None


def rejected_body(reason: str = "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
                  "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]"
                  ) -> dict[str, Any]:
    cause = {"type": "es_rejected_execution_exception", "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": 429}


class Faults:
    """Faults for the next requests. Bulk requests are numbered from 1 since the last reset.

    - `reject_bulk(nth, times, per_item=False, retry_after=None)`: 429 es_rejected_execution_exception
      for bulk requests nth … nth+times-1 (whole request, or every item when `per_item`).
    - `unavailable(count, path=None, method=None, status=503)`: the next `count` matching requests fail.
    - `drop_bulk(nth, times, apply_items=0)`: close the connection without a response on bulk nth …,
      after applying the first `apply_items` items of the request.
    - `delay(seconds, path=None, count=None)`: answer matching requests after `seconds`.
    - `down()` / `up()`: stop listening (connections refused, open ones closed) / listen again.
    """

    def __init__(self, set_listening: Callable[[bool], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._set_listening = set_listening
        self._rules: list[_Rule] = []
        self.bulk_requests = 0
        self.injected = 0

    def reset(self) -> None:
        """No faults, bulk numbering from 1 again, and listening (if attached to a server)."""
        with self._lock:
            self._rules = []
            self.bulk_requests = 0
            self.injected = 0
        if self._set_listening is not None:
            self._set_listening(True)

    # -- API -------------------------------------------------------------------------------------

    def reject_bulk(self, nth: int = 1, times: int = 1, *, per_item: bool = False, retry_after: int | None = None) -> None:
        with self._lock:
            self._rules.append(_Rule("reject_bulk", first=nth, times=times, per_item=per_item, retry_after=retry_after))

    def unavailable(self, count: int = 1, *, path: str | None = None, method: str | None = None, status: int = 503,
                    error_type: str = "unavailable_shards_exception") -> None:
        with self._lock:
            self._rules.append(_Rule("unavailable", remaining=count, pattern=re.compile(path) if path else None,
                                     method=method, status=status, error_type=error_type))

    def drop_bulk(self, nth: int = 1, times: int = 1, *, apply_items: int = 0) -> None:
        with self._lock:
            self._rules.append(_Rule("drop_bulk", first=nth, times=times, apply_items=apply_items))

    def delay(self, seconds: float, *, path: str | None = None, count: int | None = None) -> None:
        with self._lock:
            self._rules.append(_Rule("delay", seconds=seconds, pattern=re.compile(path) if path else None,
                                     remaining=-1 if count is None else count))

    def down(self) -> None:
        if self._set_listening is None:
            raise RuntimeError("this Faults object is not attached to a server")
        self._set_listening(False)

    def up(self) -> None:
        if self._set_listening is None:
            raise RuntimeError("this Faults object is not attached to a server")
        self._set_listening(True)

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    # -- server side ----------------------------------------------------------------------------

    def on_request(self, method: str, path: str, is_bulk: bool) -> list[FaultAction]:
        """Actions for one incoming request, in order (delays first, then at most one failure)."""
        actions: list[FaultAction] = []
        with self._lock:
            if is_bulk:
                self.bulk_requests += 1
            number = self.bulk_requests
            failure: FaultAction | None = None
            for rule in self._rules:
                if rule.kind == "delay" and rule.remaining != 0 and rule.matches(method, path):
                    actions.append(FaultAction("delay", seconds=rule.seconds))
                    if rule.remaining > 0:
                        rule.remaining -= 1
                if failure is not None:
                    continue
                if rule.kind == "unavailable" and rule.remaining > 0 and rule.matches(method, path):
                    rule.remaining -= 1
                    cause = {"type": rule.error_type, "reason": f"elastic double: injected {rule.status}"}
                    failure = FaultAction("error", status=rule.status,
                                          body={"error": {"root_cause": [cause], **cause}, "status": rule.status})
                elif is_bulk and rule.kind in ("reject_bulk", "drop_bulk") and rule.first <= number < rule.first + rule.times:
                    if rule.kind == "drop_bulk":
                        failure = FaultAction("drop", apply_items=rule.apply_items)
                    elif rule.per_item:
                        failure = FaultAction("bulk_item_429")
                    else:
                        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
                        failure = FaultAction("error", status=429, body=rejected_body(), headers=headers)
            if failure is not None:
                self.injected += 1
                actions.append(failure)
        return actions
