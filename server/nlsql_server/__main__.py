"""`python -m nlsql_server` is the `nlsql` command."""

import sys

from .cli import main

sys.exit(main())
