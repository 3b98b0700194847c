"""Building Sumatra stores for the store tests, and reading them with
Sumatra's own API (the oracle), each in a subprocess.

Sumatra's Django store keeps tags right only as a process's first database
(DESIGN.md), so every store is built by `python -m smtql.demo build` in a
child process, and the oracle rows are read by another child through
`SumatraApiStore` (RecordStore.list) and handed back pickled. The pytest
process itself only ever opens stores with smtql's SQL backend, which does
not use Django.

Servers: PostgreSQL at postgres://root@127.0.0.1 and MariaDB at
mysql://root@127.0.0.1. Each test session gets its own databases
(`smtql_t<pid>_<n>`), dropped at exit. Tests needing a server skip with a
reason when it is absent, and fail instead when SMTQL_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = os.environ.get("SMTQL_TEST_POSTGRES", "postgres://root@127.0.0.1")
MYSQL_BASE = os.environ.get("SMTQL_TEST_MYSQL", "mysql://root@127.0.0.1")
KINDS = ("sqlite", "postgres", "mysql", "shelve")


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("SMTQL_ENGINE", None)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


# ------------------------------------------------------------------ servers

_server_checked: dict[str, str | None] = {}


def server_problem(kind: str) -> str | None:
    """None if the server answers, else why not."""
    if kind not in _server_checked:
        try:
            if kind == "postgres":
                import psycopg
                psycopg.connect(PG_BASE + "/postgres", connect_timeout=3).close()
            else:
                import pymysql
                from urllib.parse import urlparse
                u = urlparse(MYSQL_BASE)
                pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root",
                                password=u.password or "", connect_timeout=3).close()
            _server_checked[kind] = None
        except Exception as err:  # noqa: BLE001 - any failure means: not here
            _server_checked[kind] = f"{type(err).__name__}: {err}"
    return _server_checked[kind]


def require_server(kind: str) -> None:
    if kind not in ("postgres", "mysql"):
        return
    problem = server_problem(kind)
    if problem is None:
        return
    message = f"no {kind} server at {PG_BASE if kind == 'postgres' else MYSQL_BASE}: {problem}"
    if os.environ.get("SMTQL_REQUIRE_SERVERS") == "1":
        pytest.fail(message + " (SMTQL_REQUIRE_SERVERS=1)")
    pytest.skip(message)


_databases: list[tuple[str, str]] = []


def create_database(kind: str) -> str:
    """A fresh database on the server; its URI. Dropped when the process exits."""
    name = f"smtql_t{os.getpid()}_{len(_databases)}"
    if kind == "postgres":
        import psycopg
        with psycopg.connect(PG_BASE + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" ENCODING \'UTF8\'')
        uri = f"{PG_BASE}/{name}"
    else:
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
        uri = f"{MYSQL_BASE}/{name}"
    _databases.append((kind, name))
    return uri


def _mysql_admin():
    import pymysql
    from urllib.parse import urlparse
    u = urlparse(MYSQL_BASE)
    return pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root",
                           password=u.password or "", autocommit=True)


@atexit.register
def _drop_databases() -> None:
    for kind, name in _databases:
        try:
            if kind == "postgres":
                import psycopg
                with psycopg.connect(PG_BASE + "/postgres", autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            else:
                conn = _mysql_admin()
                with conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                conn.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


# ------------------------------------------------------------------ building stores

def store_uri(kind: str, directory: Path) -> str | None:
    if kind == "sqlite":
        return None  # the project's own .smt/records
    if kind == "shelve":
        return str(directory.parent / (directory.name + "-records.shelf"))
    require_server(kind)
    return create_database(kind)


def build_demo(kind: str, directory: Path, records: int, seed: int) -> Path:
    """A demo project (no real runs) whose store is of `kind`."""
    uri = store_uri(kind, directory)
    cmd = [sys.executable, "-m", "smtql.demo", "build", str(directory), "--records", str(records),
           "--seed", str(seed), "--no-runs", "--quiet"]
    if uri:
        cmd += ["--store", uri]
    proc = subprocess.run(cmd, env=child_env(), capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f"building a {kind} demo store failed:\n{proc.stderr}{proc.stdout}")
    return directory.resolve()


_ORACLE = textwrap.dedent("""\
    import pickle, sys
    from smtql.demo import build as demo
    from smtql.stores.registry import open_store, locate
    if "mysql" in locate(sys.argv[1]).uri:
        demo._install_mysql_driver()
    if locate(sys.argv[1]).kind == "django":
        demo._quiet_django()
    store = open_store(sys.argv[1], engine="api")
    rows = list(store.scan(None))
    for r in rows:
        r.handle = None
    sys.stdout.buffer.write(pickle.dumps(rows))
""")


def oracle_rows(project_dir: Path) -> list:
    """The project's records as Rows read by Sumatra's own API
    (RecordStore.list + smtql.stores.rows.from_record), in a child process."""
    proc = subprocess.run([sys.executable, "-c", _ORACLE, str(project_dir)], env=child_env(),
                          capture_output=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail("reading the store with Sumatra's API failed:\n"
                    + proc.stderr.decode(errors="replace"))
    return pickle.loads(proc.stdout)


def run_child(script: str, *args: str, timeout: int = 600) -> str:
    """Run a Python script in a child process (this checkout on the path)."""
    proc = subprocess.run([sys.executable, "-c", script, *args], env=child_env(),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"child process failed:\n{proc.stderr}{proc.stdout}")
    return proc.stdout


_built: dict = {}


def demo_store(kind: str, tmp_path_factory, records: int = 150, seed: int = 7):
    """(project_dir, oracle rows) of a demo store of `kind`, built once per
    process whatever the number of fixtures asking."""
    key = (kind, records, seed)
    if key not in _built:
        require_server(kind)
        directory = tmp_path_factory.mktemp(f"{kind}-demo") / "project"
        project = build_demo(kind, directory, records, seed)
        _built[key] = (project, oracle_rows(project))
    return _built[key]


# ------------------------------------------------------------------ an in-memory store

from smtql.stores.base import Store  # noqa: E402


class ListStore(Store):
    """Rows in a list: the reference engine (everything post-filtered)."""

    def __init__(self, rows, project="demo"):
        self.rows = list(rows)
        self.project = project
        self.location = "<rows>"

    def scan(self, plan):
        return iter(self.rows)

    def records(self, rows):
        return list(rows)
