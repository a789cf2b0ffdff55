"""Feed bodies parsed in worker processes, each parse with a time limit (a hostile feed can make a parser
spin), every failure returned as a ParseError value so that it crosses the process boundary whole.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pebble import ProcessExpired

from .errors import ParseError
from .feeds import parse_feed
from .models import ParsedFeed
from .text import clean_text
from .workers import WorkerPool


def _parse_task(content: bytes, url: str, now: datetime, max_entries: int) -> ParsedFeed | ParseError:
    """parse_feed with every failure as a returned ParseError: a plain value crosses the process boundary whole."""
    try:
        return parse_feed(content, url=url, now=now, max_entries=max_entries)
    except ParseError as exc:
        return ParseError(str(exc))  # its message only: the traceback and cause stay in the worker
    except Exception as exc:  # a bug in a parser on hostile bytes must not stop the run
        return ParseError(f"{url}: not a feed ({type(exc).__name__}: {clean_text(str(exc), 120)})")


class FeedParser(WorkerPool):
    """Parse feed bodies in worker processes, each parse with a time limit: `await parser.parse(body, url=url)`.

    ``with FeedParser(workers=2, timeout=10, now=now, max_entries=200) as parser: ...``
    `workers=0` parses in this process (no time limit); None means one worker per core. The workers
    are forked on entering, before the fetcher opens any connection: a worker forked later would hold
    copies of every open socket, keeping connections the fetcher closed open until the pool stops.
    """

    def __init__(self, *, workers: int | None, timeout: float, now: datetime, max_entries: int):
        super().__init__(workers=workers, timeout=timeout)
        self._args = (now, max_entries)

    async def parse(self, content: bytes, *, url: str, now: datetime | None = None) -> ParsedFeed | ParseError:
        """`now`: the time to read the feed at, when not the parser's own (a worker's parser outlives many runs)."""
        args = (content, url, now or self._args[0], self._args[1])
        if self._pool is None:
            if self.workers > 0:
                raise RuntimeError("use FeedParser as a context manager")
            return _parse_task(*args)
        future = self._pool.schedule(_parse_task, args=args, timeout=self.timeout)
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError:  # pebble killed the worker; the pool starts another
            return ParseError(f"{url}: parsing timed out after {self.timeout:g} s")
        except ProcessExpired as exc:
            return ParseError(f"{url}: parsing worker died (exit code {exc.exitcode})")
        except Exception as exc:  # the pool itself failed (a result that would not pickle, a broken pool)
            return ParseError(f"{url}: parsing failed ({type(exc).__name__}: {clean_text(str(exc), 120)})")
