"""`python -m smtql.demo build DIR …`: build the demo project."""

import sys

from .build import main

sys.exit(main())
