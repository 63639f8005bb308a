#!/usr/bin/env bash
# The docker stack's one-shot `airflow-init` service (docker-compose.yml). Idempotent: it runs at every
# `docker compose up` and repeats safely.
#   1. wait for the metadata database and migrate it (the image's entrypoint, _AIRFLOW_DB_MIGRATE=true,
#      exactly as Airflow's official docker-compose.yaml does);
#   2. the simple auth manager's password file: AIRFLOW_ADMIN_USERNAME -> AIRFLOW_ADMIN_PASSWORD
#      (the api-server reads passwords from it instead of generating a random one);
#   3. the `elasticsearch_default` connection (the DAGs' Elasticsearch; ES_URL is their fallback);
#   4. one pool per fetched host (page-fetch politeness shared by concurrent runs), from
#      config/sources.yaml through pipeline.flows.ingest.host_pools.
set -euo pipefail

: "${AIRFLOW_ADMIN_USERNAME:?AIRFLOW_ADMIN_USERNAME not set}"
: "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD not set}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE not set}"
: "${ES_URL:?ES_URL not set}"
: "${ES_PASSWORD:?ES_PASSWORD not set}"

echo "newsflow airflow-init: metadata database"
"${AIRFLOW_ENTRYPOINT:-/entrypoint}" airflow version  # the official image's entrypoint

echo "newsflow airflow-init: password of Airflow user '${AIRFLOW_ADMIN_USERNAME}'"
python - <<'PY'
import json, os, pathlib
path = pathlib.Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps({os.environ["AIRFLOW_ADMIN_USERNAME"]: os.environ["AIRFLOW_ADMIN_PASSWORD"]}) + "\n")
path.chmod(0o600)
print(f"  wrote {path} (1 user)")
PY

echo "newsflow airflow-init: connection elasticsearch_default"
conn_json="$(python - <<'PY'
import json, os
from urllib.parse import urlsplit
url = urlsplit(os.environ["ES_URL"])
print(json.dumps({"conn_type": "elasticsearch", "host": url.hostname, "port": url.port or 9200,
                  "schema": url.scheme, "login": os.environ.get("ES_USERNAME", "elastic"),
                  "password": os.environ["ES_PASSWORD"]}))
PY
)"
airflow connections delete elasticsearch_default >/dev/null 2>&1 || true
airflow connections add elasticsearch_default --conn-json "${conn_json}"

echo "newsflow airflow-init: pools"
pools_file="$(mktemp --suffix=.json)"
python - "${pools_file}" <<'PY'
import json, os, sys
from pipeline.flows.ingest import host_pools, load_config
pools = host_pools(load_config(os.environ.get("NEWSFLOW_SOURCES", "/opt/newsflow/config/sources.yaml")))
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(pools, out)
print(f"  {len(pools)} pool(s): {', '.join(sorted(pools))}")
PY
airflow pools import "${pools_file}"
rm -f "${pools_file}"

echo "newsflow airflow-init: done"
