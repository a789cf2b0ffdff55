"""The stories stage's figures and quotes, each story's under a time limit: `facts.story_facts` runs in the
worker pool that bounds page extraction (monitor/workers.py), so an article crafted to be slow for the figure
patterns costs its story its facts, never the run its stories stage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from pebble import ProcessExpired

from . import facts
from .logs import event
from .models import Article, Fact
from .workers import WorkerPool

log = logging.getLogger("monitor.stories")

FACTS_TIMEOUT = 20.0  # seconds one story's fact extraction may take (the limit a page's extraction has)


def stories_facts(articles: Mapping[int, Sequence[Article]], *, workers: int | None) -> dict[int, tuple[Fact, ...]]:
    """Each story's facts, by story id. A story whose extraction times out or kills its worker gets none, with
    a warning naming it. `workers=0` runs in this process, without a time limit (tests, tiny runs)."""
    if not articles:
        return {}
    if workers == 0:
        return {sid: facts.story_facts(arts) for sid, arts in articles.items()}
    out: dict[int, tuple[Fact, ...]] = {}
    timeout = FACTS_TIMEOUT  # read here, not bound as a default, so tests can lower it
    with WorkerPool(workers=workers, timeout=timeout) as pool:
        futures = {sid: pool.schedule(facts.story_facts, list(arts)) for sid, arts in articles.items()}
        for sid, future in futures.items():
            try:
                out[sid] = future.result()
            except TimeoutError:
                event(log, logging.WARNING, "story facts timed out", story=sid, seconds=timeout)
                out[sid] = ()
            except ProcessExpired as exc:
                event(log, logging.WARNING, "story facts worker died", story=sid, exit_code=exc.exitcode)
                out[sid] = ()
    return out
