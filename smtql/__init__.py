"""smtql: a query language for Sumatra record stores.

    import smtql
    store = smtql.connect("path/to/project")
    res = store.query("tag finished and after 2020-09-12")
    res.labels, res.dataframe(), res.records
"""

from .api import Connection, connect, load
from .errors import QueryError, QuerySyntaxError, SmtqlError, StoreError

__version__ = "0.1.0"
__all__ = ["connect", "load", "Connection", "SmtqlError", "QuerySyntaxError", "QueryError",
           "StoreError"]


def load_ipython_extension(ip):  # `%load_ext smtql`; IPython is imported only then
    from .frontends.magic import load_ipython_extension as load
    load(ip)
