"""Dead letters: documents Elasticsearch refused for a reason retrying cannot fix.

One JSON object per line: `failed_at`, `index`, `id`, `status`, `error_type`, `reason`, `error`
(the item's error as Elasticsearch returned it), `run_id` and the whole `document`
(`Document.to_dict()`, so a replay after a fix rebuilds the `_source` with the fixed code).
The file is created on the first failure only and appended to, never rewritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.models import Document


class DeadLetterError(ValueError):
    """A dead-letter file cannot be read (the message names file and line)."""


@dataclass
class DeadLetter:
    document: Document
    reason: str
    status: int | None = None
    error_type: str | None = None
    index: str | None = None
    error: Any = None
    run_id: str | None = None
    failed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "failed_at": self.failed_at or datetime.now(UTC).isoformat(),
            "index": self.index,
            "id": self.document.id,
            "status": self.status,
            "error_type": self.error_type,
            "reason": self.reason,
            "error": self.error,
            "run_id": self.run_id,
            "document": self.document.to_dict(),
        }


class DeadLetterWriter:
    """Appends dead letters to `path` (created with its directory on the first one)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0

    def write(self, letter: DeadLetter) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(letter.to_dict(), ensure_ascii=False, default=str)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.count += 1


def read_dead_letters(path: str | Path) -> Iterator[DeadLetter]:
    """The letters of a dead-letter file, in order; a broken line raises `DeadLetterError`
    naming `path:line`."""
    p = Path(path)
    try:
        fh = p.open(encoding="utf-8")
    except OSError as exc:
        raise DeadLetterError(f"{p}: cannot read ({exc.strerror or exc})") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                doc = Document.from_dict(data["document"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DeadLetterError(f"{p}:{lineno}: not a dead letter ({type(exc).__name__}: {exc})") from None
            yield DeadLetter(document=doc, reason=str(data.get("reason") or ""), status=data.get("status"),
                             error_type=data.get("error_type"), index=data.get("index"),
                             error=data.get("error"), run_id=data.get("run_id"),
                             failed_at=data.get("failed_at"))


def default_dead_letter_path(archive_root: str | None, command: str, *, now: datetime | None = None) -> Path:
    """`<archive>/dead-letter/<command>-<UTC timestamp>.jsonl` for a local archive, else
    `./data/dead-letter/…` (dead letters are a local operator file)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    root = archive_root or "./data/archive"
    base = Path(root) if "://" not in root or root.startswith("file://") else Path("./data")
    if str(base).startswith("file:"):
        base = Path(root.removeprefix("file://"))
    return base / "dead-letter" / f"{command}-{stamp}.jsonl"
