"""`monitor worker` for the tests, with the clock passed in (the same one as the run it is compared with):

    python -m tests.worker_process FEEDS_YAML ISO_TIME
"""

from __future__ import annotations

import sys
from datetime import datetime

from monitor.config import load_config
from monitor.tasks import work

if __name__ == "__main__":
    at = datetime.fromisoformat(sys.argv[2])
    work(load_config(sys.argv[1]), concurrency=4, processes=1, now=lambda: at)
