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

# smtql's command line run once per argv of sys.argv[1] (a JSON list), in
# one process; prints [{"rc", "out", "err"}, ...] as JSON.
CLI_RUNS = '''\
import contextlib, io, json, sys
from smtql.frontends.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code
    results.append({"rc": rc, "out": out.getvalue(), "err": err.getvalue()})
json.dump(results, sys.stdout)
'''
