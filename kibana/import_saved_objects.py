"""Import `kibana/saved_objects.ndjson` into Kibana through its saved objects import API.

    python -m kibana.import_saved_objects --kibana-url http://localhost:5601   # ES_USERNAME/ES_PASSWORD

`POST /api/saved_objects/_import?overwrite=true`, multipart field `file`, header `kbn-xsrf` (Kibana's
documented import API). The objects have fixed ids, so a second import updates them in place. Used by
the docker stack's `setup` service (scripts/stack_setup.py) and by hand against any Kibana 8.x/9.x.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DEFAULT_FILE = Path(__file__).resolve().parent / "saved_objects.ndjson"
IMPORT_PATH = "/api/saved_objects/_import"

log = logging.getLogger("newsflow.kibana")


class KibanaImportError(RuntimeError):
    """Kibana refused the import (the message names the objects and Kibana's reason)."""


@dataclass(frozen=True)
class ImportResult:
    success_count: int
    object_ids: list[str] = field(default_factory=list)


def import_saved_objects(client: httpx.Client, kibana_url: str, ndjson_path: Path = DEFAULT_FILE, *,
                         overwrite: bool = True) -> ImportResult:
    """Send the NDJSON file to Kibana; raise KibanaImportError unless every object was imported."""
    try:
        payload = ndjson_path.read_bytes()
    except OSError as exc:
        raise KibanaImportError(f"{ndjson_path}: cannot read ({exc.strerror})") from exc
    url = kibana_url.rstrip("/") + IMPORT_PATH
    response = client.post(url, params={"overwrite": str(overwrite).lower()}, headers={"kbn-xsrf": "true"},
                           files={"file": (ndjson_path.name, payload, "application/ndjson")})
    if response.status_code != 200:
        raise KibanaImportError(f"{url}: HTTP {response.status_code}: {response.text[:500]}")
    body = response.json()
    errors = body.get("errors") or []
    if not body.get("success") or errors:
        described = ", ".join(
            f"{e.get('type')}/{e.get('id')} ({(e.get('error') or {}).get('type', 'error')})" for e in errors)
        raise KibanaImportError(f"{url}: {len(errors)} object(s) not imported: {described or body}")
    ids = [s.get("id", "") for s in body.get("successResults") or []]
    log.info("kibana: imported %d saved objects from %s", body.get("successCount", 0), ndjson_path.name)
    return ImportResult(success_count=int(body.get("successCount", 0)), object_ids=ids)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kibana.import_saved_objects",
                                     description="Import the newsflow data view, searches and dashboard.")
    parser.add_argument("--kibana-url", default=os.environ.get("KIBANA_URL", "http://localhost:5601"))
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    username, password = os.environ.get("ES_USERNAME", "elastic"), os.environ.get("ES_PASSWORD")
    auth = (username, password) if password else None
    try:
        with httpx.Client(auth=auth, timeout=60) as client:
            result = import_saved_objects(client, args.kibana_url, args.file)
    except (KibanaImportError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"imported {result.success_count} saved objects into {args.kibana_url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
