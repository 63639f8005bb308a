"""Real services for the distributed tests and the Celery benchmark, from Debian's packages:
a private PostgreSQL cluster and a private Redis server on free loopback ports (temporary data
directories, stopped and removed at exit), and Airflow with the CeleryExecutor on them
(api-server, scheduler, dag-processor and N Celery workers, each its own process group, so that
a test can SIGKILL one worker as if its host were lost).

scripts/test installs `postgresql` and `redis-server` with apt-get when they are absent and it
runs as root (required with CI=true); `missing_services()` says what is still missing.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from bench.measure import free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
START_DEADLINE_S = 60


def wait_for(what: str, check: Callable[[], Any], deadline_s: float, interval_s: float = 1.0) -> Any:
    """Poll `check` until it returns a truthy value or the deadline passes (a state only a request
    can tell: a REST resource, an Airflow run)."""
    end = time.monotonic() + deadline_s
    last_error: Exception | None = None
    while time.monotonic() < end:
        try:
            value = check()
            if value:
                return value
        except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
            last_error = exc
        time.sleep(interval_s)  # polling interval between checks of a condition, not a wait for time itself
    raise TimeoutError(f"{what}: not reached in {deadline_s:.0f} s (last error: {last_error})")


def api_log_in(client: httpx.Client, user: str, password: str, deadline_s: float = START_DEADLINE_S) -> None:
    """Once Airflow's API server answers, a JWT from /auth/token on every request of `client`."""
    wait_for("API server healthy", lambda: client.get("/api/v2/monitor/health").status_code == 200, deadline_s, 2)
    token = client.post("/auth/token", json={"username": user, "password": password})
    if token.status_code not in (200, 201):
        raise RuntimeError(f"POST /auth/token as {user}: HTTP {token.status_code}: {token.text}")
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"


def pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def missing_services() -> list[str]:
    missing = []
    if pg_bin() is None:
        missing.append("PostgreSQL server (apt-get install postgresql)")
    if shutil.which("redis-server") is None:
        missing.append("Redis (apt-get install redis-server)")
    return missing


def wait_for_line(proc: subprocess.Popen, marker: bytes, what: str, deadline_s: float = START_DEADLINE_S,
                  copy_to: BinaryIO | None = None) -> bytes:
    """Read `proc`'s stdout (a pipe) until a line holding `marker`, and return that line: the
    process says it is ready (no polling). Fails with the output so far when the process exits
    first or nothing comes within `deadline_s`. The rest of its output goes on to `copy_to` (or
    nowhere) in a thread, so the pipe never fills up."""
    assert proc.stdout is not None
    seen: list[bytes] = []
    end = time.monotonic() + deadline_s
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise TimeoutError(f"{what}: not ready in {deadline_s:.0f} s; its output:\n"
                                   + b"".join(seen[-40:]).decode(errors="replace"))
            line = proc.stdout.readline()
            if not line:
                proc.wait(timeout=30)
                raise RuntimeError(f"{what} exited with status {proc.returncode} before it was ready; its output:\n"
                                   + b"".join(seen[-40:]).decode(errors="replace"))
            seen.append(line)
            if copy_to is not None:
                copy_to.write(line)
                copy_to.flush()
            if marker in line:
                break

    def drain() -> None:
        for rest in proc.stdout:  # type: ignore[union-attr]
            if copy_to is not None:
                try:
                    copy_to.write(rest)
                except ValueError:  # the caller closed it: the process is being stopped
                    return

    threading.Thread(target=drain, name=f"{what}-output", daemon=True).start()
    return line


