"""Pieces of the child-process scripts the tests run (Sumatra's Django
store keeps tags right only as a process's first database, DESIGN.md, so
stores are read and smtql's command line run in children)."""

# Sumatra's values (parameter sets, tuples, dates) as plain JSON data.
PLAIN = '''\
import datetime
def plain(v):
    if hasattr(v, "as_dict"):
        v = v.as_dict()
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    return v
'''

# smtql's command line run once per job of sys.argv[1] (a JSON list), in
# one process; prints [{"rc", "out", "err"}, ...] as JSON. A job is an argv,
# or {"argv": [...], "cwd": DIR, "seen": true}: run in DIR, its stdout and
# stderr caught in one text, in the order a terminal would show them ("out").
CLI_RUNS = '''\
import contextlib, io, json, os, sys
from smtql.frontends.cli import main
results = []
for job in json.loads(sys.argv[1]):
    job = job if isinstance(job, dict) else {"argv": job}
    if job.get("cwd"):
        os.chdir(job["cwd"])
    out = io.StringIO()
    err = out if job.get("seen") else io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(job["argv"])
        except SystemExit as exc:
            rc = exc.code
    results.append({"rc": rc, "out": out.getvalue(), "err": err.getvalue() if err is not out else ""})
json.dump(results, sys.stdout)
'''
