"""Airflow's `core.hostname_callable` for the distributed test: two Celery workers on one
machine record different hostnames on the task instances they run (the name the test gave the
worker), so the test can tell which worker ran what. Anything else keeps the machine's name."""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    return os.environ.get("NEWSFLOW_TEST_HOSTNAME") or socket.getfqdn()
