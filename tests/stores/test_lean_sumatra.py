"""Sumatra's `parameters` package is imported without scipy.stats
(stores/lean_sumatra.py): a describe builds Sumatra Records without loading
SciPy's statistics, and a program importing scipy.stats afterwards gets it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support.store_support import child_env


def test_records_are_built_without_scipy_stats_which_others_still_get(demo_project):
    pytest.importorskip("scipy.stats")  # installed here: parameters.random would load it
    code = ("import sys, smtql; c = smtql.connect(sys.argv[1]); "
            "r = c.query('describe latest').records[0]; "
            "print(type(r).__module__, 'parameters' in sys.modules, 'scipy.stats' in sys.modules); "
            "import scipy.stats; print(scipy.stats.norm.cdf(0))")
    proc = subprocess.run([sys.executable, "-c", code, str(demo_project)], env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["sumatra.records", "True", "False", "0.5"], proc.stderr
