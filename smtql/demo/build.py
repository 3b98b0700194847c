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
import datetime as _dt
import hashlib
import json
import math
import os
import pathlib
import random
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import sumatra.records
    import sumatra.recordstore

__all__ = [
    "DEMO_PROJECT",
    "DemoError",
    "NotADemoDirectory",
    "make_records",
    "build_project",
    "save_records",
    "main",
]

DEMO_PROJECT = "demo"

#: Marker written into every demo project; its presence is what allows a rebuild.
MARKER = pathlib.Path(".smt") / "smtql-demo.json"

_UTC = _dt.timezone.utc
_PACKAGE_PARENT = pathlib.Path(__file__).resolve().parent.parent


class DemoError(RuntimeError):
    """The demo project could not be built."""


class NotADemoDirectory(DemoError, FileExistsError):
    """The target directory exists, is not empty, and is not an earlier demo project."""


# --------------------------------------------------------------------------
# The git repository: file contents and a history with fixed dates, so that
# commit hashes (the records' ``version``) are the same on every build.
# --------------------------------------------------------------------------

_AUTHOR = ("Ada Lovelace", "ada@example.org")
_USERS = (
    ("Ada Lovelace <ada@example.org>", 50),
    ("Alan Turing <alan@example.org>", 35),
    ("Emmy Noether <emmy@example.org>", 15),
)

_GITIGNORE = "out/\n.smt/\n*.params\n*.yaml.run\n__pycache__/\n"

_README = """\
# smtql demo project

A toy training project managed with Sumatra (`smt`). It was made by
`python -m smtql.demo build`: two runs were real `smt run` invocations, the
other records were made with Sumatra's `Record` and `RecordStore.save`.
"""

_MAIN_V1 = '''\
"""Fit a small recurrent model (a demo: it only pretends to train)."""
import ast
import sys


def main(param_file):
    with open(param_file) as f:
        params = ast.literal_eval(f.read())
    print("loaded", param_file, "with", len(params), "top-level keys")


if __name__ == "__main__":
    main(sys.argv[1])
'''

_MAIN_V2 = '''\
"""Fit a small recurrent model (a demo: it only pretends to train).

Usage: python main.py PARAMETER_FILE [--seed N]
The parameter file is in NTParameterSet syntax (a Python dict literal).
"""
import ast
import json
import math
import os
import random
import sys


def train(params, seed):
    opt = params["optimizer"]
    rng = random.Random(seed)
    losses = []
    loss = 1.0
    for epoch in range(1, params["n_epochs"] + 1):
        loss *= math.exp(-opt["lr"] * 20) * (1 + 0.05 * rng.random())
        losses.append(loss)
        print("epoch %d/%d loss=%.4f" % (epoch, params["n_epochs"], loss))
    return losses


def main(argv):
    param_file = argv[1]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    with open(param_file) as f:
        params = ast.literal_eval(f.read())
    label = os.path.splitext(os.path.basename(param_file))[0]
    losses = train(params, seed)
    outdir = os.path.join("out", label)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "loss.csv"), "w") as f:
        f.write("epoch,loss\\n")
        for i, loss in enumerate(losses, 1):
            f.write("%d,%.6f\\n" % (i, loss))
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"final_loss": losses[-1], "epochs": len(losses)}, f)
    print("saved", outdir)


if __name__ == "__main__":
    main(sys.argv)
'''

_TRAIN = '''\
"""Train from a YAML configuration (a demo: it only pretends to train).

Usage: python scripts/train.py CONFIG.yaml [--seed N]
"""
import json
import os
import random
import sys

import yaml


def main(argv):
    config_file = argv[1]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 0
    with open(config_file) as f:
        config = yaml.safe_load(f)
    label = os.path.splitext(os.path.basename(config_file))[0]
    rng = random.Random(seed)
    n_epochs = config["n_epochs"]
    loss = 1.0
    for epoch in range(1, n_epochs + 1):
        loss *= 0.8 + 0.1 * rng.random()
        print("epoch %d/%d loss=%.4f" % (epoch, n_epochs, loss))
    outdir = os.path.join("out", label)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump({"final_loss": loss, "model": config["optimizer"]["model"]["kind"]}, f)
    print("saved", outdir)


if __name__ == "__main__":
    main(sys.argv)
'''

# NTParameterSet syntax. The tuple matters: Sumatra tries YAMLParameterSet
# first for a file with an unknown extension, and a dict literal without
# tuples is valid YAML (flow mapping) -- this file would then be read as YAML.
_DEFAULT_PARAM = """\
{
    "seed": 0,
    "n_epochs": 25,
    "optimizer": {
        "lr": 0.01,
        "betas": (0.9, 0.999),
        "model": {
            "kind": "gru",
            "layers": [{"size": 64}, {"size": 32}],
            "params": {"μtilde": [-3.4729471730413772, -0.13678844546243388]},
        },
    },
    "data": {"dataset": "lorenz", "batch_size": 64, "shuffle": True, "subset": None},
    "learning-rate": 0.01,
    "status": "draft",
}
"""

_CONFIG_YAML = """\
# training configuration (read by scripts/train.py)
seed: 3
n_epochs: 15
optimizer:
  lr: 0.001
  model:
    kind: lstm
    layers:
      - size: 128
        dropout: 0.1
    params:
      μtilde: [-3.4729471730413772, -0.13678844546243388]
data:
  dataset: sine
  batch_size: 32
  shuffle: yes
  snapshot: 2020-09-12
"""

