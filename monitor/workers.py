"""A pool of worker processes whose tasks can be killed on a time limit (pebble), shared by the stages
that run untrusted input through CPU-heavy libraries: feed parsing and page extraction.

`workers=0` means "in this process" (tiny runs, tests, debugging; no time limit there); None means one
worker per core. The workers are forked on entering, before the caller opens any connection, so they
hold no copies of its sockets. Each worker dies with its parent and may grow by at most WORKER_MEMORY.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import resource
import signal
import sys

from pebble import ProcessPool

PR_SET_PDEATHSIG = 1
WORKER_MEMORY = 1 << 30  # bytes of address space a worker may add to what it inherited (a 5 MB page once took 1.6 GB)


def _start_worker(parent: int, memory: int | None) -> None:
    """Run in each worker as it starts: die with the parent, bound the memory, freeze the inherited objects.

    A worker outliving a SIGKILLed run holds the run's lock (an inherited flock) until its task ends, so
    every run in between exits "locked": the kernel kills the worker when its parent dies (Linux), and a
    worker whose parent is already gone exits at once."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)
    if memory:
        _limit_memory(memory)
    gc.freeze()


def _limit_memory(extra: int) -> None:
    """Cap the address space at what the worker has now plus `extra`: a page that makes the parser grow past
    it fails with MemoryError (an ExtractError) instead of taking the machine's memory."""
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = current + extra
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):
        pass  # no /proc (not Linux): no limit


class WorkerPool:
    def __init__(self, *, workers: int | None, timeout: float):
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.timeout = timeout
        self._pool: ProcessPool | None = None

    def __enter__(self):
        if self.workers > 0:
            self._pool = ProcessPool(max_workers=self.workers, initializer=_start_worker,
                                     initargs=(os.getpid(), WORKER_MEMORY), context=multiprocessing.get_context("fork"))
            self._pool.schedule(os.getpid)  # pebble forks its workers at the first task: make that now
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def schedule(self, task, *args):
        """Run `task(*args)` in a worker under the pool's time limit; a concurrent future (pebble's)."""
        if self._pool is None:
            raise RuntimeError("use the pool as a context manager, with workers > 0")
        return self._pool.schedule(task, args=args, timeout=self.timeout)

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.stop()
            pool.join()