def _as_postgres() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields the SQLAlchemy URL of its database `airflow`."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    data = Path(tempfile.mkdtemp(prefix="newsflow-pg-"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(data, pw.pw_uid, pw.pw_gid)
    port = free_port()
    log = data / "server.log"
    try:
        subprocess.run([*_as_postgres(), str(bindir / "initdb"), "-D", str(data / "db"), "-U", "airflow",
                        "--auth=trust", "--encoding=UTF8", "--no-instructions"],
                       check=True, capture_output=True, text=True, timeout=120)
        subprocess.run([*_as_postgres(), str(bindir / "pg_ctl"), "-D", str(data / "db"), "-l", str(log), "-w",
                        "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                              "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                        "start"], check=True, capture_output=True, text=True, timeout=120)
        subprocess.run([*_as_postgres(), str(bindir.parent / "bin" / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                        "-U", "airflow", "airflow"], check=True, capture_output=True, text=True, timeout=60)
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"PostgreSQL: {' '.join(exc.cmd)} failed: {exc.stderr or exc.stdout}\n"
                           f"{log.read_text(errors='replace') if log.exists() else ''}") from None
    finally:
        subprocess.run([*_as_postgres(), str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "immediate", "-w",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway Redis (no persistence); yields its URL."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="newsflow-redis-"))
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    log = (data / "redis.log").open("wb")
    try:
        wait_for_line(proc, b"Ready to accept connections", "redis-server", copy_to=log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


@dataclass
class Component:
    name: str
    proc: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill_group(self) -> None:
        """SIGKILL to every process of the component (a host lost), then reap it."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if not self.alive():
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)


@dataclass
class CeleryAirflow:
    """Airflow with the CeleryExecutor: `base` is the API server's URL."""

    home: Path
    base: str
    env: dict[str, str]
    components: dict[str, Component] = field(default_factory=dict)

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> Component:
        log = self.home / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(VENV_BIN / "airflow"), *args], stdout=out, stderr=subprocess.STDOUT,
                                    env={**self.env, **(env or {})}, cwd=str(self.home), start_new_session=True)
        self.components[name] = Component(name, proc, log)
        return self.components[name]

    def start_worker(self, name: str, *, concurrency: int, queues: str = "default,fetch,ner") -> Component:
        """A Celery worker that names itself `name` (Celery node and task instance hostname)."""
        return self.start(name, "celery", "worker", "-q", queues, "-H", f"{name}@%h", "--without-mingle",
                          "--without-gossip",
                          env={"NEWSFLOW_TEST_HOSTNAME": name,
                               "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
                               "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})

    def stop(self) -> None:
        for comp in reversed(list(self.components.values())):
            comp.stop()

    def logs(self, lines: int = 80) -> str:
        parts = []
        for comp in self.components.values():
            text = comp.log.read_text(errors="replace").splitlines() if comp.log.exists() else []
            parts += [f"===== {comp.name} ({'running' if comp.alive() else f'exit {comp.proc.returncode}'}) =====",
                      "\n".join(text[-lines:])]
        for log in sorted((self.home / "logs").rglob("*.log")):
            text = log.read_text(errors="replace").splitlines()
            parts += [f"===== {log.relative_to(self.home)} =====", "\n".join(text[-40:])]
        return "\n".join(parts)


def airflow_env(home: Path, *, db_url: str, broker_url: str, port: int, user: str, password: str,
                extra: dict[str, str]) -> dict[str, str]:
    """One environment for every component (as the compose file's x-airflow-common)."""
    (home / "passwords.json").write_text(json.dumps({user: password}))
    base = f"http://127.0.0.1:{port}"
    result_backend = "db+" + db_url  # postgresql+psycopg2: SQLAlchemy 2.1's plain postgresql:// means psycopg 3
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "16",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.distributed.hostname.worker_hostname",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API_AUTH__JWT_SECRET": "distributed-test-jwt-secret-0123456789abcdef",
        "AIRFLOW__API__SECRET_KEY": "distributed-test-secret-key",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # a worker lost mid-task: its task instances are failed (then retried) after 20 s without
        # a heartbeat instead of 5 minutes, and tasks queued on it are requeued after 60 s
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "10",
        **extra,
    }


@contextmanager
def celery_airflow(home: Path, env: dict[str, str], *, workers: dict[str, int]) -> Iterator[CeleryAirflow]:
    """Migrate the metadata DB, then start api-server, scheduler, dag-processor and the workers
    (`{name: concurrency}`). Stopped (SIGTERM, then SIGKILL) at exit."""
    base = env["AIRFLOW__API__BASE_URL"]
    stack = CeleryAirflow(home=home, base=base, env=env)
    migrate = subprocess.run([str(VENV_BIN / "airflow"), "db", "migrate"], env=env, cwd=str(home),
                             capture_output=True, text=True, timeout=600)
    if migrate.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-3000:]}\n{migrate.stderr[-3000:]}")
    try:
        stack.start("api-server", "api-server")
        stack.start("scheduler", "scheduler")
        stack.start("dag-processor", "dag-processor")
        for name, concurrency in workers.items():
            stack.start_worker(name, concurrency=concurrency)
        yield stack
    finally:
        stack.stop()
