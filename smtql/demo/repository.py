"""The demo project's git repository: its files and a history with fixed
dates, so the records' commit hashes are the same on every build."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import pathlib
import subprocess


from .common import _UTC, DemoError

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
