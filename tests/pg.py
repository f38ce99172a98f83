"""PostgreSQL for the tests: ``PG_TEST_URL`` if set, else a throwaway server for the session.

Test modules import the fixtures explicitly: ``from tests.pg import pg_url_fixture  # noqa: F401``
makes the ``pg_url`` fixture available (``store_url_fixture`` -> ``store_url``, a SQLite file
and then a PostgreSQL database; ``pg_server_fixture`` -> ``pg_server``, the admin URL).
The server is started once per session whichever module asks first (the module-level
``_SERVER`` caches it, because a fixture imported into several modules is registered once per
module) and stopped at session end. Each test gets a fresh database of its own.

Starting a server: the newest ``initdb``/``pg_ctl`` under ``/usr/lib/postgresql/*/bin`` (or on
PATH) initialise a cluster in a temp folder with trust auth, listening on 127.0.0.1 at a free
port with its socket in that folder. initdb refuses to run as root, so as root the folder is
handed to the ``postgres`` user and the commands run through ``runuser``. Without the binaries
the tests skip on a laptop and fail in CI (``require``).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
import weakref
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url

from tests.conftest import require

PG_ENV = "PG_TEST_URL"
MISSING = "PostgreSQL server binaries not found (apt-get install postgresql)"


@dataclass
class _Server:
    """A running server (or the one PG_TEST_URL names) and how to stop it."""

    base_url: str
    root: Path | None = None
    pg_ctl: str | None = None
    runas: tuple[str, ...] = ()

    def stop(self) -> None:
        if self.root is None or self.pg_ctl is None:
            return
        subprocess.run(
            [*self.runas, self.pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


_SERVER: _Server | None = None
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


@event.listens_for(Engine, "engine_connect")
def _track(conn: Connection) -> None:
    """Remember every engine the tests open, so its pooled connections close before the drop."""
    _ENGINES.add(conn.engine)


def _binary(name: str) -> str | None:
    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, reverse=True)
    return found[0] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_OPTIONS = (  # fast, throwaway: the server process is never killed by the tests, only clients
    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
    "-c full_page_writes=off -c max_connections=200"
)


def _start_server() -> _Server:
    """initdb a cluster in a temp folder, then start it on a free port (three tries)."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        require(False, MISSING)
    assert initdb is not None and pg_ctl is not None
    root = Path(tempfile.mkdtemp(prefix="prm-pg-"))
    runas: tuple[str, ...] = ()
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
        shutil.chown(root, "postgres", "postgres")
        runas = ("runuser", "-u", "postgres", "--")
    data = str(root / "data")
    init = [initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"]
    _run([*runas, *init, "--no-sync"], root)
    errors = ""
    for _attempt in range(3):
        port = _free_port()
        options = f"-p {port} -k {root} {_OPTIONS}"
        start = [pg_ctl, "-D", data, "-o", options, "-l", str(root / "server.log"), "-w", "start"]
        done = subprocess.run([*runas, *start], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
            return _Server(url, root, pg_ctl, runas)
        errors = done.stderr
    log = root / "server.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    shutil.rmtree(root, ignore_errors=True)
    pytest.fail(f"PostgreSQL did not start: {errors}\n{tail}")


def _run(command: list[str], root: Path) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def _server_url(config: pytest.Config) -> str:
    global _SERVER
    if _SERVER is None:
        configured = os.environ.get(PG_ENV)
        _SERVER = _Server(configured) if configured else _start_server()
        config.add_cleanup(_SERVER.stop)
    return _SERVER.base_url


def _new_database(request: pytest.FixtureRequest) -> str:
    """Create an empty database for one test and drop it (closing its sessions) afterwards."""
    server = _server_url(request.config)
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        for engine in list(_ENGINES):
            if engine.url.database == name:
                engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", name="pg_server")
def pg_server_fixture(request: pytest.FixtureRequest) -> str:
    """The admin URL of the PostgreSQL server that lives for the whole session."""
    return _server_url(request.config)


@pytest.fixture(name="pg_url")
def pg_url_fixture(request: pytest.FixtureRequest) -> str:
    """A URL to a fresh, empty database on the test server, dropped after the test."""
    return _new_database(request)


@pytest.fixture(name="second_pg_url")
def second_pg_url_fixture(request: pytest.FixtureRequest) -> str:
    """Another fresh, empty database on the same server (a copy's or a restore's target)."""
    return _new_database(request)


@pytest.fixture(
    name="store_url", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty store: a SQLite file, then (second run) a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return _new_database(request)


# The fixtures' own names, for modules that prefer them; importing the ``*_fixture`` names avoids
# ruff's F811 (a test parameter named like an imported function).
pg_server = pg_server_fixture
pg_url = pg_url_fixture
second_pg_url = second_pg_url_fixture
store_url = store_url_fixture
