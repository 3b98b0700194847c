"""Build smtql's demo project: a real Sumatra project with a few thousand records.

``build_project(DIR)`` makes a git working copy with a committed ``main.py``,
``scripts/train.py`` and two parameter files, runs Sumatra's own ``smt init``
(``sumatra.commands.init``) and one or two real ``smt run`` invocations (the
``smt`` command line, in subprocesses), and then adds ``make_records(...)`` --
real :class:`sumatra.records.Record` objects -- saved with Sumatra's own
``RecordStore.save``, in one transaction.

Sumatra's Django record store only keeps tags right while it is the process's
*first* Django database (see DESIGN.md), so everything that opens a Django
store runs in a child process by default (``python -m smtql.demo build DIR``),
one store per process; this module's own entry point is that child.

Command line::

    python -m smtql.demo build DIR [--records N] [--seed S] [--store URI]
                                   [--project NAME] [--runs K | --no-runs] [--quiet]
    python -m smtql.demo clear --store URI [--project NAME]

``--store`` takes a path to an SQLite file, a path ending in ``.shelf`` (a
shelve store), ``postgres://user@host/db`` or ``mysql://user@host/db``.

The synthetic records are deterministic given ``(n, seed)``: the same labels,
timestamps, tags, parameters and other fields every time.  The real runs are
not: they carry the time at which the demo was built.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time
from typing import Sequence


# The builder's interface is this module: what its parts make is named here too.
from .common import _PACKAGE_PARENT, DEMO_PROJECT, MARKER, DemoError, NotADemoDirectory
from .records import make_records
from .repository import _HISTORY, _git_history, _make_git_repository  # noqa: F401
from .stores import (_check_first_database, _clear_project, _install_mysql_driver,  # noqa: F401
                     _normalise_store, _quiet_django, _store_kind, save_records)

# --------------------------------------------------------------------------
# Building the project
# --------------------------------------------------------------------------

# `smt` itself, preceded (for MySQL/MariaDB stores) by the PyMySQL stand-in for
# mysqlclient that Django's MySQL backend needs; see _install_mysql_driver.
_SMT_BOOT = """\
import sys
if sys.argv[1] == "--mysql":
    del sys.argv[1]
    try:
        import MySQLdb
    except ImportError:
        import pymysql
        if getattr(pymysql, "version_info", (0,)) < (2, 2, 1):
            pymysql.version_info = (2, 2, 1, "final", 0)
        pymysql.install_as_MySQLdb()
