"""`python -m pipeline process PATH`: one page (.html, .htm, .txt, or - for stdin) → Document JSON.

Unusable input (missing file, a directory, empty or binary data, a file over the size cap,
an unknown --source, a bad --url or sources file, a page with no article in it) gives one
line on stderr naming the input and exit code 2; recoverable problems (an unknown extension,
an undeclared or wrong charset, broken HTML) give a best-effort document and a `warning:`
line per problem. Never a traceback (an unexpected failure is one `error:` line, exit 1;
`-vv` logs the traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.settings import Settings, env_int

log = logging.getLogger(__name__)

ENV_MAX_BYTES = "NEWSFLOW_MAX_PAGE_BYTES"
DEFAULT_MAX_BYTES = 20 * 2**20
TEXT_EXTENSIONS = {".txt"}
HTML_EXTENSIONS = {".html", ".htm"}
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class InputError(Exception):
    """Unusable input: reported as one line, exit code 2."""


@dataclass(frozen=True)
class _Source:
    """A source resolved without a sources file: the site profile of the same name."""

    id: str
    site_profile: str
    language: str | None = None


def max_bytes() -> int:
    try:
        return env_int(ENV_MAX_BYTES, DEFAULT_MAX_BYTES, minimum=1, expected="a number of bytes ≥ 1")
    except ValueError as exc:
        raise InputError(f"${exc}") from None


def _human(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n} bytes"


def read_input(path: str, limit: int) -> tuple[bytes, str]:
    """(bytes, display name); raises InputError for what cannot be processed."""
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
        name = "<stdin>"
    else:
        p = Path(path)
        name = str(p)
        if not p.exists():
            raise InputError(f"{name}: no such file")
        if p.is_dir():
            raise InputError(f"{name}: is a directory, not a page file")
        try:
            size = p.stat().st_size
            if size > limit:
                raise InputError(f"{name}: {_human(size)}, over the {_human(limit)} limit "
                                 f"(set ${ENV_MAX_BYTES} to change it)")
            with p.open("rb") as fh:
                data = fh.read(limit + 1)
        except PermissionError:
            raise InputError(f"{name}: permission denied") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(f"{name}: over the {_human(limit)} limit (set ${ENV_MAX_BYTES} to change it)")
    if not data.strip():
        raise InputError(f"{name}: empty input")
    if looks_binary(data):
        raise InputError(f"{name}: binary data, not an HTML page or a text file")
    return data, name


def looks_binary(data: bytes) -> bool:
    """NUL bytes (outside UTF-16/32 with a BOM) or many control characters in the first 8 KB."""
    head = data[:8192]
    if head.startswith(_BOMS):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls > len(head) * 0.05


def resolve_source(source_id: str | None, sources_file: str | None) -> object | None:
    """The SourceConfig for --source (from the sources file), or a profile-only source when no
    sources file exists; None without --source."""
    if not source_id:
        return None
    from pipeline.process.sites import available_profiles

    path = sources_file or Settings.from_env().sources_file
    if sources_file or Path(path).exists():
        from pipeline.sources import SourcesError, load_sources

        try:
            config = load_sources(path)
        except SourcesError as exc:
            raise InputError(str(exc)) from None
        try:
            return config.get(source_id)
        except KeyError as exc:
            raise InputError(f"--source: {exc.args[0]} in {path}") from None
    if source_id.lower() in available_profiles():
        return _Source(id=source_id, site_profile=source_id.lower())
    raise InputError(f"--source: unknown source {source_id!r} (no sources file at {path}; "
                     f"site profiles: {', '.join(available_profiles())})")


def _content_type(path: str, name: str, data: bytes) -> str | None:
    """text/plain for .txt, text/html for .html/.htm; None (sniff) otherwise."""
    if path == "-":
        return None
    ext = Path(path).suffix.lower()
    if ext in TEXT_EXTENSIONS:
        return "text/plain"
    if ext in HTML_EXTENSIONS:
        return "text/html"
    print(f"warning: {name}: extension {ext or '(none)'!r} is not .html, .htm or .txt; "
          "guessing the format from the content", file=sys.stderr)
    return None


def run(args: argparse.Namespace) -> int:
    name = "<stdin>" if args.path == "-" else args.path
    if getattr(args, "verbose", 0) < 2:  # library chatter ("discarding data: None") is not for users
        logging.getLogger("trafilatura").setLevel(logging.ERROR)
    try:
        return _run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except Exception as exc:  # one line, not a traceback; -vv logs it
        log.debug("process %s failed", name, exc_info=True)
        print(f"error: {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _profile_line(document: Any, args: argparse.Namespace, url: str | None) -> str:
    """Which site profile extracted the page, and what chose it."""
    from pipeline.process.sites import profile_for_url

    profile = document.site_profile
    if profile == "text":
        return "site profile: none (a plain-text dump)"
    if args.source:
        return f"site profile: {profile} (from --source {args.source})"
    if url and profile_for_url(url).name == profile != "generic":
        return f"site profile: {profile} (from --url)"
    if profile != "generic":
        return f"site profile: {profile} (from the page's own URL {document.url})"
    return "site profile: generic (no --source, and neither --url nor the page's own URL names a known site)"


def _run(args: argparse.Namespace) -> int:
    from pipeline.urls import UrlError, normalize_url

    url = args.url
    if url is not None:
        try:
            normalize_url(url)
        except UrlError as exc:
            raise InputError(f"--url: {exc}") from None
    source = resolve_source(args.source, args.sources)
    data, name = read_input(args.path, max_bytes())
    content_type = _content_type(args.path, name, data)

    from pipeline.process.chain import is_html, process

    if content_type == "text/plain" and is_html(data):
        print(f"warning: {name}: a .txt file that contains HTML; processed as HTML", file=sys.stderr)
        content_type = "text/html"
    elif content_type == "text/html" and not is_html(data):
        print(f"warning: {name}: no HTML markup; processed as a plain-text dump", file=sys.stderr)
        content_type = "text/plain"
    document = process(data, url, source=getattr(source, "id", None), source_config=source,  # type: ignore[arg-type]
                       entities=not args.no_entities, content_type=content_type)
    if not document.title and not document.text:
        raise InputError(f"{name}: no article found (no title, no text)")
    print(f"{name}: {_profile_line(document, args, url)}", file=sys.stderr)
    for warning in document.warnings:
        print(f"warning: {name}: {warning}", file=sys.stderr)
    if not document.text:
        print(f"warning: {name}: no article text found (title only)", file=sys.stderr)
    out = json.dumps(document.to_dict(), ensure_ascii=False, indent=None if args.compact else 2)
    sys.stdout.write(out + "\n")
    sys.stdout.flush()
    return 0
