"""Fault-injection run: `python scripts/faults.py [--quick] [--duration-scale X] [--keep]`.

Starts its own PostgreSQL, Redis and gunicorn on free loopback ports, with an nginx of its own
in front (shaped like deploy/nginx.conf) when nginx is installed, drives members and staff
through database restarts and hangs, Redis outages and hangs, and slow clients, then checks
through the models that no confirmed save was lost. See `faults/run.py`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faults.run import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
