from __future__ import annotations

from tests.dags import harness

harness.configure()
