"""`python -m smtql`: the command line, as the `smtql` command."""

import sys

from .frontends.cli import main

sys.exit(main())
