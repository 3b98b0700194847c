"""Tests of the demo project builder (smtql/demo/).

Every project is read back through Sumatra's own API (``load_project``,
``record_store.list``/``get``) in a child process: Sumatra's Django store is
only right as the first database of a process, so this test process never
opens one. PostgreSQL and MariaDB tests skip when the server is absent, and
fail instead when SMTQL_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from smtql.demo import build as demo

REPO = Path(__file__).resolve().parents[2]
N, SEED = 60, 5
STATUS_TAGS = {"_initialized_", "_running_", "_crashed_", "_killed_", "_finished_"}
REAL_LABEL = re.compile(r"^\d{8}-\d{6}$")

# Runs in a child process: prints one JSON line describing every record, as
# Sumatra reads it back.
READ_BACK = textwrap.dedent(r'''
    import datetime, json, sys
    if sys.argv[2] == "mysql":  # Django's MySQL backend through PyMySQL
        from smtql.demo.build import _install_mysql_driver
        _install_mysql_driver()
    from sumatra.projects import load_project

    def plain(value):
        if hasattr(value, "as_dict"):
            value = value.as_dict()
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return {"tuple": [plain(v) for v in value]}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, (datetime.date, datetime.datetime)):
            return {type(value).__name__: value.isoformat()}
        return value

    project = load_project(sys.argv[1])
    store = project.record_store
    out = []
    for r in store.list(project.name):
        out.append({
            "label": r.label, "timestamp": r.timestamp.isoformat(), "tags": sorted(r.tags),
            "ptype": type(r.parameters).__name__, "params": plain(r.parameters),
            "duration": r.duration, "reason": r.reason, "outcome": r.outcome,
            "main_file": r.main_file, "version": r.version, "user": r.user,
            "script_arguments": r.script_arguments, "stdout_stderr": r.stdout_stderr,
            "outputs": [[k.path, k.digest] for k in r.output_data],
        })
    some = sorted(r["label"] for r in out)[len(out) // 2]
    got = store.get(project.name, some)
    print("JSON:" + json.dumps({
        "project": project.name, "store": type(store).__name__, "records": out,
        "get": [got.label, sorted(got.tags)],
        "figure1": sorted(store.labels(project.name, tags="figure1")),
    }))
    if len(sys.argv) > 3:  # then delete the project from its (shared server) store
        from smtql.demo.build import _clear_project
        _clear_project(sys.argv[3], project.name)
''')


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _read_back_cmd(project_dir: Path, kind: str, clear_uri: str | None = None) -> list[str]:
    return [sys.executable, "-c", READ_BACK, str(project_dir), kind, *([clear_uri] if clear_uri else [])]


def _parse(proc_stdout: str) -> dict:
    line = [x for x in proc_stdout.splitlines() if x.startswith("JSON:")][-1]
    return json.loads(line[5:])


def read_back(project_dir: Path, kind: str = "sqlite") -> dict:
    proc = subprocess.run(_read_back_cmd(project_dir, kind), capture_output=True, text=True, env=_env(),
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return _parse(proc.stdout)


def _build_cmd(directory: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "smtql.demo", "build", str(directory), "--quiet", *args]


def _available(port: int, driver: str) -> str | None:
    """None if a server listens on 127.0.0.1:port and its driver imports, else why not."""
    try:
        __import__(driver)
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return None
    except (OSError, ImportError) as exc:
        return str(exc)


def require_server(kind: str, builds: dict) -> None:
    """Skip (or fail, with SMTQL_REQUIRE_SERVERS=1) when the server was not there."""
    why = builds["unavailable"].get(kind)
    if why is not None:
        port, _, what, _ = SERVERS[kind]
        message = f"{what} not available on 127.0.0.1:{port}: {why}"
        if os.environ.get("SMTQL_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)


def synthetic(data: dict) -> list[dict]:
    return [r for r in data["records"] if not REAL_LABEL.match(r["label"]) or r["timestamp"] < "2022"]


def real(data: dict) -> list[dict]:
    return [r for r in data["records"] if r not in synthetic(data)]


def get_path(params, path: str):
    for part in path.split("."):
        params = params[int(part)] if isinstance(params, list) else params[part]
    return params


SERVERS = {
    "postgres": (5432, "psycopg2", "PostgreSQL", "postgres://root@127.0.0.1/test"),
    "mysql": (3306, "pymysql", "MariaDB", "mysql://root@127.0.0.1/test"),
}
SERVER_PROJECT = "smtqldemo_test_%d" % os.getpid()


def _wait(proc: subprocess.Popen, what: str) -> str:
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, f"{what} failed:\n{err}"
    return out


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Build every project of this module, the child-process ones side by side, then read them back.

    - sqlite: build_project() itself, 2 real runs (the other builds run meanwhile);
    - rebuild: a small demo, a stray file, then a rebuild in the same directory
      (read with sqlite3 only);
    - shelve: a *.shelf store;
    - postgres / mysql: a small build, then the real one with the same project
      name, which must replace it (idempotent rebuild), 1 real run.
    """
    root = tmp_path_factory.mktemp("demo")
    env = _env()
    jobs: dict[str, subprocess.Popen] = {}
    cleared: set[str] = set()  # server stores whose read-back also emptied them

    def start(name: str, *commands: list[str]) -> None:
        script = " && ".join(shlex.join(c) for c in commands)
        jobs[name] = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env)

    unavailable = {}
    for kind, (port, driver, _, uri) in SERVERS.items():
        unavailable[kind] = _available(port, driver)
        if unavailable[kind] is None:
            start(kind,
                  _build_cmd(root / kind, "--records", "9", "--seed", str(SEED + 1), "--store", uri,
                             "--no-runs", "--project", SERVER_PROJECT),
                  _build_cmd(root / kind, "--records", str(N), "--seed", str(SEED), "--store", uri,
                             "--runs", "1", "--project", SERVER_PROJECT))
    start("rebuild",
          _build_cmd(root / "rebuild", "--records", "7", "--seed", "1", "--no-runs"),
          ["touch", str(root / "rebuild" / "stray.txt")],
          _build_cmd(root / "rebuild", "--records", "12", "--seed", "2", "--no-runs"))
    start("shelve", _build_cmd(root / "shelve", "--records", "15", "--seed", str(SEED), "--no-runs",
                               "--store", str(root / "shelve-store" / "records.shelf")))
    try:
        steps: list[str] = []
        sqlite_path = demo.build_project(root / "sqlite", n_records=N, seed=SEED, real_runs=2,
                                         progress=steps.append)
        assert sqlite_path == (root / "sqlite").resolve()
        for name, proc in jobs.items():
            _wait(proc, "building " + name)
        readers = {}
        for name in ["sqlite", "shelve", *(k for k in SERVERS if k in jobs)]:
            kind, uri = (name, SERVERS[name][3]) if name in SERVERS else ("sqlite", None)
            readers[name] = subprocess.Popen(_read_back_cmd(root / name, kind, uri), stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True, env=env)
        data = {name: _parse(_wait(proc, "reading " + name)) for name, proc in readers.items()}
        cleared.update(k for k in SERVERS if k in readers)
        yield {"root": root, "paths": {name: root / name for name in [*readers, "rebuild"]}, "data": data,
               "unavailable": unavailable, "steps": steps}
    finally:
        for proc in jobs.values():
            if proc.poll() is None:
                proc.kill()
        cleaners = [subprocess.Popen([sys.executable, "-m", "smtql.demo", "clear", "--store", SERVERS[k][3],
                                      "--project", SERVER_PROJECT],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                    for k in SERVERS if k in jobs and k not in cleared]
        for proc in cleaners:
            proc.wait(timeout=300)


@pytest.fixture(scope="module")
def sqlite_project(builds) -> tuple[Path, dict]:
    return builds["paths"]["sqlite"].resolve(), builds["data"]["sqlite"]


# ---------------------------------------------------------------- SQLite --

def test_sqlite_counts_and_real_runs(sqlite_project):
    path, data = sqlite_project
    assert path.is_dir() and (path / ".smt" / "project").is_file() and (path / ".git").is_dir()
    assert data["project"] == demo.DEMO_PROJECT and data["store"] == "DjangoRecordStore"
    assert len(data["records"]) == N + 2
    runs = real(data)
    assert len(runs) == 2
    for r in runs:  # made by `smt run` itself, end to end
        assert "_finished_" in r["tags"]
        assert r["duration"] is not None and r["duration"] > 0
        assert any(p.endswith("/summary.json") for p, _ in r["outputs"])
    assert {r["main_file"] for r in runs} == {"main.py", "scripts/train.py"}
    assert {r["ptype"] for r in runs} == {"NTParameterSet", "YAMLParameterSet"}
    by_main = {r["main_file"]: r for r in runs}
    assert "baseline" in by_main["main.py"]["tags"] and "figure1" in by_main["scripts/train.py"]["tags"]
    assert by_main["main.py"]["params"]["optimizer"]["betas"] == {"tuple": [0.9, 0.999]}
    assert by_main["scripts/train.py"]["script_arguments"] == "<parameters> --seed 3"


def test_sqlite_round_trip_matches_make_records(sqlite_project):
    path, data = sqlite_project
    made = demo.make_records(N, SEED, project_dir=path)
    stored = {r["label"]: r for r in synthetic(data)}
    assert sorted(stored) == sorted(r.label for r in made)
    for rec in made:
        got = stored[rec.label]
        assert got["timestamp"] == rec.timestamp.isoformat()
        assert got["tags"] == sorted(rec.tags)
        assert got["duration"] == rec.duration
        assert got["ptype"] == type(rec.parameters).__name__
        assert got["outputs"] == sorted([k.path, k.digest] for k in rec.output_data)
        assert (got["reason"], got["outcome"], got["main_file"], got["version"], got["user"],
                got["script_arguments"], got["stdout_stderr"]) == (
            rec.reason, rec.outcome, rec.main_file, rec.version, rec.user,
            rec.script_arguments, rec.stdout_stderr)
    assert data["get"][0] in stored or REAL_LABEL.match(data["get"][0])
    assert set(data["figure1"]) >= {r["label"] for r in data["records"] if "figure1" in r["tags"]}


def test_sqlite_variety(sqlite_project):
    _, data = sqlite_project
    records = synthetic(data)
    # exactly one status tag per record, all five present, mostly finished
    for r in records:
        assert len(STATUS_TAGS.intersection(r["tags"])) == 1, r["tags"]
    statuses = [next(t for t in r["tags"] if t in STATUS_TAGS) for r in records]
    assert set(statuses) == STATUS_TAGS
    assert statuses.count("_finished_") > len(records) / 2
    user_tags = {t for r in records for t in r["tags"]} - STATUS_TAGS
    assert user_tags >= {"figure1", "figure2", "baseline", "unfinished-review", "needs.check", "run-2", "μ-sweep"}
    assert any(len(r["tags"]) == 1 for r in records)  # no user tags
    # labels: YYYYMMDD-HHMMSS[_hex6], unique, some shared time parts, some without suffix
    labels = [r["label"] for r in records]
    assert len(set(labels)) == len(labels)
    assert all(re.fullmatch(r"\d{8}-\d{6}(_[0-9a-f]{6})?", lab) for lab in labels)
    assert any("_" not in lab for lab in labels)
    parts = [lab[:15] for lab in labels]
    assert any(parts.count(p) >= 2 for p in parts)
    # timestamps: UTC, Sept 2020 .. Sept 2021, on the documented days
    stamps = sorted(r["timestamp"] for r in records)
    assert stamps[0] >= "2020-09-01" and stamps[-1] < "2021-10-01"
    assert all(s.endswith("+00:00") for s in stamps)
    assert any(s.startswith("2020-09-12") for s in stamps) and any(s.startswith("2020-11-10") for s in stamps)
    assert "2020-09-12T00:00:00+00:00" in stamps
    # parameter-set classes, with several records sharing one set
    assert {r["ptype"] for r in records} == {"NTParameterSet", "JSONParameterSet", "YAMLParameterSet",
                                              "SimpleParameterSet", "ConfigParserParameterSet"}
    contents = [json.dumps(r["params"], sort_keys=True) for r in records]
    assert len(set(contents)) < 0.8 * len(contents)
    # task-nested sets keep the full inputs path; plain ones the short one
    nested = [r for r in records if "taskname" in r["params"]]
    flat = [r for r in records if "optimizer" in r["params"] and r["ptype"] != "ConfigParserParameterSet"]
    assert nested and flat
    for r in nested:
        mu = get_path(r["params"], "inputs.optimizer.inputs.model.inputs.params.μtilde")
        assert isinstance(mu, list) and len(mu) == 2
    for r in flat:
        assert len(get_path(r["params"], "optimizer.model.params.μtilde")) == 2
    good = [-3.4729471730413772, -0.13678844546243388]
    assert any(get_path(r["params"], "optimizer.model.params.μtilde") == good for r in flat)
    assert {get_path(r["params"], "optimizer.model.kind") for r in flat} <= {"gru", "lstm", "rnn"}
    nt = [r for r in flat if r["ptype"] == "NTParameterSet"]
    assert all(isinstance(get_path(r["params"], "optimizer.model.layers.0.size"), int) for r in nt)
    assert all(r["params"]["optimizer"]["betas"]["tuple"] for r in nt)  # NTParameterSet keeps tuples
    assert any("learning-rate" in r["params"] for r in nt)
    assert any("status" in r["params"] or "label" in r["params"] for r in flat)
    # YAML read by PyYAML: dates are dates, `yes` is true
    yaml_sets = [r for r in records if r["ptype"] == "YAMLParameterSet"]
    assert any("date" in json.dumps(r["params"]) for r in yaml_sets)
    assert any(r["params"].get("augment") in (True, False) for r in yaml_sets)
    # ConfigParser sets hold strings only
    for r in records:
        if r["ptype"] == "ConfigParserParameterSet":
            assert isinstance(r["params"]["optimizer"]["lr"], str)
    # other fields
    durations = [r["duration"] for r in records]
    assert None in durations
    assert all(1 <= d <= 30 * 3600 for d in durations if d is not None)
    assert any("Traceback (most recent call last):" in r["stdout_stderr"] for r in records)
    assert any("\n" in r["reason"] for r in records) and any("lr" in r["reason"] for r in records)
    assert {"converged", ""} <= {r["outcome"] for r in records}
    assert {r["main_file"] for r in records} == {"main.py", "scripts/train.py"}
    assert 2 <= len({r["version"] for r in records}) <= 4
    assert len({r["user"] for r in records}) >= 2
    n_out = [len(r["outputs"]) for r in records]
    assert min(n_out) == 0 and max(n_out) <= 6  # four binary files, loss.csv, metrics.json
    assert all(p.startswith("out/%s/" % r["label"]) for r in records for p, _ in r["outputs"])


def test_sqlite_runs_wrote_their_output_files(sqlite_project):
    """Every output a synthetic record lists is a file its run wrote, with
    that digest, except about one run in eight whose files were removed
    since; finished runs have a metrics.json (final loss and accuracy)."""
    import hashlib
    path, data = sqlite_project
    records = synthetic(data)
    on_disk = {r["label"]: [(path / p).is_file() for p, _ in r["outputs"]] for r in records}
    kept = [r for r in records if r["outputs"] and all(on_disk[r["label"]])]
    gone = [r for r in records if r["outputs"] and not any(on_disk[r["label"]])]
    assert kept and gone and len(gone) < len(kept) / 3
    assert all(all(v) or not any(v) for v in on_disk.values())  # a run's files go together
    for r in kept:
        for p, digest in r["outputs"]:
            assert hashlib.sha1((path / p).read_bytes()).hexdigest() == digest
    for r in records:
        if "_finished_" in r["tags"]:
            assert any(p.endswith("/metrics.json") for p, _ in r["outputs"]), r["label"]
    metrics = [json.loads((path / p).read_text()) for r in kept for p, _ in r["outputs"]
               if p.endswith("/metrics.json")]
    assert metrics and all(set(m) == {"loss", "accuracy", "epochs"} for m in metrics)
    assert any(m["loss"] < 0.1 for m in metrics) and any(m["loss"] >= 0.1 for m in metrics)


def test_project_git_history_is_reproducible(sqlite_project):
    path, data = sqlite_project
    versions = {r["version"] for r in data["records"]}
    log = subprocess.run(["git", "log", "--format=%H"], cwd=path, capture_output=True, text=True).stdout.split()
    assert versions <= set(log) and len(log) == len(demo._HISTORY)
    assert log[-1] == demo._git_history(path)[0][1]


# ------------------------------------------------------------ no database --

def test_make_records_is_deterministic(tmp_path):
    a = demo.make_records(40, seed=3, project_dir=tmp_path)
    b = demo.make_records(40, seed=3, project_dir=tmp_path)
    c = demo.make_records(40, seed=4, project_dir=tmp_path)

    def key(records):
        return [(r.label, r.timestamp, sorted(r.tags), type(r.parameters).__name__, str(r.parameters),
                 r.duration, r.reason, r.outcome, [k.path for k in r.output_data]) for r in records]

    assert key(a) == key(b)
    assert [r.label for r in a] != [r.label for r in c]
    assert len(a) == 40 and len(demo.make_records(0, project_dir=tmp_path)) == 0
    assert [r.timestamp for r in a] == sorted(r.timestamp for r in a)


def test_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(demo.NotADemoDirectory):
        demo.build_project(tmp_path, n_records=1, real_runs=0)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
    with pytest.raises(demo.NotADemoDirectory):
        demo.build_project(tmp_path / "precious.txt", n_records=1, real_runs=0)


def test_rebuild_replaces_an_earlier_demo(builds):
    directory = builds["paths"]["rebuild"]
    assert not (directory / "stray.txt").exists()
    assert demo._is_demo_dir(directory)
    with sqlite3.connect(directory / ".smt" / "records") as db:  # the default store
        labels = sorted(label for (label,) in db.execute("SELECT label FROM django_store_record"))
    assert labels == sorted(r.label for r in demo.make_records(12, 2, project_dir=directory))


def test_shelve_store(builds):
    path, data = builds["paths"]["shelve"], builds["data"]["shelve"]
    assert data["store"] == "ShelveRecordStore"
    assert (builds["root"] / "shelve-store").is_dir()
    assert sorted(r["label"] for r in data["records"]) == sorted(
        r.label for r in demo.make_records(15, SEED, project_dir=path))
    assert all(len(STATUS_TAGS.intersection(r["tags"])) == 1 for r in data["records"])


# ---------------------------------------------------- PostgreSQL, MariaDB --

@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_server_store(kind, builds, sqlite_project):
    require_server(kind, builds)
    data = builds["data"][kind]
    assert data["project"] == SERVER_PROJECT
    assert len(data["records"]) == N + 1  # the first, smaller build is gone
    (run,) = real(data)
    assert "_finished_" in run["tags"] and "baseline" in run["tags"]
    # the same synthetic content as in SQLite (collations, time zones, text types)
    _, sqlite_data = sqlite_project
    mine = sorted(synthetic(data), key=lambda r: r["label"])
    theirs = sorted(synthetic(sqlite_data), key=lambda r: r["label"])
    assert len(mine) == len(theirs) == N
    for a, b in zip(mine, theirs):
        assert a == b


# ---------------------------------------------------------------- progress --

def test_build_reports_each_step_as_the_child_finishes_it(builds):
    """Issue 12, item 5: the builder child's steps reach the caller's
    `progress` one by one (the tour prints them on stderr)."""
    steps = builds["steps"]
    for word in ("git repository made", "smt init", "smt run 1 of 2", "smt run 2 of 2",
                 f"{N} synthetic records made", f"{N} records saved", "total"):
        assert any(s.startswith(word) for s in steps), (word, steps)
    assert not any(s.startswith("smtql demo:") for s in steps)


def _read_all(fd: int, quiet: float = 0.5) -> bytes:
    """What a pseudo-terminal holds, read until nothing more comes for
    `quiet` seconds (one read may return only the first writes)."""
    import select
    got = b""
    while select.select([fd], [], [], quiet)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        got += chunk
    return got


def test_progress_at_a_terminal_is_one_line_rewritten():
    """At a terminal (a real pseudo-terminal here) each step rewrites one
    line, the counts of records saved too, and the line is cleared at the
    end; through a pipe the same steps are lines, without the counts."""
    import io
    import pty
    from smtql.demo.tour import Progress
    from smtql.frontends.options import is_terminal
    master, slave = pty.openpty()
    with os.fdopen(slave, "w", encoding="utf-8") as tty:
        progress = Progress(tty, live=is_terminal(tty))
        for line in ("smt init: 0.5 s", "… saving records: 250 of 2500", "total: 9.0 s"):
            progress(line)
        progress.done()
        tty.flush()
        seen = _read_all(master).decode("utf-8")
    os.close(master)
    assert seen == ("\r\x1b[K  smt init: 0.5 s\r\x1b[K  … saving records: 250 of 2500"
                    "\r\x1b[K  total: 9.0 s\r\x1b[K")
    pipe = io.StringIO()
    progress = Progress(pipe, live=is_terminal(pipe))
    for line in ("smt init: 0.5 s", "… saving records: 250 of 2500", "total: 9.0 s"):
        progress(line)
    progress.done()
    assert pipe.getvalue() == "  smt init: 0.5 s\n  total: 9.0 s\n"
