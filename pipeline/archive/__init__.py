"""The raw archive (WARC captures), processed documents (JSON Lines) and durable state.

See pipeline/archive/layout.py for the on-disk layout and docs/archive.md.
"""

from __future__ import annotations

from pipeline.archive.state import FeedState, SeenEntry, SeenIndex
from pipeline.archive.store import Archive, ArchiveError, ArchiveFileNotFound, WriteResult

__all__ = ["Archive", "ArchiveError", "ArchiveFileNotFound", "FeedState", "SeenEntry", "SeenIndex", "WriteResult"]