# (date, message, files written at that commit)
_HISTORY: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("2020-08-31T17:02:11+00:00", "Start the demo project",
     {".gitignore": _GITIGNORE, "README.md": _README, "main.py": _MAIN_V1,
      "default.param": _DEFAULT_PARAM}),
    ("2020-10-05T09:41:27+00:00", "Train for real, write loss curves",
     {"main.py": _MAIN_V2}),
    ("2021-01-18T14:20:03+00:00", "Add scripts/train.py with a YAML config",
     {"scripts/train.py": _TRAIN, "config.yaml": _CONFIG_YAML}),
    ("2021-05-03T11:05:50+00:00", "Document the parameter files",
     {"README.md": _README + "\nParameters: `default.param` (NTParameterSet), `config.yaml`.\n"}),
)


def _git(directory: pathlib.Path, *args: str, env: dict[str, str] | None = None) -> str:
    cmd = ["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args]
    proc = subprocess.run(cmd, cwd=directory, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DemoError(f"git {' '.join(args)} failed in {directory}:\n{proc.stderr.strip()}")
    return proc.stdout


def _make_git_repository(directory: pathlib.Path) -> None:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("GIT_"):
            del env[key]
    _git(directory, "-c", "init.defaultBranch=main", "init", "-q", env=env)
    _git(directory, "config", "user.name", _AUTHOR[0], env=env)
    _git(directory, "config", "user.email", _AUTHOR[1], env=env)
    for date, message, files in _HISTORY:
        for name, text in files.items():
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            _git(directory, "add", name, env=env)
        commit_env = dict(env, GIT_AUTHOR_NAME=_AUTHOR[0], GIT_AUTHOR_EMAIL=_AUTHOR[1],
                          GIT_COMMITTER_NAME=_AUTHOR[0], GIT_COMMITTER_EMAIL=_AUTHOR[1],
                          GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
        _git(directory, "commit", "-q", "-m", message, env=commit_env)


def _git_history(project_dir: pathlib.Path) -> list[tuple[_dt.datetime, str]]:
    """(commit time, hash) of the first-parent history, oldest first; fixed fallbacks without git."""
    if not (project_dir / ".git").exists():  # not the history of some enclosing repository
        return [(_dt.datetime.fromisoformat(date), hashlib.sha1(message.encode()).hexdigest())
                for date, message, _ in _HISTORY]
    try:
        out = subprocess.run(["git", "log", "--first-parent", "--reverse", "--format=%ct %H"],
                             cwd=project_dir, capture_output=True, text=True, check=True).stdout
        history = [(_dt.datetime.fromtimestamp(int(ct), _UTC), sha)
                   for ct, sha in (line.split() for line in out.splitlines() if line.strip())]
    except (OSError, subprocess.CalledProcessError, ValueError):
        history = []
    return history or _git_history(project_dir / "-no-git-")


# --------------------------------------------------------------------------
# Synthetic records
# --------------------------------------------------------------------------

_START = _dt.datetime(2020, 9, 1, tzinfo=_UTC)
_DENSE_END = _dt.datetime(2020, 12, 1, tzinfo=_UTC)
_END = _dt.datetime(2021, 10, 1, tzinfo=_UTC)  # exclusive: records end on 2021-09-30
_SPECIAL_DAYS = (_dt.datetime(2020, 9, 12, tzinfo=_UTC), _dt.datetime(2020, 11, 10, tzinfo=_UTC))

_STATUSES = (("finished", 80), ("crashed", 8), ("killed", 4), ("running", 4), ("initialized", 4))
_USER_TAGS = (
    (None, 36), ("figure1", 12), ("figure2", 9), ("baseline", 12), ("unfinished-review", 8),
    ("needs.check", 8), ("run-2", 7), ("μ-sweep", 8),
)
_PARAM_FORMATS = (
    ("nt-plain", 38), ("nt-task", 30), ("json", 10), ("yaml", 10), ("simple", 6), ("config", 6),
)
_GOOD_MU = [-3.4729471730413772, -0.13678844546243388]
_OTHER_MU = ([-2.9, -0.25], [-3.4729471730413772, -0.5], [-1.0, 0.0], [-4.125, 0.0625])
_LAYERS = (
    [{"size": 64}, {"size": 32}],
    [{"size": 128, "dropout": 0.1}],
    [{"size": 64, "dropout": 0.2}, {"size": 64}, {"size": 16}],
)
_REASONS = (
    ("baseline", 8), ("first try with a GRU", 4), ("sweep lr", 8), ("lower lr to 0.001", 5),
    ("check whether lr warmup helps", 4), ("reproduce figure 1", 6), ("figure 2: compare cell types", 5),
    ("rerun after fixing the data loader", 5), ("longer training", 5), ("smaller batches", 4),
    ("test the μtilde prior", 4), ("debug NaN losses", 3), ('try "clipnorm", 1.0', 2), ("", 6),
    ("Sweep over learning rates.\nSee notebook 2020-10-02 for the setup.", 3),
    ("Compare GRU and LSTM\n- same seed\n- same data", 3),
    ("Reviewer asked for more epochs.\nKeep everything else as in figure 1.", 2),
)
_OUTCOMES = {
    "finished": (("converged", 55), ("diverged", 10), ("", 20),
                 ("converged\nfinal loss 0.0123 (validation 0.0150)\nsee fig/loss.png", 8),
                 ("converged, but slowly\nlr too small?", 7)),
    "crashed": (("", 60), ("diverged", 20), ("NaN loss at epoch 7\nreduce lr?", 20)),
    "killed": (("", 70), ("stopped by hand: too slow", 30)),
    "running": (("", 1),),
    "initialized": (("", 1),),
}
_SCRIPT_ARGS = (("<parameters>", 70), ("<parameters> --seed {seed}", 20), ("--seed {seed}", 5),
                ("--config <parameters> --epochs {n_epochs}", 5))
_OUTPUT_FILES = (("loss.npy", "application/octet-stream"), ("summary.json", "application/json"),
                 ("weights.npz", "application/zip"), ("fig/loss.png", "image/png"))
_CRASHES = (
    'FloatingPointError: loss is NaN',
    'MemoryError: unable to allocate 3.2 GiB for an array',
    "KeyError: 'μtilde'",
)


def _choose(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _allot(rng: random.Random, n: int, weighted: Sequence[tuple[Any, float]],
           minimum: int | dict[Any, int] = 1) -> list[Any]:
    """n values drawn by weight, each value at least ``minimum`` times when n allows, shuffled."""
    values = [v for v, _ in weighted]
    mins = minimum if isinstance(minimum, dict) else {v: minimum for v in values}
    out: list[Any] = []
    if n >= sum(mins.get(v, 0) for v in values):
        for v in values:
            out.extend([v] * mins.get(v, 0))
    out.extend(rng.choices(values, weights=[w for _, w in weighted], k=n - len(out)))
    rng.shuffle(out)
    return out


def _draw_time(rng: random.Random) -> _dt.datetime:
    a, b = (_START, _DENSE_END) if rng.random() < 0.6 else (_DENSE_END, _END)
    seconds = rng.randrange(int((b - a).total_seconds()))
    return a + _dt.timedelta(seconds=seconds)


def _plan_times(rng: random.Random, n: int) -> list[list[_dt.datetime]]:
    """Groups of timestamps (one group = one label time part), at most n timestamps in all."""
    groups: list[list[_dt.datetime]] = []
    # One record exactly at midnight of each special day, then a few more on those days.
    for day in _SPECIAL_DAYS:
        groups.append([day])
    for day, count in zip(_SPECIAL_DAYS, (max(1, n // 100), max(1, n // 80))):
        for _ in range(count):
            groups.append([day + _dt.timedelta(seconds=rng.randrange(1, 86400))])
    while sum(len(g) for g in groups) < n:
        base = _draw_time(rng)
        size = 1 if rng.random() > 0.08 else rng.randint(2, 4)
        groups.append([base] * size)
    # Trim to exactly n timestamps.
    out, total = [], 0
    for g in groups:
        if total >= n:
            break
        g = g[: n - total]
        out.append(g)
        total += len(g)
    # Distinct microseconds inside a group; at a special midnight keep the exact instant.
    for g in out:
        micros = sorted(rng.sample(range(1_000_000), len(g)))
        if g[0].time() == _dt.time(0) and len(g) == 1 and g[0] in _SPECIAL_DAYS:
            micros = [0]
        g[:] = [t + _dt.timedelta(microseconds=m) for t, m in zip(g, micros)]
    return out


def _config_pool(rng: random.Random, size: int) -> list[dict[str, Any]]:
    """Distinct parameter configurations; records draw from these, so parameter sets repeat."""
    formats = _allot(rng, size, _PARAM_FORMATS,
                     minimum={"nt-plain": 2, "nt-task": 2, "json": 1, "yaml": 2, "simple": 1, "config": 1})
    pool = []
    yaml_count = 0
    for i, fmt in enumerate(formats):
        good = rng.random() < 0.45
        cfg = {
            "format": fmt,
            "style": fmt.split("-")[1] if fmt.startswith("nt") else ("task" if rng.random() < 0.4 else "plain"),
            "lr": _choose(rng, ((0.01, 5), (0.001, 3), (0.1, 2))),
            "kind": _choose(rng, (("gru", 4), ("lstm", 4), ("rnn", 2))),
            "layers": rng.randrange(len(_LAYERS)),
            "mu": list(_GOOD_MU) if good else list(rng.choice(_OTHER_MU)),
            "n_epochs": rng.choice((10, 20, 50)),
            "betas": rng.choice(((0.9, 0.999), (0.8, 0.99))),
            "dataset": rng.choice(("lorenz", "sine")),
            "batch_size": rng.choice((32, 64, 128)),
            "shuffle": rng.random() < 0.7,
            "subset": None if rng.random() < 0.75 else 1000,
            "learning_rate_key": rng.random() < 0.4,
            "status": rng.choice((None, None, "draft", "final")),
            "label": rng.choice((None, None, None, "exp-A", "exp-B")),
            "snapshot": rng.choice((_dt.date(2020, 9, 12), _dt.date(2021, 1, 4))),
            "augment": rng.random() < 0.5,
        }
        if fmt == "yaml":
            # Sumatra itself stores yaml.dump() of the values; a few sets keep the
            # text they were written in (unquoted `yes`, raw μ), see _yaml_set.
            cfg["verbatim"] = yaml_count % 2 == 0
            yaml_count += 1
        pool.append(cfg)
    return pool


def _nested_dict(cfg: dict[str, Any], seed: int, *, tuples: bool) -> dict[str, Any]:
    """The parameter dict for NT/JSON/YAML sets: plain nesting or smttask-style task descriptions."""
    model = {"kind": cfg["kind"], "layers": [dict(layer) for layer in _LAYERS[cfg["layers"]]],
             "params": {"μtilde": list(cfg["mu"])}}
    betas = tuple(cfg["betas"]) if tuples else list(cfg["betas"])
    data = {"dataset": cfg["dataset"], "batch_size": cfg["batch_size"], "shuffle": cfg["shuffle"],
            "subset": cfg["subset"]}
    if cfg["style"] == "task":
        optimizer = {"taskname": "Adam", "module": "demo.optim",
                     "inputs": {"lr": cfg["lr"], "betas": betas,
                                "model": {"taskname": "RNNModel", "module": "demo.models", "inputs": model}}}
        inputs = {"seed": seed, "n_epochs": cfg["n_epochs"], "optimizer": optimizer,
                  "data": {"taskname": "LoadData", "module": "demo.data", "inputs": data}}
        if cfg["status"]:
            inputs["status"] = cfg["status"]
        return {"taskname": "Train", "module": "demo.tasks", "inputs": inputs}
    d: dict[str, Any] = {"seed": seed, "n_epochs": cfg["n_epochs"],
                         "optimizer": {"lr": cfg["lr"], "betas": betas, "model": model},
                         "data": data}
    if cfg["learning_rate_key"]:
        d["learning-rate"] = cfg["lr"]
    if cfg["status"]:
        d["status"] = cfg["status"]
    if cfg["label"]:
        d["label"] = cfg["label"]
    return d


def _yaml_set(cfg: dict[str, Any], seed: int):
    import yaml
    from sumatra.parameters import YAMLParameterSet

    d = _nested_dict(cfg, seed, tuples=False)
    data = d["inputs"]["data"]["inputs"] if cfg["style"] == "task" else d["data"]
    data["snapshot"] = cfg["snapshot"]  # a date: YAML loads it as datetime.date
    if not cfg.get("verbatim"):
        return YAMLParameterSet(yaml.dump(d, indent=4))
    # Hand-written YAML, kept as written: Sumatra 0.8.1 would store yaml.dump()
    # of the values (`true`, "\u03BCtilde"), so the YAML 1.1 spelling `yes`
    # reaches a store only from other writers; we plant it through the
    # `type`/`content` attributes Sumatra's Django store reads first.
    text = "# written by hand\n" + yaml.safe_dump(d, allow_unicode=True, sort_keys=False)
    text = text.replace("shuffle: true", "shuffle: yes").replace("shuffle: false", "shuffle: no")
    text += "augment: %s\n" % ("yes" if cfg["augment"] else "no")
    ps = YAMLParameterSet(text)
    ps.type = "YAMLParameterSet"
    ps.content = text
    return ps


def _parameter_set(cfg: dict[str, Any], seed: int):
    from sumatra.parameters import (ConfigParserParameterSet, JSONParameterSet, NTParameterSet,
                                    SimpleParameterSet)

    fmt = cfg["format"]
    if fmt.startswith("nt"):
        return NTParameterSet(_nested_dict(cfg, seed, tuples=True))
    if fmt == "json":
        return JSONParameterSet(json.dumps(_nested_dict(cfg, seed, tuples=False)))
    if fmt == "yaml":
        return _yaml_set(cfg, seed)
    if fmt == "simple":
        flat = {"seed": seed, "lr": cfg["lr"], "kind": cfg["kind"], "n_epochs": cfg["n_epochs"],
                "betas": tuple(cfg["betas"]), "shuffle": cfg["shuffle"], "subset": cfg["subset"],
                "dataset": cfg["dataset"]}
        if cfg["learning_rate_key"]:
            flat["learning-rate"] = cfg["lr"]
        return SimpleParameterSet(flat)
    # ConfigParser: every value is a string, sections give the first key segment.
    text = textwrap.dedent(f"""\
        [run]
        seed = {seed}
        n_epochs = {cfg["n_epochs"]}

        [optimizer]
        lr = {cfg["lr"]}
        betas = {cfg["betas"][0]}, {cfg["betas"][1]}

        [model]
        kind = {cfg["kind"]}
        layers = {len(_LAYERS[cfg["layers"]])}

        [data]
        dataset = {cfg["dataset"]}
        batch_size = {cfg["batch_size"]}
        shuffle = {"yes" if cfg["shuffle"] else "no"}
        """)
    return ConfigParserParameterSet(text)


def _stdout(rng: random.Random, status: str, cfg: dict[str, Any], label: str, main_file: str) -> str:
    if status == "initialized":
        return "Not launched."  # Sumatra's own placeholder
    if status == "running":
        return "Not yet captured."  # ditto, while a run is in progress
    n_epochs = cfg["n_epochs"]
    shown = n_epochs if status == "finished" else rng.randint(1, max(1, n_epochs - 1))
    loss, lines = 1.0, [f"loaded {cfg['dataset']}: {rng.randint(200, 5000)} sequences"]
    for epoch in range(1, shown + 1):
        loss *= 0.75 + 0.2 * rng.random()
        if epoch <= 3 or epoch == shown:
            lines.append(f"epoch {epoch}/{n_epochs} loss={loss:.4f}")
        elif epoch == 4:
            lines.append("...")
    if status == "finished":
        if rng.random() < 0.05:  # a handled exception, printed and survived
            lines[1:1] = ["Traceback (most recent call last):",
                          '  File "/usr/lib/python3/dist-packages/h5py/__init__.py", line 46, in <module>',
                          "ImportError: h5py is optional; writing .npy instead"]
        lines.append(f"saved out/{label}")
    elif status == "crashed":
        lines += ["Traceback (most recent call last):",
                  f'  File "{main_file}", line {rng.randint(20, 90)}, in <module>',
                  "    main(sys.argv)",
                  f'  File "{main_file}", line {rng.randint(20, 90)}, in train',
                  "    loss = step(batch)",
                  rng.choice(_CRASHES)]
    elif status == "killed":
        lines += ["^CTraceback (most recent call last):",
                  f'  File "{main_file}", line 31, in train',
                  "KeyboardInterrupt"]
    return "\n".join(lines) + "\n"


def _duration(rng: random.Random, status: str) -> float | None:
    if status == "finished":
        return round(math.exp(rng.uniform(0.0, math.log(30 * 3600))), 3)  # 1 s .. 30 h, log-uniform
    if status == "crashed":
        return None if rng.random() < 0.7 else round(rng.uniform(1.0, 600.0), 3)
    if status == "killed":
        return None if rng.random() < 0.5 else round(rng.uniform(60.0, 20000.0), 3)
    return None  # running, initialized


def make_records(n: int, seed: int = 0, *, project_dir) -> list["sumatra.records.Record"]:
    """``n`` synthetic :class:`sumatra.records.Record` objects for the project in ``project_dir``.

    Deterministic given ``(n, seed)`` (and the project's git history, which
    ``build_project`` makes with fixed dates): the same labels, timestamps,
    tags, parameters, reasons, outcomes, durations and outputs every time.
    Records are returned oldest first. ``project_dir`` gives the repository,
    the launch mode's working directory and the data store root (Sumatra's
    ``FileSystemDataStore`` creates that directory if it is missing).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    from sumatra.datastore import DataKey
    from sumatra.datastore.filesystem import FileSystemDataStore
    from sumatra.launch import SerialLaunchMode
    from sumatra.programs import PythonExecutable
    from sumatra.records import Record
    from sumatra.versioncontrol._git import GitRepository

    project_dir = pathlib.Path(project_dir).resolve()
    rng = random.Random(seed)

    executable = PythonExecutable(sys.executable, version="%d.%d.%d" % sys.version_info[:3])
    repository = GitRepository(str(project_dir))
    launch_mode = SerialLaunchMode(working_directory=str(project_dir))
    datastore = FileSystemDataStore(str(project_dir))
    input_datastore = FileSystemDataStore("/")  # `smt init`'s default input data store
    history = _git_history(project_dir)
    # scripts/train.py can be a main file only from the commit that adds it on.
    added = next(i for i, (_, _, files) in enumerate(_HISTORY) if "scripts/train.py" in files)
    train_since = history[min(added, len(history) - 1)][0]

    groups = _plan_times(rng, n)
    pool = _config_pool(rng, max(10, min(120, n // 25)))
    statuses = _allot(rng, n, _STATUSES)
    first_tags = _allot(rng, n, _USER_TAGS)
    configs = _allot(rng, n, [(i, 1.0 / (i + 1) ** 0.8) for i in range(len(pool))])

    # Labels: YYYYMMDD-HHMMSS, mostly with a _ + 6 hex suffix; groups share the time part.
    stamped: list[tuple[_dt.datetime, str, int]] = []
    labels: set[str] = set()
    for g_index, group in enumerate(groups):
        suffixless = len(group) == 1 and rng.random() < 0.06
        for ts in group:
            base = ts.strftime("%Y%m%d-%H%M%S")
            label = base if suffixless else "%s_%06x" % (base, rng.getrandbits(24))
            while label in labels:
                label = "%s_%06x" % (base, rng.getrandbits(24))
            labels.add(label)
            stamped.append((ts, label, g_index))
    stamped.sort()

    records = []
    group_run: dict[int, tuple[dict[str, Any], int]] = {}
    for i, (ts, label, g_index) in enumerate(stamped):
        status = statuses[i]
        # Runs of one group are the same configuration with successive seeds.
        if g_index in group_run:
            cfg, run_seed = group_run[g_index]
            run_seed += 1
        else:
            cfg, run_seed = pool[configs[i]], rng.choice((0, 0, 0, 1, 2, 3, 4))
        group_run[g_index] = (cfg, run_seed)
        version = [sha for when, sha in history if when <= ts][-1:] or [history[0][1]]
        main_file = "scripts/train.py" if ts >= train_since and rng.random() < 0.35 else "main.py"
        script_arguments = _choose(rng, _SCRIPT_ARGS).format(seed=run_seed, n_epochs=cfg["n_epochs"])
        user = _choose(rng, _USERS)
        reason = _choose(rng, _REASONS)

        record = Record(executable, repository, main_file, version[0], launch_mode, datastore,
                        parameters=_parameter_set(cfg, run_seed), input_data=[],
                        script_arguments=script_arguments, label=label, reason=reason,
                        diff="", user=user, input_datastore=input_datastore,
                        stdout_stderr=_stdout(rng, status, cfg, label, main_file), timestamp=ts)
        record.duration = _duration(rng, status)
        record.outcome = _choose(rng, _OUTCOMES[status])
        tags = {"_%s_" % status}
        if first_tags[i]:
            tags.add(first_tags[i])
            if rng.random() < 0.15:
                tags.add(_choose(rng, _USER_TAGS[1:]))
        record.tags = tags

        n_out = {"finished": _choose(rng, ((0, 10), (1, 35), (2, 30), (3, 15), (4, 10))),
                 "crashed": _choose(rng, ((0, 80), (1, 20))),
                 "killed": _choose(rng, ((0, 50), (1, 30), (2, 20)))}.get(status, 0)
        created = (ts + _dt.timedelta(seconds=record.duration or rng.randint(1, 600))).replace(microsecond=0)
        record.output_data = [
            DataKey(f"out/{label}/{name}",
                    hashlib.sha1(f"{seed}:{label}:{name}".encode()).hexdigest(),
                    created, mimetype=mimetype, encoding=None, size=rng.randint(200, 5_000_000))
            for name, mimetype in _OUTPUT_FILES[:n_out]
        ]
        records.append(record)
    return records


# --------------------------------------------------------------------------
# Stores
# --------------------------------------------------------------------------

def _store_kind(uri: str | None) -> str:
    if uri is None:
        return "default"
    if uri.startswith("postgres"):
        return "postgres"
    if uri.startswith(("mysql", "mariadb")):
        return "mysql"
    if uri.startswith(("http://", "https://")):
        raise DemoError("the demo cannot be built on an HTTP record store: %s" % uri)
    if uri.endswith(".shelf") or any(os.path.exists(uri + ext) for ext in (".dat", ".db")):
        return "shelve"
    return "sqlite"


def _normalise_store(uri) -> str | None:
    if uri is None:
        return None
    uri = os.fspath(uri)
    if _store_kind(uri) in ("sqlite", "shelve"):
        return os.path.abspath(os.path.expanduser(uri))
    return uri


def _install_mysql_driver() -> None:
    """Django's MySQL backend wants MySQLdb (mysqlclient); PyMySQL can stand in for it."""
    try:
        import MySQLdb  # noqa: F401
        return
    except ImportError:
        pass
    try:
        import pymysql
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DemoError("a MySQL/MariaDB store needs mysqlclient or PyMySQL (pip install pymysql)") from exc
    if getattr(pymysql, "version_info", (0,)) < (2, 2, 1):  # Django 5.2 asks for mysqlclient >= 2.2.1
        pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()


def _open_store(store_uri_or_path) -> "sumatra.recordstore.RecordStore":
    from sumatra.recordstore.base import RecordStore

    if isinstance(store_uri_or_path, RecordStore):
        return store_uri_or_path
    uri = _normalise_store(store_uri_or_path)
    kind = _store_kind(uri)
    if kind == "shelve":
        from sumatra.recordstore.shelve_store import ShelveRecordStore
        return ShelveRecordStore(uri)
    if kind == "mysql":
        _install_mysql_driver()
    if kind == "default":
        raise DemoError("save_records needs a store URI or path")
    _check_first_database(uri)
    _quiet_django()
    from sumatra.recordstore.django_store import DjangoRecordStore
    return DjangoRecordStore(uri)


def _quiet_django() -> None:
    """Sumatra configures Django with DEBUG=True, which logs every query in memory; turn that off."""
    from sumatra.recordstore.django_store import db_config
    if not db_config.configured:
        db_config.update_settings(DEBUG=False)


def _check_first_database(store_uri: str) -> None:
    """Refuse, before changing anything, to build into a Django store that could
    not be this process's first Django database."""
    if _store_kind(store_uri) == "shelve":
        return
    from sumatra.recordstore.django_store import db_config, db_id

    default = db_config._settings["DATABASES"].get("default")
    if default is not None and db_id(default) != db_id(db_config.uri_to_db(store_uri)):
        raise DemoError(
            "this process already uses another Sumatra Django record store (%s); Sumatra's "
            "Django store keeps tags right only as the process's first database, so use "
            "%s from a separate process (build_project(..., in_process=False) or "
            "python -m smtql.demo build ... do that)" % (default.get("NAME"), store_uri))


def _require_first_database(store) -> None:
    label = getattr(store, "_db_label", None)
    if label is not None and label != "default":
        raise DemoError(
            "this process already uses another Sumatra Django record store; Sumatra's Django "
            "store keeps tags right only as the process's first database, so build or save "
            "into %s in a separate process (python -m smtql.demo build ...)" % store)


@contextlib.contextmanager
def _sorted_tags(record) -> Iterator[None]:
    """Sumatra writes ",".join(record.tags) from a set; sort it so the tags column is deterministic."""
    tags = record.tags
    record.tags = sorted(tags)
    try:
        yield
    finally:
        record.tags = tags


def save_records(store_uri_or_path, project_name: str, records: Iterable["sumatra.records.Record"]) -> None:
    """Save ``records`` with Sumatra's own ``RecordStore.save``, fast.

    ``store_uri_or_path``: an SQLite path, ``postgres://…``, ``mysql://…``, a
    ``*.shelf`` path, or a Sumatra ``RecordStore``. For a Django store the
    saves run in one transaction (``django.db.transaction.atomic``), with the
    lookups of shared rows memoised, get_or_create's savepoints off and, on
    SQLite, two lookup indexes that exist only inside that transaction; the
    store must be the process's first Django database (``DemoError``
    otherwise). Measured: about 6-8 ms of CPU per record (2500 records: 15-21 s
    on a loaded 2-core machine), three quarters of it Django's ORM.
    For a shelve store, Sumatra's ``save`` runs against an in-memory copy of
    the project's entry, written back once (saving one by one rewrites the
    whole project entry per record).
    """
    from sumatra.recordstore.shelve_store import ShelveRecordStore

    store = _open_store(store_uri_or_path)
    records = list(records)
    if isinstance(store, ShelveRecordStore):
        shelf = store.shelf
        cache = {project_name: shelf[project_name]} if project_name in shelf else {}
        store.shelf = cache
        try:
            for record in records:
                store.save(project_name, record)
        finally:
            store.shelf = shelf
        if project_name in cache:
            shelf[project_name] = cache[project_name]
        shelf.sync()
        return
    _require_first_database(store)
    if not hasattr(store, "_get_models"):  # some other RecordStore: plain saves
        for record in records:
            store.save(project_name, record)
        return
    _quiet_django()
    store._get_models()  # configures Django (and migrates) on first use
    from django.db import connections, transaction

    using = store._db_label
    connection = connections[using]
    with _memoised_lookups(store) as prime_tag:
        # Tag rows are the only ones with a unique key that another writer of a
        # shared server may create at the same time as we do: make them first,
        # each in its own small transaction, where get_or_create's savepoint
        # recovers from such a race. In the big transaction below every tag
        # lookup is then answered from memory, and no statement can hit a
        # unique-key conflict, so get_or_create's savepoints (two extra
        # statements per created row) are switched off there.
        for name in sorted({tag for record in records for tag in record.tags}):
            prime_tag(name)
        with transaction.atomic(using=using), _no_savepoints(connection), _gc_paused():
            lookup_indexes = _create_lookup_indexes(connection)
            for record in records:
                with _sorted_tags(record):
                    store.save(project_name, record)
            _drop_lookup_indexes(connection, lookup_indexes)


def _sumatra_object_key(db_class: str, obj) -> tuple:
    """What Sumatra's get_or_create_from_sumatra_object would look the object up by."""
    if db_class == "ParameterSet":
        own = getattr(obj, "__dict__", {})
        return (db_class, type(obj).__name__, own.get("type"), own.get("content"), str(obj))
    state = obj.__getstate__() if callable(getattr(obj, "__getstate__", None)) else None
    if state is None:
        state = vars(obj)
    return (db_class, type(obj).__name__, repr(sorted(state.items())))


@contextlib.contextmanager
def _memoised_lookups(store) -> Iterator[Any]:
    """Look each shared object (executable, repository, launch mode, data store,
    parameter set, project, tag) up once per transaction instead of once per record.

    Sumatra's ``save`` runs unchanged; only the answers of its ``_get_db_obj``,
    ``_get_db_project`` and (tagging) ``Tag.objects.get_or_create`` are
    remembered. Data keys belong to one record each and are never memoised.
    Yields a function that looks a tag name up (creating the tag if needed).
    """
    from sumatra.recordstore.django_store.tagging import Tag

    get_obj, get_project = store._get_db_obj, store._get_db_project
    tag_manager = Tag.objects
    get_tag = tag_manager.get_or_create
    objects: dict[tuple, Any] = {}
    projects: dict[str, Any] = {}
    tags: dict[str, Any] = {}

    def memo_obj(db_class, obj):
        if db_class == "DataKey" or obj is None:
            return get_obj(db_class, obj)
        key = _sumatra_object_key(db_class, obj)
        if key not in objects:
            objects[key] = get_obj(db_class, obj)
        return objects[key]

    def memo_project(project_name):
        if project_name not in projects:
            projects[project_name] = get_project(project_name)
        return projects[project_name]

    def memo_tag(**kwargs):  # TagManager.update_tags calls self.get_or_create(name=...)
        if set(kwargs) != {"name"}:
            return get_tag(**kwargs)
        name = kwargs["name"]
        if name in tags:
            return tags[name], False
        tag, created = get_tag(name=name)
        tags[name] = tag
        return tag, created

    store._get_db_obj, store._get_db_project = memo_obj, memo_project
    tag_manager.get_or_create = memo_tag
    try:
        yield lambda name: memo_tag(name=name)
    finally:
        del store._get_db_obj, store._get_db_project
        del tag_manager.get_or_create


# Sumatra looks each record up by label and each data key by all its columns
# before saving it, and its schema indexes neither: on SQLite these full scans
# make a bulk save quadratic. These indexes live only inside the saving
# transaction (created after BEGIN, dropped before COMMIT), so the store ends
# with exactly Sumatra's schema. Not on servers: other writers would wait on
# the DDL's table locks, and MySQL commits implicitly around DDL.
_LOOKUP_INDEXES = (
    ("smtql_demo_tmp_record_label", "django_store_record", ("label", "project_id")),
    ("smtql_demo_tmp_datakey_path", "django_store_datakey", ("path",)),
)


def _create_lookup_indexes(connection) -> list[str]:
    if connection.vendor != "sqlite":
        return []
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name, table, columns in _LOOKUP_INDEXES:
            cursor.execute("CREATE INDEX %s ON %s (%s)" % (qn(name), qn(table), ", ".join(map(qn, columns))))
    return [name for name, _, _ in _LOOKUP_INDEXES]


def _drop_lookup_indexes(connection, names: list[str]) -> None:
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute("DROP INDEX %s" % connection.ops.quote_name(name))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Django allocates many short-lived objects per statement; pausing the cyclic
    collector for the duration of the saves makes them about 10 % cheaper."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _no_savepoints(connection) -> Iterator[None]:
    """Make Django's nested ``atomic`` blocks (get_or_create's) skip their savepoints.

    The public switch is ``features.uses_savepoints``; the SQLite backend
    ignores it (its ``_savepoint_allowed`` only asks whether a transaction is
    open), hence the instance override as well.
    """
    saved = connection.features.uses_savepoints
    connection.features.uses_savepoints = False
    connection._savepoint_allowed = lambda: False
    try:
        yield
    finally:
        connection.features.uses_savepoints = saved
        del connection._savepoint_allowed


def _clear_project(store_uri: str, project_name: str) -> int:
    """Delete an earlier demo's records of ``project_name`` from an existing store; returns how many."""
    kind = _store_kind(store_uri)
    if kind == "shelve":
        if not (os.path.exists(store_uri) or os.path.exists(store_uri + ".dat")
                or os.path.exists(store_uri + ".db")):
            return 0
        store = _open_store(store_uri)
        n = len(store.shelf.get(project_name, {})) if project_name in store.shelf else 0
        if project_name in store.shelf:
            del store.shelf[project_name]
            store.shelf.sync()
        store.shelf.close()
        return n
    if kind == "sqlite" and not os.path.exists(store_uri):
        return 0
    store = _open_store(store_uri)
    _require_first_database(store)
    models = store._get_models()
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from sumatra.recordstore.django_store.tagging import TaggedItem

    using = store._db_label
    with transaction.atomic(using=using):
        records = models.Record.objects.using(using).filter(project__id=project_name)
        ids = list(records.values_list("db_id", flat=True))
        ctype = ContentType.objects.db_manager(using).get_for_model(models.Record)
        # Tags hang off a generic relation: Django's cascade does not reach them, and a
        # later record that reuses a db_id would inherit them.
        for i in range(0, len(ids), 500):
            TaggedItem.objects.using(using).filter(content_type=ctype, object_id__in=ids[i:i + 500]).delete()
        records.delete()  # cascades to output DataKeys and the many-to-many rows
        models.Project.objects.using(using).filter(id=project_name).delete()
    return len(ids)


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
                  in_process: bool = False) -> pathlib.Path:
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
    another Sumatra Django store).
    """
    directory = pathlib.Path(directory).expanduser().absolute()
    store_uri = _normalise_store(store_uri)
    _store_kind(store_uri)  # rejects unsupported stores early
    _check_directory(directory)
    if n_records < 0 or real_runs < 0:
        raise ValueError("n_records and real_runs must be >= 0")
    if not in_process:
        cmd = [sys.executable, "-m", "smtql.demo", "build", str(directory), "--records", str(n_records),
               "--seed", str(seed), "--runs", str(real_runs), "--project", project_name, "--quiet"]
        if store_uri:
            cmd += ["--store", store_uri]
        proc = subprocess.run(cmd, env=_child_env(), capture_output=True, text=True)
        if proc.returncode != 0:
            raise DemoError((proc.stderr or proc.stdout).strip() or "building the demo failed")
        return directory.resolve()
    return _build(directory, n_records=n_records, seed=seed, store_uri=store_uri,
                  real_runs=real_runs, project_name=project_name)


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
    log("git repository: %.2f s" % (time.perf_counter() - t0))

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
    log("smt init: %.2f s" % (time.perf_counter() - t))

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
                log("smt run %d: %.2f s" % (i + 1, time.perf_counter() - t))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            failures.append(exc)

    runner = threading.Thread(target=real_runs_, name="smt-run")
    runner.start()
    try:
        t, c = time.perf_counter(), time.process_time()
        records = make_records(n_records, seed, project_dir=directory)
        log("make_records(%d): %.2f s (cpu %.2f s)"
            % (n_records, time.perf_counter() - t, time.process_time() - c))
    finally:
        runner.join()
    if failures:
        raise failures[0]

    from sumatra.projects import load_project

    t, c = time.perf_counter(), time.process_time()
    project = load_project(str(directory))
    save_records(project.record_store, project.name, records)
    log("save_records: %.2f s (cpu %.2f s)" % (time.perf_counter() - t, time.process_time() - c))
    log("total: %.2f s" % (time.perf_counter() - t0))
    return directory


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
    log = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        path = _build(pathlib.Path(args.directory).expanduser().absolute(), n_records=args.records,
                      seed=args.seed, store_uri=_normalise_store(args.store),
                      real_runs=args.runs, project_name=args.project, log=log)
    except DemoError as exc:
        if args.debug:
            raise
        print("smtql demo: %s" % exc, file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. the database server went away
        if args.debug:
            raise
        print("smtql demo: %s: %s" % (type(exc).__name__, exc), file=sys.stderr)
        return 1
    if not args.quiet:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
