"""The demo's synthetic records: real sumatra Record objects, deterministic
given (n, seed), spanning September 2020 to September 2021."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import pathlib
import random
import sys
import textwrap
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import sumatra.records
    import sumatra.recordstore

from .common import _UTC
from .repository import _HISTORY, _USERS, _git_history

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


def _stdout(rng: random.Random, status: str, cfg: dict[str, Any], label: str, main_file: str,
            curve: list | None = None) -> str:
    """The run's captured output; `curve` receives the loss of each epoch
    it ran (the loss.csv and metrics.json the run writes)."""
    if status == "initialized":
        return "Not launched."  # Sumatra's own placeholder
    if status == "running":
        return "Not yet captured."  # ditto, while a run is in progress
    n_epochs = cfg["n_epochs"]
    shown = n_epochs if status == "finished" else rng.randint(1, max(1, n_epochs - 1))
    loss, lines = 1.0, [f"loaded {cfg['dataset']}: {rng.randint(200, 5000)} sequences"]
    curve = [] if curve is None else curve
    for epoch in range(1, shown + 1):
        loss *= 0.75 + 0.2 * rng.random()
        curve.append(loss)
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


def make_records(n: int, seed: int = 0, *, project_dir,
                 files: dict | None = None) -> list["sumatra.records.Record"]:
    """``n`` synthetic :class:`sumatra.records.Record` objects for the project in ``project_dir``.

    Deterministic given ``(n, seed)`` (and the project's git history, which
    ``build_project`` makes with fixed dates): the same labels, timestamps,
    tags, parameters, reasons, outcomes, durations and outputs every time.
    Records are returned oldest first. ``project_dir`` gives the repository,
    the launch mode's working directory and the data store root (Sumatra's
    ``FileSystemDataStore`` creates that directory if it is missing).
    ``files``, if given, receives the content of the result files the runs
    wrote (path relative to the data store -> bytes; see _output_files).
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

        curve: list[float] = []  # the loss per epoch, as the run prints it
        record = Record(executable, repository, main_file, version[0], launch_mode, datastore,
                        parameters=_parameter_set(cfg, run_seed), input_data=[],
                        script_arguments=script_arguments, label=label, reason=reason,
                        diff="", user=user, input_datastore=input_datastore,
                        stdout_stderr=_stdout(rng, status, cfg, label, main_file, curve),
                        timestamp=ts)
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
        for _ in range(n_out):  # drawn as before, so every later field stays as it was
            rng.randint(200, 5_000_000)
        written = _output_files(label, curve, [name for name, _ in _OUTPUT_FILES[:n_out]],
                                finished=status == "finished")
        record.output_data = [
            DataKey(path, hashlib.sha1(content).hexdigest(), created, mimetype=mimetype,
                    encoding=None, size=len(content))
            for path, (content, mimetype) in written.items()]
        if files is not None and not _removed(label):
            files.update((path, content) for path, (content, _) in written.items())
        records.append(record)
    return records


def _output_files(label: str, curve: list, binary: list, finished: bool) -> dict:
    """The files a run wrote, path -> (content, MIME type): the binary
    outputs it lists (`binary`, names from _OUTPUT_FILES), the loss curve
    (`loss.csv`, one line per epoch run) and, for a finished run,
    `metrics.json` with the final loss and accuracy. Made from the curve
    the run printed, never from the builder's random stream."""
    out = {}
    for name in binary:
        out[f"out/{label}/{name}"] = (_BINARY[name](curve), dict(_OUTPUT_FILES)[name])
    if curve:
        out[f"out/{label}/loss.csv"] = (
            ("epoch,loss\n" + "".join(f"{i},{v:.6f}\n" for i, v in enumerate(curve, 1))).encode(),
            "text/csv")
    if finished and curve:
        loss = round(curve[-1], 6)
        metrics = {"loss": loss, "accuracy": round(1.0 - 0.9 * loss / (1.0 + loss), 4),
                   "epochs": len(curve)}
        out[f"out/{label}/metrics.json"] = (json.dumps(metrics).encode(), "application/json")
    return out


def _npy(values) -> bytes:
    import io
    import numpy as np
    buf = io.BytesIO()
    np.save(buf, np.asarray(values, dtype=float))
    return buf.getvalue()


def _npz(curve) -> bytes:
    """A NumPy archive written with a fixed date, so its digest is the same
    every build (np.savez stamps the current time)."""
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo("weights.npy", date_time=(2020, 9, 1, 0, 0, 0)),
                         _npy([round(v, 3) for v in curve[:8]]))
    return buf.getvalue()


# The smallest valid PNG: one transparent pixel.
_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                     "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082")

_BINARY = {
    "loss.npy": _npy,
    "summary.json": lambda curve: json.dumps({"epochs": len(curve),
                                              "last_loss": round(curve[-1], 6) if curve else None}
                                             ).encode(),
    "weights.npz": _npz,
    "fig/loss.png": lambda curve: _PNG,
}


def _removed(label: str) -> bool:
    """About one run in eight has had its result files deleted since (to
    save space, say): listed in the record, not on disk (`outputs missing`).
    Chosen by label, so the choice is the same every time."""
    return hashlib.sha1(label.encode()).digest()[0] < 32
