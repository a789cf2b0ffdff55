"""A pool of worker processes whose tasks can be killed on a time limit (pebble), shared by the stages
that run untrusted input through CPU-heavy libraries: feed parsing and page extraction.

`workers=0` means "in this process" (tiny runs, tests, debugging; no time limit there); None means one
worker per core. The workers are forked on entering, before the caller opens any connection, so they
hold no copies of its sockets.
"""

from __future__ import annotations

import gc
import multiprocessing
import os

from pebble import ProcessPool


class WorkerPool:
    def __init__(self, *, workers: int | None, timeout: float):
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.timeout = timeout
        self._pool: ProcessPool | None = None

    def __enter__(self):
        if self.workers > 0:
            self._pool = ProcessPool(max_workers=self.workers, initializer=gc.freeze,
                                     context=multiprocessing.get_context("fork"))
            self._pool.schedule(os.getpid)  # pebble forks its workers at the first task: make that now
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.stop()
            pool.join()
