"""A throwaway real PostgreSQL server on 127.0.0.1 with scram-sha-256 auth, for the sandbox."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import sql

from rotator.platforms.postgres import connect, set_password_statement

# Postgres refuses to run as root. pgserver solves this by running its binaries as a system
# user named "pgserver" (created with useradd); we do the same so a fresh root container needs
# nothing beyond `pip install pgserver`.
PGSERVER_SYSTEM_USER = "pgserver"


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL binaries (install the `pgserver` package)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_postgres_bin_dir() -> Path:
    """pgserver's bundled binaries if installed, else initdb/pg_ctl from PATH."""
    try:
        with warnings.catch_warnings():
            # pgserver's import probes XDG_RUNTIME_DIR and warns when it is unset (containers).
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH  # type: ignore[import-untyped]

        if (POSTGRES_BIN_PATH / "initdb").exists():
            return Path(POSTGRES_BIN_PATH)
    except ImportError:
        pass
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(
        "no PostgreSQL binaries found; `pip install pgserver` (self-contained) or install PostgreSQL"
    )


@dataclass
class LocalPostgres:
    """Start with ``with LocalPostgres() as pg:``; ``pg.admin_url`` is a superuser URL over TCP.

    Everything the server writes (data, log) lives in one fresh directory under
    ``parent_dir`` (default: the system temporary directory), removed by ``stop()``.
    """

    bin_dir: Path | None = None
    parent_dir: Path | None = None
    port: int = 0
    superuser: str = "postgres"
    # Log every statement so tests can prove a plaintext password never reaches the server log.
    log_statements: bool = True
    superuser_password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    _workdir: Path | None = field(default=None, init=False, repr=False)
    _run_as: str | None = field(default=None, init=False, repr=False)

    @property
    def data_dir(self) -> Path:
        assert self._workdir is not None, "server not started"
        return self._workdir / "data"

    @property
    def log_file(self) -> Path:
        assert self._workdir is not None, "server not started"
        return self._workdir / "postgres.log"

    @property
    def admin_url(self) -> str:
        return self.url_for(self.superuser, self.superuser_password, "postgres")

    def url_for(self, role: str, password: str, database: str) -> str:
        from urllib.parse import quote

        return (
            f"postgresql://{quote(role, safe='')}:{quote(password, safe='')}"
            f"@127.0.0.1:{self.port}/{quote(database, safe='')}"
        )

    def start(self) -> LocalPostgres:
        bin_dir = self.bin_dir or find_postgres_bin_dir()
        self.bin_dir = bin_dir
        fixed_port = bool(self.port)  # a caller-chosen port is not silently changed
        self.port = self.port or _free_port()
        self._workdir = Path(tempfile.mkdtemp(prefix="rotator-pg-", dir=self.parent_dir))
        self._prepare_unprivileged_user(bin_dir)
        pwfile = self._workdir / "pwfile"
        pwfile.write_text(self.superuser_password + "\n")
        self._chown(pwfile)
        self._run(
            bin_dir / "initdb", "-D", str(self.data_dir), "-U", self.superuser,
            f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
            "--encoding=UTF8", "--no-sync",
        )
        pwfile.unlink()
        # A throwaway server: durability settings off so CREATE DATABASE and shutdown are quick.
        # TCP only: no Unix socket, whose path would be limited to ~100 bytes (a deep TMPDIR,
        # e.g. macOS's /var/folders/..., or pytest's, is too long for it).
        options = (f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                   "-c password_encryption=scram-sha-256 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off")
        if self.log_statements:
            options += " -c log_statement=all"
        chosen_port = self.port
        for attempt in range(3):
            try:
                self._run(
                    bin_dir / "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file),
                    "-o", options, "-w", "-t", "60", "start",
                )
                return self
            except RuntimeError:
                # A free port can be taken by another process between choosing it and the
                # server binding it (parallel test runs); a loaded machine can also outlast
                # pg_ctl's wait. Stop whatever half-started, then try again on a fresh port.
                if self.bin_dir and (self.data_dir / "postmaster.pid").exists():
                    subprocess.run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m",
                                    "immediate", "-w", "stop"], user=self._run_as,
                                   capture_output=True, timeout=60, check=False,
                                   cwd=self._workdir)
                if attempt == 2 or fixed_port:
                    raise
                self.port = _free_port()
                options = options.replace(f"-p {chosen_port} ", f"-p {self.port} ")
                chosen_port = self.port
        return self

    def stop(self) -> None:
        if self._workdir is None:
            return
        try:
            if self.bin_dir and (self.data_dir / "postmaster.pid").exists():
                # immediate: skip the shutdown checkpoint; the data directory is deleted next.
                self._run(self.bin_dir / "pg_ctl", "-D", str(self.data_dir), "-m", "immediate",
                          "-w", "stop")
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def create_role_and_database(self, role: str, password: str, database: str) -> str:
        """Create a login role owning a new database; return its URL."""
        with connect(self.admin_url) as conn:
            conn.execute(set_password_statement(conn, role, password, "CREATE ROLE {} LOGIN PASSWORD {}")[0])
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(role)
                )
            )
        return self.url_for(role, password, database)

    def drop_role_and_database(self, role: str, database: str) -> None:
        """Drop what create_role_and_database made, ending its sessions first (PostgreSQL 13+
        `WITH (FORCE)`): a long-lived server keeps no finished sandbox's database on disk."""
        with connect(self.admin_url) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

    def read_log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def _prepare_unprivileged_user(self, bin_dir: Path) -> None:
        assert self._workdir is not None
        if os.geteuid() != 0:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from pgserver.utils import (  # type: ignore[import-untyped]
                    ensure_folder_permissions,
                    ensure_prefix_permissions,
                    ensure_user_exists,
                )
        except ImportError as exc:
            raise PostgresUnavailable(
                "running as root needs the `pgserver` package to run PostgreSQL as an "
                "unprivileged user"
            ) from exc
        import stat

        ensure_user_exists(PGSERVER_SYSTEM_USER)
        self._run_as = PGSERVER_SYSTEM_USER
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        lib_dir = bin_dir.parent / "lib"
        if lib_dir.exists():
            ensure_folder_permissions(lib_dir, stat.S_IRGRP | stat.S_IROTH)
        self._workdir.chmod(0o711)
        ensure_prefix_permissions(self._workdir)
        self._chown(self._workdir)

    def _chown(self, path: Path) -> None:
        if self._run_as:
            shutil.chown(path, user=self._run_as)

    def _run(self, *args: object) -> None:
        result = subprocess.run(
            [str(a) for a in args],
            user=self._run_as,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
            check=False,
            cwd=self._workdir,
        )
        if result.returncode != 0:
            log_tail = self.read_log()[-2000:] if self._workdir else ""
            raise RuntimeError(
                f"{Path(str(args[0])).name} failed ({result.returncode}):\n{result.stdout}\n{log_tail}"
            )
