"""`python -m bench [--n 2000] [--out bench/results/….json] [--memory-soak 20000]`."""

from __future__ import annotations

import sys

from bench.run import main

if __name__ == "__main__":
    sys.exit(main())
