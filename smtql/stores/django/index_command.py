"""`smtql index [--status|--rebuild|--drop]`: the parameter index of a
store (paramindex.py), shown, built anew or deleted. Apart from paramindex
so that the index itself does not depend on the reader."""

from __future__ import annotations

import time

from . import schema as S
from .paramindex import IndexUnavailable, ParamIndex
from .reader import DjangoSqlStore, Query
from .schema import Sql


def manage(store, action: str) -> str:
    """`smtql index --status|--rebuild|--drop` on an open store."""
    if not isinstance(store, DjangoSqlStore):
        return (f"{store.describe()}: no parameter index (only Sumatra's Django stores have "
                f"one; this store is read through Sumatra's API)")
    store.forget_index()  # not held open (nor ATTACHed) while it is replaced
    index = ParamIndex(store.location)
    if action == "drop":
        existed = index.path.exists()
        index.drop()
        return f"dropped the parameter index {index.path}" if existed else \
            f"no parameter index to drop ({index.path})"
    try:
        index.open()
    except IndexUnavailable as err:
        return f"the parameter index cannot be kept: {err}"
    try:
        with Query(store) as qy:
            if action == "rebuild":
                index._write(index._recreate)
                t = time.perf_counter()
                index.refresh(qy)
                took = time.perf_counter() - t
            row = qy.run(Sql(f"SELECT COUNT(*), MAX(id) FROM {S.PARAMETERSET.name}"))[0]
        info = index.status()
        behind = int(row[0]) - info["sets"]
        lines = [f"{k}: {v}" for k, v in info.items()]
        lines.append(f"store sets: {row[0]}")
        lines.append("up to date" if behind == 0 and (row[1] or 0) <= info["newest set id"]
                     else "not up to date (brought up to date by the next query)")
        if action == "rebuild":
            lines.insert(0, f"rebuilt: {index.built_now} sets in {took:.1f} s")
        return "\n".join(lines)
    finally:
        index.close()
