"""A throwaway PostgreSQL server for the tests, and a fresh empty database per test.

`PostgresServer.start()` runs `initdb` into a new temporary folder and `pg_ctl start` on 127.0.0.1 at a
free port (no Unix socket, trust authentication, fsync off: nothing in it outlives the session), then
`stop()` shuts it down and removes the folder. PostgreSQL refuses to run as root, so as root the
binaries run as the `postgres` system user (`runuser -u postgres --`) in a folder it owns. A watchdog (a
shell loop) does the same if the test process dies without stopping it (killed, timed out).

When MONITOR_TEST_POSTGRES_URL is set (e.g. by .ci/run), no server is started: that server is used, and
its URL's database is only the one connected to for CREATE/DROP DATABASE.

Whatever cannot start raises `PostgresUnavailable` with the reason; the conftest fixture turns it into a
skip that names it (`pytest -rs`).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ENV_URL = "MONITOR_TEST_POSTGRES_URL"
BINARIES = ("initdb", "pg_ctl", "postgres")
# Where Debian's `postgresql` package puts them when they are not on PATH.
DEBIAN_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class PostgresUnavailable(Exception):
    """No PostgreSQL server for the tests; the message says why."""


def find_binaries() -> dict[str, str]:
    found = {}
    for name in BINARIES:
        path = shutil.which(name) or next((str(d / name) for d in DEBIAN_BIN if (d / name).exists()), None)
        if path is None:
            raise PostgresUnavailable(f"{name} not found (install Debian's postgresql package)")
        found[name] = path
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url: str, name: str) -> str:
    """`url` with its path (the database) replaced by `name`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


class PostgresServer:
    """One server for the test session: `url` (the maintenance database) and `database()` for a new one."""

    def __init__(self, url: str, *, folder: Path | None = None, run_as: list[str] | None = None,
                 pg_ctl: str | None = None):
        self.url = url
        self._folder = folder
        self._run_as = run_as or []
        self._pg_ctl = pg_ctl
        self._names = itertools.count(1)
        self._watchdog: subprocess.Popen | None = None
        if folder is not None:
            stop = shlex.join([*self._run_as, pg_ctl, "-D", str(folder / "data"), "-m", "immediate", "-w", "stop"])
            self._watchdog = subprocess.Popen(
                ["sh", "-c", f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 2; done; {stop} >/dev/null 2>&1; "
                             f"rm -rf {shlex.quote(str(folder))}"],
                start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @classmethod
    def start(cls) -> "PostgresServer":
        """The server at MONITOR_TEST_POSTGRES_URL if set, else a new one; PostgresUnavailable if neither."""
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise PostgresUnavailable(f"psycopg is not installed ({exc})") from None
        if os.environ.get(ENV_URL):
            server = cls(os.environ[ENV_URL])
            server._check()
            return server
        bins = find_binaries()
        run_as: list[str] = []
        folder = Path(tempfile.mkdtemp(prefix="monitor-test-pg-"))
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(folder, ignore_errors=True)
                raise PostgresUnavailable("running as root and there is no `postgres` user to run the server as") from None
            runuser = shutil.which("runuser")
            if runuser is None:
                shutil.rmtree(folder, ignore_errors=True)
                raise PostgresUnavailable("running as root and `runuser` is not found")
            os.chown(folder, user.pw_uid, user.pw_gid)
            run_as = [runuser, "-u", "postgres", "--"]
        data, log = folder / "data", folder / "server.log"
        port = free_port()

        def run(*args: str) -> None:
            done = subprocess.run([*run_as, *args], capture_output=True, text=True, timeout=120)
            if done.returncode != 0:
                detail = (done.stderr or done.stdout).strip().splitlines()
                tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
                raise PostgresUnavailable(f"{Path(args[0]).name} failed: {' | '.join(detail[-3:] + tail)}")

        try:
            run(bins["initdb"], "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--locale=C", "--no-sync")
            options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
            run(bins["pg_ctl"], "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        except (PostgresUnavailable, OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if isinstance(exc, PostgresUnavailable):
                raise
            raise PostgresUnavailable(f"cannot start PostgreSQL: {exc}") from None
        server = cls(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder=folder, run_as=run_as,
                     pg_ctl=bins["pg_ctl"])
        try:
            server._check()
        except PostgresUnavailable:
            server.stop()
            raise
        return server

    def _check(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=10) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise PostgresUnavailable(f"cannot connect to the test server: {exc}") from None

    def database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"monitor_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return with_database(self.url, name)

    def drop(self, url: str) -> None:
        import psycopg

        name = urlsplit(url).path.lstrip("/")
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server this started (not one given by MONITOR_TEST_POSTGRES_URL) and remove its folder."""
        if self._folder is None:
            return
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
        try:
            subprocess.run([*self._run_as, self._pg_ctl, "-D", str(self._folder / "data"), "-m", "immediate", "-w",
                            "stop"], capture_output=True, timeout=60)
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
