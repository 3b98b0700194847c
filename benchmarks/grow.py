"""Grow a Sumatra Django store to N records the way real projects grow, fast.

    python -m benchmarks.grow STORE_URI N [--seed S] [--project NAME]

The store is first made by Sumatra itself (`python -m smtql.demo build`, a
few hundred records saved with RecordStore.save), so its schema, content
types, executable, repository, launch mode and data stores are Sumatra's.
`grow` then adds records with batched SQL (executemany, or COPY on
PostgreSQL) until the project holds N, each one a run of a sweep:

- its OWN parameter set row: seed, learning rate, model kind and layer
  sizes, data and optimizer settings drawn per record (the seed is unique),
  in the demo's format mix (NTParameterSet 68 %, half of it smttask task
  descriptions nested three deep; JSON 10 %; YAML 10 %; Simple 6 %;
  ConfigParser 6 %), each serialised as Sumatra serialises it:
  `str(NTParameterSet)` is the dict's repr, `JSONParameterSet` is
  `json.dumps(sort_keys=True, indent=4)`, `YAMLParameterSet` is
  `yaml.dump(indent=4)`, Simple is `name = value` lines, ConfigParser is
  `ConfigParser.write`;
- one status tag (`_finished_`, `_failed_`, `_crashed_`, `_killed_`,
  `_running_`, `_initialized_`) and, for about two thirds, user tags, in
  BOTH the tag tables (django_store_tag / django_store_taggeditem with the
  record content type) and the comma-joined `tags` column;
- output datakeys (by status, 0 to 4 files under out/LABEL/, and a
  finished run's `metrics.json`: `metrics_content`), reason,
  outcome, duration and stdout varied by status (crashed, failed and killed
  runs and 5 % of finished ones print a Traceback);
- a timestamp between September 2020 and September 2021 (denser in the first
  three months, as the demo), records inserted oldest first, labels
  `YYYYMMDD-HHMMSS_xxxxxx` as Sumatra makes them.

Never `ANALYZE`d, no index added, no schema change: a store like the users'.
Only DB-API drivers are used (sqlite3, psycopg, PyMySQL), no smtql module.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import math
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlparse

import yaml

try:  # the same text as yaml.Dumper (tests/stores/test_grown_store.py checks), 4x faster
    _YAML_DUMPER = yaml.CDumper
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _YAML_DUMPER = yaml.Dumper

UTC = timezone.utc
START = datetime(2020, 9, 1, tzinfo=UTC)
DENSE_END = datetime(2020, 12, 1, tzinfo=UTC)
END = datetime(2021, 10, 1, tzinfo=UTC)  # exclusive

STATUSES = (("finished", 76), ("failed", 4), ("crashed", 8), ("killed", 4), ("running", 4),
            ("initialized", 4))
USER_TAGS = ((None, 36), ("figure1", 12), ("figure2", 9), ("baseline", 12),
             ("unfinished-review", 8), ("needs.check", 8), ("run-2", 7), ("μ-sweep", 8))
FORMATS = (("nt-plain", 38), ("nt-task", 30), ("json", 10), ("yaml", 10), ("simple", 6),
           ("config", 6))
LRS = ((0.01, 5), (0.001, 3), (0.1, 2), (0.003, 2), (0.03, 1), (0.0003, 1))
KINDS = (("gru", 4), ("lstm", 4), ("rnn", 2))
REASONS = (
    ("baseline", 8), ("first try with a GRU", 4), ("sweep lr", 8), ("lower lr to 0.001", 5),
    ("check whether lr warmup helps", 4), ("reproduce figure 1", 6),
    ("figure 2: compare cell types", 5), ("rerun after fixing the data loader", 5),
    ("longer training", 5), ("smaller batches", 4), ("test the μtilde prior", 4),
    ("debug NaN losses", 3), ('try "clipnorm", 1.0', 2), ("", 6),
    ("Sweep over learning rates.\nSee notebook 2020-10-02 for the setup.", 3),
    ("Compare GRU and LSTM\n- same seed\n- same data", 3),
    ("Reviewer asked for more epochs.\nKeep everything else as in figure 1.", 2),
    ("{sweep}", 10),  # "seed sweep 17/50", "lr=0.003, seed 12", ...
)
OUTCOMES = {
    "finished": (("converged", 55), ("diverged", 10), ("", 20),
                 ("converged\nfinal loss {loss:.4f} (validation {val:.4f})\nsee fig/loss.png", 8),
                 ("converged, but slowly\nlr too small?", 7)),
    "failed": (("", 50), ("exit status 1", 30), ("bad config: {kind} needs more layers", 20)),
    "crashed": (("", 60), ("diverged", 20), ("NaN loss at epoch {epoch}\nreduce lr?", 20)),
    "killed": (("", 70), ("stopped by hand: too slow", 30)),
    "running": (("", 1),),
    "initialized": (("", 1),),
}
SCRIPT_ARGS = (("<parameters>", 70), ("<parameters> --seed {seed}", 20), ("--seed {seed}", 5),
               ("--config <parameters> --epochs {n_epochs}", 5))
OUTPUT_FILES = (("loss.npy", "application/octet-stream"), ("summary.json", "application/json"),
                ("weights.npz", "application/zip"), ("fig/loss.png", "image/png"))
N_OUTPUTS = {"finished": ((0, 10), (1, 35), (2, 30), (3, 15), (4, 10)),
             "failed": ((0, 90), (1, 10)), "crashed": ((0, 80), (1, 20)),
             "killed": ((0, 50), (1, 30), (2, 20))}
CRASHES = ("FloatingPointError: loss is NaN",
           "MemoryError: unable to allocate 3.2 GiB for an array", "KeyError: 'μtilde'",
           "RuntimeError: CUDA out of memory")
RECORD_COLS = ("db_id", "label", "reason", "duration", "main_file", "version", "outcome",
               "timestamp", "tags", "diff", "user", "script_arguments", "stdout_stderr",
               "repeats", "datastore_id", "executable_id", "input_datastore_id",
               "launch_mode_id", "parameters_id", "project_id", "repository_id")
TYPE_NAMES = {"nt-plain": "NTParameterSet", "nt-task": "NTParameterSet",
              "json": "JSONParameterSet", "yaml": "YAMLParameterSet",
              "simple": "SimpleParameterSet", "config": "ConfigParserParameterSet"}


class _Weighted:
    """rng.choices without rebuilding the weights every call."""

    def __init__(self, pairs):
        self.values = [v for v, _ in pairs]
        total, self.cum = 0.0, []
        for _, w in pairs:
            total += w
            self.cum.append(total)
        self.total = total

    def __call__(self, rng):
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.total)]


_STATUS, _USER_TAG, _FORMAT = _Weighted(STATUSES), _Weighted(USER_TAGS), _Weighted(FORMATS)
_LR, _KIND, _REASON = _Weighted(LRS), _Weighted(KINDS), _Weighted(REASONS)
_OUTCOME = {k: _Weighted(v) for k, v in OUTCOMES.items()}
_SCRIPT_ARG = _Weighted(SCRIPT_ARGS)
_N_OUT = {k: _Weighted(v) for k, v in N_OUTPUTS.items()}


# ------------------------------------------------------------------ parameter sets

def _config(rng: random.Random, seed: int) -> dict:
    fmt = _FORMAT(rng)
    return {
        "format": fmt, "seed": seed,
        "style": fmt.split("-")[1] if fmt.startswith("nt") else (
            "task" if rng.random() < 0.4 else "plain"),
        "lr": _LR(rng), "kind": _KIND(rng),
        "layers": [dict({"size": rng.choice((16, 32, 64, 128, 256))},
                        **({"dropout": rng.choice((0.1, 0.2, 0.3))} if rng.random() < 0.5 else {}))
                   for _ in range(rng.choice((1, 1, 2, 2, 3)))],
        "mu": [round(rng.uniform(-4.5, -1.0), 6), round(rng.uniform(-0.6, 0.1), 6)],
        "n_epochs": rng.choice((10, 20, 50, 100)),
        "betas": rng.choice(((0.9, 0.999), (0.8, 0.99), (0.95, 0.999))),
        "dataset": rng.choice(("lorenz", "sine", "mackey-glass")),
        "batch_size": rng.choice((16, 32, 64, 128)),
        "shuffle": rng.random() < 0.7,
        "subset": None if rng.random() < 0.75 else rng.choice((1000, 5000)),
        "learning_rate_key": rng.random() < 0.4,
        "status": rng.choice((None, None, "draft", "final")),
        "label": rng.choice((None, None, None, "exp-A", "exp-B")),
        "snapshot": rng.choice((date(2020, 9, 12), date(2021, 1, 4))),
    }


def param_dict(cfg: dict, *, tuples: bool) -> dict:
    """The nested parameters of an NT/JSON/YAML set: plain, or smttask task
    descriptions (Train > Adam > RNNModel, LoadData)."""
    model = {"kind": cfg["kind"], "layers": [dict(layer) for layer in cfg["layers"]],
             "params": {"μtilde": list(cfg["mu"])}}
    betas = tuple(cfg["betas"]) if tuples else list(cfg["betas"])
    data = {"dataset": cfg["dataset"], "batch_size": cfg["batch_size"], "shuffle": cfg["shuffle"],
            "subset": cfg["subset"]}
    if cfg["format"] == "yaml":
        data["snapshot"] = cfg["snapshot"]  # YAML reads it back as a date
    if cfg["style"] == "task":
        optimizer = {"taskname": "Adam", "module": "demo.optim",
                     "inputs": {"lr": cfg["lr"], "betas": betas,
                                "model": {"taskname": "RNNModel", "module": "demo.models",
                                          "inputs": model}}}
        inputs = {"seed": cfg["seed"], "n_epochs": cfg["n_epochs"], "optimizer": optimizer,
                  "data": {"taskname": "LoadData", "module": "demo.data", "inputs": data}}
        if cfg["status"]:
            inputs["status"] = cfg["status"]
        return {"taskname": "Train", "module": "demo.tasks", "inputs": inputs}
    d = {"seed": cfg["seed"], "n_epochs": cfg["n_epochs"],
         "optimizer": {"lr": cfg["lr"], "betas": betas, "model": model}, "data": data}
    if cfg["learning_rate_key"]:
        d["learning-rate"] = cfg["lr"]
    if cfg["status"]:
        d["status"] = cfg["status"]
    if cfg["label"]:
        d["label"] = cfg["label"]
    return d


def simple_dict(cfg: dict) -> dict:
    flat = {"seed": cfg["seed"], "lr": cfg["lr"], "kind": cfg["kind"], "n_epochs": cfg["n_epochs"],
            "betas": tuple(cfg["betas"]), "shuffle": cfg["shuffle"], "subset": cfg["subset"],
            "dataset": cfg["dataset"]}
    if cfg["learning_rate_key"]:
        flat["learning-rate"] = cfg["lr"]
    return flat


def serialise(cfg: dict) -> tuple[str, str]:
    """(type, content) as Sumatra's Django store saves the set: `type` the
    class name, `content` its `str()`."""
    fmt = cfg["format"]
    if fmt.startswith("nt"):
        return "NTParameterSet", repr(param_dict(cfg, tuples=True))
    if fmt == "json":
        return "JSONParameterSet", json.dumps(param_dict(cfg, tuples=False), sort_keys=True,
                                              indent=4)
    if fmt == "yaml":
        return "YAMLParameterSet", yaml.dump(param_dict(cfg, tuples=False), indent=4,
                                             Dumper=_YAML_DUMPER)
    if fmt == "simple":  # SimpleParameterSet.pretty
        return "SimpleParameterSet", "\n".join(
            f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}"
            for k, v in simple_dict(cfg).items())
    sections = {  # ConfigParserParameterSet.pretty: ConfigParser.write
        "run": {"seed": cfg["seed"], "n_epochs": cfg["n_epochs"]},
        "optimizer": {"lr": cfg["lr"], "betas": f"{cfg['betas'][0]}, {cfg['betas'][1]}"},
        "model": {"kind": cfg["kind"], "layers": len(cfg["layers"])},
        "data": {"dataset": cfg["dataset"], "batch_size": cfg["batch_size"],
                 "shuffle": "yes" if cfg["shuffle"] else "no"},
    }
    return "ConfigParserParameterSet", "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in items.items()) + "\n"
        for name, items in sections.items())


# ------------------------------------------------------------------ other fields

def _stdout(rng: random.Random, status: str, cfg: dict, label: str, main_file: str) -> str:
    if status == "initialized":
        return "Not launched."
    if status == "running":
        return "Not yet captured."
    n_epochs = cfg["n_epochs"]
    shown = n_epochs if status == "finished" else rng.randint(1, max(1, n_epochs - 1))
    loss = 1.0
    lines = [f"loaded {cfg['dataset']}: {rng.randint(200, 5000)} sequences"]
    for epoch in (1, 2, 3, shown) if shown > 3 else range(1, shown + 1):
        loss *= 0.75 + 0.2 * rng.random()
        if epoch == shown and shown > 4:
            lines.append("...")
        lines.append(f"epoch {epoch}/{n_epochs} loss={loss:.4f}")
    if status == "finished":
        if rng.random() < 0.05:  # a handled exception, printed and survived
            lines[1:1] = ["Traceback (most recent call last):",
                          '  File "/usr/lib/python3/dist-packages/h5py/__init__.py", line 46, '
                          'in <module>', "ImportError: h5py is optional; writing .npy instead"]
        lines.append(f"saved out/{label}")
    elif status in ("crashed", "failed"):
        lines += ["Traceback (most recent call last):",
                  f'  File "{main_file}", line {rng.randint(20, 90)}, in <module>',
                  "    main(sys.argv)",
                  f'  File "{main_file}", line {rng.randint(20, 90)}, in train',
                  "    loss = step(batch)", rng.choice(CRASHES)]
    elif status == "killed":
        lines += ["^CTraceback (most recent call last):", f'  File "{main_file}", line 31, in train',
                  "KeyboardInterrupt"]
    return "\n".join(lines) + "\n"


def _duration(rng: random.Random, status: str):
    if status == "finished":
        return round(math.exp(rng.uniform(0.0, math.log(30 * 3600))), 3)  # 1 s .. 30 h
    if status in ("crashed", "failed"):
        return None if rng.random() < 0.7 else round(rng.uniform(1.0, 600.0), 3)
    if status == "killed":
        return None if rng.random() < 0.5 else round(rng.uniform(60.0, 20000.0), 3)
    return None


def _timestamps(rng: random.Random, n: int) -> list[float]:
    """n sorted POSIX times, 60 % in Sep-Nov 2020, the rest up to Sep 2021."""
    a0, a1, b1 = START.timestamp(), DENSE_END.timestamp(), END.timestamp()
    out = [rng.uniform(a0, a1) if rng.random() < 0.6 else rng.uniform(a1, b1) for _ in range(n)]
    out.sort()
    return out


# ------------------------------------------------------------------ connections

def connect(uri: str):
    """(DB-API connection, placeholder, dialect) for a store URI or SQLite path."""
    if uri.startswith(("postgres://", "postgresql://")):
        import psycopg
        return psycopg.connect(uri), "%s", "postgresql"
    if uri.startswith(("mysql://", "mariadb://")):
        import pymysql
        u = urlparse(uri)
        return (pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root",
                                password=u.password or "", database=u.path.lstrip("/"),
                                charset="utf8mb4"), "%s", "mysql")
    import sqlite3
    return sqlite3.connect(uri), "?", "sqlite"


def _db_time(ts: datetime, dialect: str):
    """A timestamp as Django writes it: naive UTC text on SQLite, naive UTC on
    MySQL, aware on PostgreSQL."""
    if dialect == "sqlite":
        return ts.replace(tzinfo=None).isoformat(" ")
    if dialect == "mysql":
        return ts.replace(tzinfo=None)
    return ts


# ------------------------------------------------------------------ growing

def metrics_content(label: str) -> bytes:
    """The `metrics.json` a finished run writes (the demo's: final loss and
    accuracy), made from the label and not the random stream, so every other
    field is what it was before runs wrote it. Losses from 0.0005 to 0.5,
    log-uniform."""
    u = int.from_bytes(hashlib.sha1(label.encode()).digest()[:4], "big") / 2 ** 32
    loss = round(0.5 * 10 ** (-3 * u), 6)
    return json.dumps({"loss": loss, "accuracy": round(1.0 - 0.9 * loss / (1.0 + loss), 4),
                       "epochs": 50}).encode()


def grow(uri: str, total: int, *, project: str | None = None, seed: int = 0, batch: int = 10000,
         log: list | None = None, progress: bool = False) -> int:
    """Add records until the project holds `total`; returns how many were
    added. With `log`, appends for every new record a dict: label, timestamp
    (aware), tags (sorted), ptype, content, params (the plain data Sumatra's
    parser gives back), outputs (paths), status."""
    conn, ph, dialect = connect(uri)
    q = (lambda c: f"`{c}`") if dialect == "mysql" else (lambda c: f'"{c}"')
    cur = conn.cursor()
    if project is None:
        cur.execute("SELECT id FROM django_store_project ORDER BY id")
        project = cur.fetchone()[0]
    cur.execute(f"SELECT COUNT(*) FROM django_store_record WHERE project_id = {ph}", [project])
    have = cur.fetchone()[0]
    if have == 0:
        raise ValueError(f"project {project!r} has no records: build it with smtql.demo first")
    todo = total - have
    if todo <= 0:
        conn.close()
        return 0
    # The Sumatra-made records give what a project's runs share: executable,
    # repository, launch mode, data stores, users, and the code version at a time.
    cur.execute(f"SELECT timestamp, version, main_file, {q('user')}, executable_id, repository_id, "
                f"launch_mode_id, datastore_id, input_datastore_id, label FROM django_store_record "
                f"WHERE project_id = {ph} ORDER BY timestamp", [project])
    existing = cur.fetchall()
    old_labels = {row[-1] for row in existing}

    def as_time(v):
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    history = [(as_time(r[0]).timestamp(), r[1]) for r in existing]
    history_times = [h[0] for h in history]
    main_files = sorted({r[2] for r in existing})
    users = sorted({r[3] for r in existing})
    shared = existing[0][4:9]
    cur.execute("SELECT id FROM django_content_type WHERE app_label = 'django_store' "
                "AND model = 'record'")
    ctype = cur.fetchone()[0]
    names = ["_%s_" % s for s, _ in STATUSES] + [t for t, _ in USER_TAGS if t]
    cur.execute("SELECT name, id FROM django_store_tag")
    tag_ids = dict(cur.fetchall())
    missing = [n for n in names if n not in tag_ids]
    if missing:
        cur.executemany(f"INSERT INTO django_store_tag (name) VALUES ({ph})", [[n] for n in missing])
        cur.execute("SELECT name, id FROM django_store_tag")
        tag_ids = dict(cur.fetchall())
    cur.execute("SELECT COALESCE(MAX(db_id), 0) FROM django_store_record")
    next_rec = cur.fetchone()[0] + 1
    cur.execute("SELECT COALESCE(MAX(id), 0) FROM django_store_parameterset")
    next_ps = cur.fetchone()[0] + 1
    conn.commit()

    rng = random.Random(seed)
    times = _timestamps(rng, todo)
    seed_base = rng.randrange(1000) * 100000
    insert = {
        "django_store_parameterset": ("id", "type", "content"),
        "django_store_record": RECORD_COLS,
        "django_store_taggeditem": ("object_id", "content_type_id", "tag_id"),
        "django_store_datakey": ("path", "digest", "creation", "metadata", "output_from_record_id"),
    }
    sql = {t: f"INSERT INTO {t} ({', '.join(q(c) for c in cols)}) "
              f"VALUES ({', '.join([ph] * len(cols))})" for t, cols in insert.items()}
    started, done = time.perf_counter(), 0
    while done < todo:
        rows = {t: [] for t in insert}
        for i in range(done, min(todo, done + batch)):
            ts = datetime.fromtimestamp(times[i], UTC)
            db_id = next_rec + i
            label = ts.strftime("%Y%m%d-%H%M%S") + "_%06x" % ((db_id * 0x9E3779B1) & 0xFFFFFF)
            while label in old_labels:  # a Sumatra-made record in the same second
                label = ts.strftime("%Y%m%d-%H%M%S") + "_%06x" % rng.getrandbits(24)
            status = _STATUS(rng)
            cfg = _config(rng, seed_base + i)
            ptype, content = serialise(cfg)
            k = max(0, bisect.bisect_right(history_times, times[i]) - 1)
            version = history[k][1]
            main_file = rng.choice(main_files)
            tags = {"_%s_" % status}
            first = _USER_TAG(rng)
            if first:
                tags.add(first)
                if rng.random() < 0.15:
                    second = _USER_TAG(rng)
                    if second:
                        tags.add(second)
            tags = sorted(tags)
            duration = _duration(rng, status)
            reason = _REASON(rng)
            if reason == "{sweep}":
                reason = rng.choice((f"seed sweep {rng.randint(1, 50)}/50",
                                     f"lr={cfg['lr']}, seed {cfg['seed']}",
                                     f"{cfg['kind']} with {len(cfg['layers'])} layers"))
            outcome = _OUTCOME[status](rng).format(loss=rng.uniform(0.001, 0.1),
                                                   val=rng.uniform(0.001, 0.1),
                                                   kind=cfg["kind"], epoch=rng.randint(1, 20))
            ps_id = next_ps + i
            rows["django_store_parameterset"].append((ps_id, ptype, content))
            rows["django_store_record"].append((
                db_id, label, reason, duration, main_file, version, outcome,
                _db_time(ts, dialect), ",".join(tags), "", rng.choice(users),
                _SCRIPT_ARG(rng).format(seed=cfg["seed"], n_epochs=cfg["n_epochs"]),
                _stdout(rng, status, cfg, label, main_file), None,
                shared[3], shared[0], shared[4], shared[2], ps_id, project, shared[1]))
            rows["django_store_taggeditem"] += [(db_id, ctype, tag_ids[t]) for t in tags]
            n_out = _N_OUT[status](rng) if status in _N_OUT else 0
            created = (ts + timedelta(seconds=duration or rng.randint(1, 600))).replace(
                microsecond=0)
            paths = []
            for name, mimetype in OUTPUT_FILES[:n_out]:
                path = f"out/{label}/{name}"
                paths.append(path)
                rows["django_store_datakey"].append((
                    path, hashlib.sha1(f"{label}:{name}".encode()).hexdigest(),
                    _db_time(created, dialect),
                    json.dumps({"encoding": None, "mimetype": mimetype,
                                "size": rng.randint(200, 5_000_000)}, sort_keys=True), db_id))
            if status == "finished":  # the demo's metrics.json (benchmarks/bench_outputs.py)
                path, metrics = f"out/{label}/metrics.json", metrics_content(label)
                paths.append(path)
                rows["django_store_datakey"].append((
                    path, hashlib.sha1(metrics).hexdigest(), _db_time(created, dialect),
                    json.dumps({"encoding": None, "mimetype": "application/json",
                                "size": len(metrics)}, sort_keys=True), db_id))
            if log is not None:
                log.append({"label": label, "timestamp": ts, "tags": tags, "ptype": ptype,
                            "content": content, "cfg": cfg, "outputs": paths, "status": status,
                            "reason": reason, "outcome": outcome, "duration": duration})
        for table, cols in insert.items():
            if dialect == "postgresql":  # COPY: an order of magnitude faster than INSERTs
                with cur.copy(f"COPY {table} ({', '.join(q(c) for c in cols)}) FROM STDIN") as cp:
                    for row in rows[table]:
                        cp.write_row(row)
            else:
                cur.executemany(sql[table], rows[table])
        conn.commit()
        done += len(rows["django_store_record"])
        if progress:
            rate = done / (time.perf_counter() - started)
            print(f"\r  grown {done:,}/{todo:,} ({rate:,.0f} records/s)", end="", file=sys.stderr,
                  flush=True)
    if progress:
        print(file=sys.stderr)
    if dialect == "postgresql":  # keep Django's sequences ahead of the ids used here
        for table, col in (("django_store_record", "db_id"), ("django_store_parameterset", "id")):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'), "
                        f"(SELECT MAX({col}) FROM {table}))")
        conn.commit()
    conn.close()
    return todo


def expected_params(entry: dict):
    """The plain data Sumatra's parser reads back from a logged record's set."""
    cfg = entry["cfg"]
    fmt = cfg["format"]
    if fmt.startswith("nt"):
        return param_dict(cfg, tuples=True)
    if fmt in ("json", "yaml"):
        return param_dict(cfg, tuples=False)
    if fmt == "simple":
        return simple_dict(cfg)
    return None  # ConfigParser: strings by section; compared as text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.grow", description=__doc__.split("\n")[0])
    p.add_argument("uri", help="SQLite path, postgres://… or mysql://…")
    p.add_argument("total", type=float)
    p.add_argument("--project", default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    t = time.perf_counter()
    n = grow(args.uri, int(args.total), project=args.project, seed=args.seed, progress=True)
    print(f"added {n:,} records in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