from sumatra.cli.smt import smt
sys.exit(smt())
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(_PACKAGE_PARENT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def _smt(directory: pathlib.Path, store_uri: str | None, *args: str) -> str:
    """Run Sumatra's own ``smt`` command line in a subprocess (the MySQL driver shim first if needed)."""
    shim = ["--mysql"] if _store_kind(store_uri) == "mysql" else []
    cmd = [sys.executable, "-c", _SMT_BOOT, *shim, *args]
    proc = subprocess.run(cmd, cwd=directory, env=_child_env(), capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or "Traceback (most recent call last)" in proc.stderr or out.startswith("Error:"):
        raise DemoError("smt %s failed (exit %s):\n%s" % (" ".join(args), proc.returncode, out.strip()))
    return out


def _smt_init(directory: pathlib.Path, store_uri: str | None, argv: list[str]) -> None:
    """``smt init ARGV`` in ``directory``, through Sumatra's own ``sumatra.commands.init``.

    In this process rather than a child: it saves a second start of Sumatra
    (whose import alone costs about a second: ``parameters`` imports SciPy),
    and the store it opens is the one this process saves into next, so it is
    this process's first Django database either way.
    """
    if _store_kind(store_uri) == "mysql":
        _install_mysql_driver()
    _quiet_django()
    import io
    import warnings

    showwarning = warnings.showwarning
    from sumatra import commands  # replaces warnings.showwarning with a print() on import

    warnings.showwarning = showwarning

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            commands.init(argv)
    except SystemExit as exc:  # argparse's parser.error
        raise DemoError("smt init %s failed (exit %s):\n%s" % (" ".join(argv), exc.code,
                                                                (out.getvalue() + err.getvalue()).strip()))
    except Exception as exc:
        raise DemoError("smt init %s failed: %s: %s\n%s" % (" ".join(argv), type(exc).__name__, exc,
                                                             (out.getvalue() + err.getvalue()).strip()))
    finally:
        os.chdir(cwd)
    if not (directory / ".smt" / "project").is_file():
        raise DemoError("smt init did not create %s" % (directory / ".smt" / "project"))


_REAL_RUNS = (
    ("-r", "real run: baseline with the default parameters", "-t", "baseline", "default.param"),
    ("-r", "real run: train.py with the YAML config, seed 3", "-t", "figure1", "-m", "scripts/train.py",
     "config.yaml", "--seed", "3"),
)


def _is_demo_dir(directory: pathlib.Path) -> bool:
    try:
        return json.loads((directory / MARKER).read_text()).get("builder") == "smtql.demo"
    except (OSError, ValueError, AttributeError):
        return False


def _check_directory(directory: pathlib.Path) -> None:
    """Raise NotADemoDirectory unless ``directory`` is missing, empty or an earlier demo project."""
    if directory.exists() or directory.is_symlink():
        if not directory.is_dir():
            raise NotADemoDirectory(f"{directory} exists and is not a directory")
        if not _is_demo_dir(directory) and any(directory.iterdir()):
            raise NotADemoDirectory(
                f"{directory} exists and is not an earlier smtql demo project (no {MARKER}); "
                "refusing to build the demo there: choose a new or empty directory")


def _prepare_directory(directory: pathlib.Path) -> None:
    _check_directory(directory)
    if directory.is_dir() and _is_demo_dir(directory):
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


def build_project(directory, *, n_records: int = 2500, seed: int = 0, store_uri: str | None = None,
                  real_runs: int = 2, project_name: str = DEMO_PROJECT,
                  in_process: bool = False, progress=None) -> pathlib.Path:
    """Build the demo project in ``directory`` and return its (absolute) path.

    Makes ``directory`` (an existing earlier demo project is rebuilt from
    scratch; any other non-empty directory is refused with
    ``NotADemoDirectory``), commits the demo scripts to a new git repository,
    runs ``smt init`` (``--store store_uri`` when given: an SQLite path,
    ``*.shelf``, ``postgres://…`` or ``mysql://…``; an earlier copy of the
    project in that store is deleted first), ``real_runs`` real ``smt run``
    invocations (0-2 differ; more repeat them), then saves
    ``make_records(n_records, seed)`` with ``RecordStore.save``.

    By default the work runs in a child process (``python -m smtql.demo
    build``), so that the caller's process never opens a Django store; pass
    ``in_process=True`` to do it here (this process must not have used
    another Sumatra Django store). ``progress(line)``, if given, receives
    each step as the child finishes it (``TRANSIENT`` marks the lines that
    only say how far a long step has got).
    """
    directory = pathlib.Path(directory).expanduser().absolute()
    store_uri = _normalise_store(store_uri)
    _store_kind(store_uri)  # rejects unsupported stores early
    _check_directory(directory)
    if n_records < 0 or real_runs < 0:
        raise ValueError("n_records and real_runs must be >= 0")
    if not in_process:
        cmd = [sys.executable, "-m", "smtql.demo", "build", str(directory), "--records", str(n_records),
               "--seed", str(seed), "--runs", str(real_runs), "--project", project_name]
        if store_uri:
            cmd += ["--store", store_uri]
        _run_child(cmd + ([] if progress else ["--quiet"]), progress)
        return directory.resolve()
    return _build(directory, n_records=n_records, seed=seed, store_uri=store_uri,
                  real_runs=real_runs, project_name=project_name)


#: The start of a progress line that a later one replaces (records saved so far).
TRANSIENT = "… "
_ERROR = "smtql demo: "  # how the child says it failed (main, below)


def _run_child(cmd: list[str], progress) -> None:
    """Run the builder child; hand each of its progress lines (stderr) to
    ``progress`` as it comes; raise DemoError with what it said if it fails."""
    proc = subprocess.Popen(cmd, env=_child_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    said = []
    for line in proc.stderr:
        line = line.rstrip("\n")
        if progress and not line.startswith(_ERROR) and not said:
            progress(line)
        else:  # an error, and whatever follows it
            said.append(line[len(_ERROR):] if line.startswith(_ERROR) else line)
    if proc.wait() != 0:
        raise DemoError("\n".join(said).strip() or "building the demo failed")


def _build(directory: pathlib.Path, *, n_records: int, seed: int, store_uri: str | None,
           real_runs: int, project_name: str, log=lambda msg: None) -> pathlib.Path:
    t0 = time.perf_counter()
    _check_first_database(store_uri if store_uri is not None
                          else str(directory.resolve() / ".smt" / "records"))
    _prepare_directory(directory)
    directory = directory.resolve()
    (directory / ".smt").mkdir()  # also keeps `smt` from finding a project above DIR
    (directory / MARKER).write_text(json.dumps({
        "builder": "smtql.demo", "project": project_name, "store": store_uri,
        "records": n_records, "seed": seed, "real_runs": real_runs,
    }, indent=2) + "\n")
    _make_git_repository(directory)
    log("git repository made: %.1f s" % (time.perf_counter() - t0))

    if store_uri is not None:
        if _store_kind(store_uri) in ("sqlite", "shelve"):
            # Sumatra falls back to an SQLite store when a shelf cannot be opened,
            # e.g. in a missing directory, and names that file *.shelf.
            pathlib.Path(store_uri).parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        n_old = _clear_project(store_uri, project_name)
        if n_old:
            log("deleted %d earlier records of %r from %s: %.2f s"
                % (n_old, project_name, store_uri, time.perf_counter() - t))

    t = time.perf_counter()
    init = ["-e", sys.executable, "-m", "main.py", "-d", "."]
    if store_uri is not None:
        init += ["-s", store_uri]
    _smt_init(directory, store_uri, [*init, project_name])
    log("smt init: %.1f s" % (time.perf_counter() - t))

    # The real runs are subprocesses; make the synthetic records meanwhile.
    failures: list[BaseException] = []

    def real_runs_() -> None:
        try:
            for i in range(real_runs):
                t = time.perf_counter()
                args = list(_REAL_RUNS[i % len(_REAL_RUNS)])
                if "-m" in args:
                    args = ["-e", sys.executable] + args
                _smt(directory, store_uri, "run", *args)
                log("smt run %d of %d: %.1f s" % (i + 1, real_runs, time.perf_counter() - t))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            failures.append(exc)

    runner = threading.Thread(target=real_runs_, name="smt-run")
    runner.start()
    try:
        t, c = time.perf_counter(), time.process_time()
        files: dict[str, bytes] = {}
        records = make_records(n_records, seed, project_dir=directory, files=files)
        log("%d synthetic records made: %.1f s (cpu %.1f s)"
            % (n_records, time.perf_counter() - t, time.process_time() - c))
    finally:
        runner.join()
    if failures:
        raise failures[0]
    # Only now: `smt run` lists as a run's outputs every file of the data
    # store (the project) newer than the run's start, and hashes each.
    write_files(directory, files)

    from sumatra.projects import load_project

    t, c = time.perf_counter(), time.process_time()
    project = load_project(str(directory))
    save_records(project.record_store, project.name, records,
                 progress=lambda done, total: log(f"{TRANSIENT}saving records: {done} of {total}"))
    log("%d records saved with Sumatra's RecordStore.save: %.1f s (cpu %.1f s)"
        % (len(records), time.perf_counter() - t, time.process_time() - c))
    log("total: %.1f s" % (time.perf_counter() - t0))
    return directory


def write_files(directory: pathlib.Path, files: dict) -> None:
    """The runs' result files, in the data store (the project directory)."""
    for relpath, content in files.items():
        path = directory / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


# --------------------------------------------------------------------------
# Entry point: python -m smtql.demo DIR ...
# --------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smtql.demo",
                                     description="Build smtql's demo Sumatra project.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build (or rebuild) the demo project in DIR")
    b.add_argument("directory", metavar="DIR")
    b.add_argument("--records", type=int, default=2500, metavar="N", help="synthetic records (default 2500)")
    b.add_argument("--seed", type=int, default=0, metavar="S")
    b.add_argument("--store", metavar="URI", default=None,
                   help="record store: SQLite path, *.shelf, postgres://..., mysql://... "
                        "(default: the project's .smt/records)")
    b.add_argument("--project", default=DEMO_PROJECT, metavar="NAME")
    runs = b.add_mutually_exclusive_group()
    runs.add_argument("--runs", type=int, default=2, metavar="K", help="real smt runs (default 2)")
    runs.add_argument("--no-runs", dest="runs", action="store_const", const=0)
    b.add_argument("--quiet", action="store_true", help="print only errors")
    b.add_argument("--debug", action="store_true", help="show a traceback on errors")
    c = sub.add_parser("clear", help="delete a project's records from a record store")
    c.add_argument("--store", metavar="URI", required=True)
    c.add_argument("--project", default=DEMO_PROJECT, metavar="NAME")
    args = parser.parse_args(argv)

    if args.command == "clear":
        try:
            n = _clear_project(_normalise_store(args.store), args.project)
        except DemoError as exc:
            print("smtql demo: %s" % exc, file=sys.stderr)
            return 1
        print("deleted %d records of %r" % (n, args.project))
        return 0
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        path = _build(pathlib.Path(args.directory).expanduser().absolute(), n_records=args.records,
                      seed=args.seed, store_uri=_normalise_store(args.store),
                      real_runs=args.runs, project_name=args.project, log=log)
    except DemoError as exc:
        if args.debug:
            raise
        print(_ERROR + str(exc), file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. the database server went away
        if args.debug:
            raise
        print(_ERROR + "%s: %s" % (type(exc).__name__, exc), file=sys.stderr)
        return 1
    if not args.quiet:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
