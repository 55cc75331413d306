"""Throwaway servers for the fault tests: a PostgreSQL cluster made with ``initdb`` in a temporary
directory, a ``redis-server`` that keeps nothing on disk, and the portal's own processes (gunicorn,
a Celery worker, Celery beat) pointed at them. Each listens on a free loopback port, so the tests can
stop, kill and restart them without touching the machine's shared PostgreSQL and Redis, which other
people's tests use."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def missing() -> str | None:
    """Why the throwaway servers cannot be made here, or None when they can."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        return f"PostgreSQL's server binaries are not in {PG_BIN} (set PG_BIN)"
    if not Path(REDIS_SERVER).exists():
        return "redis-server is not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run initdb as"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float, what: str, log: Callable[[], str] | None = None) -> Any:
    """Poll ``condition`` until it returns something true; fail with ``what`` (and a log's tail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    tail = ("\n--- log ---\n" + log()[-12000:]) if log else ""
    raise AssertionError(f"Timed out after {timeout:g}s waiting for {what}.{tail}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- PostgreSQL -----------------------------------------------------------------------------------


class Postgres:
    """A cluster of its own. initdb refuses to run as root, so as root every server command runs as
    the ``postgres`` user (``runuser``), in a directory that user owns."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coe-fault-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        # Loopback only, a socket directory of its own, and no fsync: a throwaway cluster. A crash of
        # the server (not of the machine) loses nothing committed even so: the WAL is in the OS's cache.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=60")  # fmt: skip
        self.options = options

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, *command], cwd=self.dir, capture_output=True, text=True, check=check,
                              timeout=120)  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-o", self.options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast``: a clean shutdown (sessions ended, a checkpoint); ``immediate``: as a crash, the
        next start replays the WAL."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def is_up(self) -> bool:
        return self._run(str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port),
                         check=False).returncode == 0  # fmt: skip

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def connect(self, name: str):  # type: ignore[no-untyped-def]
        import psycopg2

        conn = psycopg2.connect(dbname=name, user="postgres", host="127.0.0.1", port=self.port, connect_timeout=5)
        conn.autocommit = True
        return conn

    def execute(self, name: str, sql: str, params: list | tuple = ()) -> list[tuple]:
        conn = self.connect(name)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            conn.close()

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- Redis ----------------------------------------------------------------------------------------


class Redis:
    """A redis-server that saves nothing (``--save "" --appendonly no``), as the shared one: stopped
    and started again on the same port, it comes back empty."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coe-fault-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.dir.glob("redis-*.log")))

    def start(self) -> None:
        self.starts += 1
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(self.dir), "--logfile", str(self.dir / f"redis-{self.starts}.log")]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self.ping, 20, f"redis-server on port {self.port}", self.log)

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(port=self.port, socket_timeout=5)

    def kill(self) -> None:
        """SIGKILL: as a crash; whatever it held in memory (queued and unacknowledged tasks) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        wait_for(lambda: not _port_open(self.port), 10, "the port to close")

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- The portal's processes ---------------------------------------------------------------------------


class Process:
    """One of the portal's processes, in a session of its own so that it and its children (gunicorn's
    and prefork's workers) can be signalled together; its output goes to a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill(self) -> None:
        """SIGKILL to the whole group: no warm shutdown, nothing acknowledged."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def portal_env(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a portal process on the throwaway servers, as production runs it (DEBUG
    off, behind the TLS proxy)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "REDIS_", "CELERY_"))}
    env.update({
        "DEBUG": "0", "SECRET_KEY": "fault-tests-" + "x" * 50, "ALLOWED_HOSTS": "127.0.0.1",
        "BEHIND_TLS_PROXY": "1", "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "coe_portal.settings",
    })  # fmt: skip
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)  # fmt: skip
    if result.returncode:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def manage_module(env: dict[str, str], module: str, *args: str, timeout: float = 120) -> str:
    """``python -m module args`` in the project, e.g. tests.fault.seed."""
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)  # fmt: skip
    if result.returncode:
        raise AssertionError(f"{module} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def gunicorn(env: dict[str, str], log_dir: Path, *, workers: int = 2) -> tuple[Process, int]:
    """gunicorn as the Dockerfile starts it (sync workers, the config file), on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "coe_portal.wsgi:application", "--config", "coe_portal/gunicorn.py",
               "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60",
               "--access-logfile", "-", "--error-logfile", "-"]  # fmt: skip
    web = Process("web", command, env, log_dir)
    wait_for(lambda: _port_open(port) or not web.alive(), 60, "gunicorn to listen", web.log)
    assert web.alive(), web.log()
    return web, port


def celery_worker(env: dict[str, str], log_dir: Path, *, name: str = "worker", pool: str = "prefork",
                  concurrency: int = 1, queues: str = "ingest,scoring,default") -> Process:  # fmt: skip
    command = [sys.executable, "-m", "celery", "-A", "coe_portal", "worker", "-Q", queues, "-n", f"{name}@%h",
               "--pool", pool, "--concurrency", str(concurrency), "--loglevel", "INFO",
               "--without-mingle", "--without-gossip"]  # fmt: skip
    worker = Process(name, command, env, log_dir)
    wait_for(lambda: " ready." in worker.log() or not worker.alive(), 60, f"{name} to be ready", worker.log)
    assert worker.alive(), worker.log()
    return worker


def celery_beat(env: dict[str, str], log_dir: Path) -> Process:
    command = [sys.executable, "-m", "celery", "-A", "coe_portal", "beat", "--loglevel", "INFO",
               "--schedule", str(log_dir / "beat-schedule")]  # fmt: skip
    return Process("beat", command, env, log_dir)
