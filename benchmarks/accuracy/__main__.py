"""`python -m benchmarks.accuracy`: see `run.py`."""

from .run import main

raise SystemExit(main())
