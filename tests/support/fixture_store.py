"""A small, fixed store for renderer and diff tests: seven hand-written
records (two sharing a timestamp part, one without a suffix, one with task
descriptions in its parameters, a missing key and a stored null, long and
multi-line text, an unreadable parameter set), and record objects with
what `describe` and a two-record `diff` read. Nothing random, no database."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from smtql.params.model import Unreadable
from smtql.stores.rows import Row
from smtql.stores.base import Store

NOW = datetime(2020, 10, 1, tzinfo=timezone.utc)


def _ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)


def _model(kind="lstm", sizes=(128,)):
    return {"kind": kind, "layers": [{"size": s} for s in sizes]}


def _rows() -> list[Row]:
    task_params = {  # smttask task descriptions: keys fold through `inputs`
        "taskname": "Train", "module": "tasks",
        "inputs": {"seed": 1, "data": {"dataset": "sine"},
                   "optimizer": {"taskname": "Optimizer", "module": "tasks",
                                 "inputs": {"lr": 0.001, "model": _model()}}}}
    spec = [
        # label, tags, reason, outcome, main_file, version, duration, params, extra
        ("20200912-101500_aaaaaa", {"_finished_", "figure1"}, "sweep lr", "converged",
         "scripts/train.py", "1111111", 754.0,
         {"seed": 1, "data": {"dataset": "sine", "subset": None},
          "optimizer": {"lr": 0.01, "model": _model()}}, {}),
        ("20200912-101500_bbbbbb", {"_finished_", "figure1"}, "sweep lr", "diverged",
         "scripts/train.py", "1111111", 800.0,
         {"seed": 2, "data": {"dataset": "sine", "subset": None},
          "optimizer": {"lr": 0.01, "model": _model()}}, {}),
        ("20200913-083000", {"_finished_", "figure1"}, "task version", "converged",
         "main.py", "2222222", None, task_params, {"script_arguments": "<parameters>"}),
        ("20200914-120000_cccccc", {"_finished_", "baseline", "figure1", "needs.check"},
         "Reviewer asked for more epochs.\nSee the notes of 2020-09-10.", "converged, slowly",
         "analysis/very/long/directory/name/for/the/scripts/train_model.py", "3333333", 90061.0,
         {"seed": 1, "learning-rate": 0.1, "status": "draft",
          "data": {"dataset": "lorenz", "subset": 1000},
          "optimizer": {"lr": 0.01, "model": _model("gru", (64, 32))}}, {"user": "Grace"}),
        ("20200915-090000_dddddd", {"_crashed_"}, "broken config", "", "main.py", "3333333",
         12.5, Unreadable("unbalanced brackets"), {"stdout_stderr": "Traceback …\nValueError"}),
        ("20200916-000000_eeeeee", {"_running_"}, "", "", "main.py", "3333333", None,
         {"seed": 3, "data": {"dataset": "sine", "subset": None},
          "optimizer": {"lr": 0.01, "model": _model()}}, {}),
    ]
    rows = []
    for label, tags, reason, outcome, main_file, version, duration, params, extra in spec:
        fields = dict(label=label, timestamp=_ts(label[:15]), tags=frozenset(tags), reason=reason,
                      outcome=outcome, main_file=main_file, version=version, user="Ada",
                      script_arguments="<parameters> --seed 1", stdout_stderr="epoch 1/2\nepoch 2/2",
                      duration=duration, outputpath=(f"out/{label}/summary.json",),
                      executable="/usr/bin/python3", repository="/home/ada/project", params=params)
        fields.update(extra)
        rows.append(Row(**fields))
    return rows


def _record(row: Row):
    from sumatra.datastore import DataKey
    from sumatra.launch import SerialLaunchMode
    dep_version = "1.26.0" if row.version == "3333333" else "1.24.1"
    created = row.timestamp.replace(tzinfo=None)
    return SimpleNamespace(
        label=row.label, tags=set(row.tags), duration=row.duration, repeats=None,
        diff="--- a/main.py\n+++ b/main.py\n+print('debug')" if row.label.startswith("20200913") else "",
        executable=SimpleNamespace(name="Python", version="3.11.7", path="/usr/bin/python3"),
        repository=SimpleNamespace(url="/home/ada/project"),
        launch_mode=SerialLaunchMode(working_directory="/home/ada/project"),
        datastore=SimpleNamespace(root="/home/ada/project/Data"),
        platforms=[SimpleNamespace(system_name="Linux", release="5.10.0", version="#1 SMP",
                                   machine="x86_64", processor="x86_64", architecture_bits="64bit",
                                   network_name="lab-3", ip_addr="10.0.0.3")],
        dependencies=[SimpleNamespace(name="numpy", version=dep_version, path="/usr/lib/numpy"),
                      SimpleNamespace(name="yaml", version="6.0.1", path="/usr/lib/yaml")],
        input_data=[DataKey("data/sine.csv", "9" * 40, created, mimetype="text/csv", size=2048)],
        output_data=[DataKey(f"out/{row.label}/summary.json",
                             (row.label[-6:] * 7)[:40], created, mimetype="application/json",
                             size=1_234_567),
                     DataKey("run.log", "0" * 40, created, mimetype="text/plain", size=10)],
    )


class FixedStore(Store):
    project = "fixed"
    location = "memory"

    def __init__(self, rows=None):
        self.rows = _rows() if rows is None else rows

    def scan(self, plan):
        return iter(self.rows)

    def records(self, rows):
        return [_record(r) for r in rows]


def run(program: str, store=None):
    """The result of the last statement of `program` on the fixed store."""
    from smtql.language import parser
    from smtql.executor import Executor
    results = list(Executor(store or FixedStore(), now=NOW).run(parser.parse(program)))
    return results[-1]
