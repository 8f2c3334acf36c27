"""A throwaway PostgreSQL server for tests, benchmarks and local topologies.

The DuckLake warehouse keeps its catalog in PostgreSQL (docs/design.md, "One DuckDB file, and
turns"). A lab runs its own PostgreSQL; tests, benchmarks, the demo and the multi-process
topology need one that starts in seconds and leaves nothing behind. :class:`DevPostgres` runs
the machine's PostgreSQL binaries (``initdb``, ``pg_ctl``; PostgreSQL 15 here) on a data
directory in a fresh temporary directory, listening on 127.0.0.1 at a free port and on a unix
socket inside that directory, with ``trust`` authentication for local connections only, and
removes everything on :meth:`DevPostgres.stop` (also at interpreter exit if the owner forgot).

Usage::

    with DevPostgres() as pg:
        dsn = pg.create_database("lake_catalog")   # libpq keyword string, for DuckDB's postgres
        url = pg.url("lake_catalog")              # postgres:// URL, for Tansu and friends

Why a roof module (``autoscope/``) and not a test helper: the benchmarks and the multi-process
topology (several ingesters, Tansu on PostgreSQL storage) use it as well as the tests.

PostgreSQL refuses to run as root. When this process is root (CI, these machines), the server
runs as the ``postgres`` system user (``runuser -u postgres``), and the temporary directory is
handed to that user. It is a development server: ``fsync`` is off by default (``durable=False``)
because nothing in it outlives the process that started it.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

#: the superuser the cluster is initialised with; also the user the DSNs name
SUPERUSER = "autoscope"
#: the system user the server runs as when this process is root
SERVICE_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not on this machine, or the server would not start."""


def postgres_binaries() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: from PATH, else the newest Debian install."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    raise PostgresUnavailable(
        "PostgreSQL's initdb and pg_ctl were not found on PATH or under /usr/lib/postgresql/*/bin "
        "(Debian: apt-get install postgresql)"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the OS's pick; another process may take it before us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class DevPostgres:
    """One PostgreSQL server in a temporary directory; a context manager (start on enter, stop on exit).

    Public, stable for other modules: :attr:`host`, :attr:`port`, :attr:`socket_dir`,
    :meth:`start`, :meth:`stop`, :meth:`dsn`, :meth:`url`, :meth:`create_database`, :meth:`psql`.
    """

    def __init__(self, *, durable: bool = False, base_dir: str | os.PathLike[str] | None = None) -> None:
        self.durable = durable
        self.host = "127.0.0.1"
        self.port = 0
        self._base_dir = base_dir
        self.root: Path | None = None
        self._bin: Path | None = None
        self._as_root = os.geteuid() == 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.root is not None

    @property
    def data_dir(self) -> Path:
        return self._root() / "data"

    @property
    def socket_dir(self) -> Path:
        """The unix socket's folder (short: a socket path may not exceed 107 bytes)."""
        return self._root() / "sock"

    def start(self) -> DevPostgres:
        """initdb and start the server; returns self. Raises :class:`PostgresUnavailable` on failure."""
        if self.running:
            return self
        self._bin = postgres_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="autoscope-pg-", dir=self._base_dir))
        atexit.register(self.stop)
        try:
            self.socket_dir.mkdir()
            if self._as_root:
                owner = pwd.getpwnam(SERVICE_USER)
                for path in (self.root, self.socket_dir):
                    os.chown(path, owner.pw_uid, owner.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                *([] if self.durable else ["--no-sync"]),
            )
            self._start_server()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_server(self) -> None:
        options = [f"-c listen_addresses={self.host}", f"-c unix_socket_directories={self.socket_dir}"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        # DuckLake's writers and the multi-process topology each hold connections; 100 is short.
        options.append("-c max_connections=300")
        last_error = ""
        for _attempt in range(5):  # a free port can be taken between the probe and the bind
            self.port = free_port(self.host)
            result = self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self._root() / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join([f"-p {self.port}", *options]),
                "start",
                check=False,
            )
            if result.returncode == 0:
                return
            last_error = result.stdout + result.stderr + self._log_tail()
            time.sleep(0.2)
        raise PostgresUnavailable(f"PostgreSQL did not start in {self.root}: {last_error.strip()}")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory; safe to call twice."""
        root, self.root = self.root, None
        if root is None:
            return
        atexit.unregister(self.stop)
        if (root / "data" / "postmaster.pid").exists() and self._bin is not None:
            command = [str(self._bin / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"]
            subprocess.run(self._as_service_user(command), capture_output=True, text=True, check=False)
        shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> DevPostgres:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- connecting ------------------------------------------------------------------------

    def dsn(self, database: str = "postgres") -> str:
        """A libpq keyword/value connection string over TCP (DuckDB's postgres extension takes it)."""
        self._root()
        return f"host={self.host} port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str = "postgres") -> str:
        """The same connection as a ``postgres://`` URL (for clients that take URLs, e.g. Tansu)."""
        self._root()
        return f"postgres://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` (an identifier: letters, digits, underscores); returns its :meth:`dsn`."""
        if not name.replace("_", "").isalnum() or not name[0].isalpha():
            raise ValueError(f"database name: letters, digits and underscores, starting with a letter; got {name!r}")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql over the unix socket; returns its unaligned output."""
        psql = shutil.which("psql") or str(self._bin_dir() / "psql")
        command = [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir)]
        command += ["-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", sql]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed on {sql!r}: {result.stderr.strip()}")
        return result.stdout

    # -- internals -------------------------------------------------------------------------

    def _root(self) -> Path:
        if self.root is None:
            raise RuntimeError("the PostgreSQL server is not running (call start() or use it as a context manager)")
        return self.root

    def _bin_dir(self) -> Path:
        if self._bin is None:
            self._bin = postgres_binaries()
        return self._bin

    def _as_service_user(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", SERVICE_USER, "--", *command] if self._as_root else command

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = self._as_service_user([str(self._bin_dir() / tool), *args])
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=self._root())
        if check and result.returncode != 0:
            raise PostgresUnavailable(f"{tool} failed ({result.returncode}): {(result.stdout + result.stderr).strip()}")
        return result

    def _log_tail(self) -> str:
        try:
            return (self._root() / "server.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""
