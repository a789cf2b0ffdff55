"""What one run did: the counts and problems that `monitor run` prints, and the stage timings."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .logs import event, format_event

log = logging.getLogger("monitor.pipeline")


@dataclass
class RunSummary:
    feeds_due: int = 0
    feeds_fetched: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    pages_extracted: int = 0
    pages_failed: int = 0
    links_resolved: int = 0  # aggregator links resolved by request this run
    links_unresolved: int = 0  # ... and those that failed (kept headline-only, retried later)
    duplicates: int = 0
    relevant: int = 0
    new_stories: int = 0
    updated_stories: int = 0
    merged_stories: int = 0
    jobs_sent: int = 0  # feed and page jobs sent to workers (a PostgreSQL store with `monitor worker`s)
    jobs_failed: int = 0
    jobs_open: int = 0  # still queued or running when the run stopped waiting (all of them with --no-wait)
    jobs_skipped: int = 0  # feeds and pages already in a queued job (an earlier run's): not sent again
    site_built: bool = False
    unfinished: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [
            f"feeds: {self.feeds_fetched} fetched, {self.feeds_not_modified} not modified, {self.feeds_failed} failed"
            if not self.by_workers else f"feeds: {self.feeds_due} due",
            *([f"workers: {self.jobs_sent} jobs sent, {self.jobs_failed} failed"
               + (f", {self.jobs_open} not done yet" if self.jobs_open else "")
               + (f", {self.jobs_skipped} already queued" if self.jobs_skipped else "")] if self.by_workers else []),
            f"{self.new_articles} new articles ({self.duplicates} duplicates merged, {self.pages_failed} pages kept from the feed)"
            if not self.by_workers else f"{self.duplicates} duplicates merged",  # the workers' counts are in their logs
            *([f"aggregator links: resolved {self.links_resolved} of {self.links_resolved + self.links_unresolved}"]
              if self.links_resolved or self.links_unresolved else []),
            f"stories: {self.new_stories} new, {self.updated_stories} updated"
            + (f", {self.merged_stories} merged into others" if self.merged_stories else ""),
            "site rebuilt" if self.site_built else "site unchanged",
            f"{self.seconds:.1f} s",
        ]
        if self.unfinished:
            parts.append("time budget reached: the rest carries over to the next run")
        return "monitor: " + "; ".join(parts)

    def timing_line(self) -> str:
        return "timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items())

    @property
    def by_workers(self) -> bool:
        return bool(self.jobs_sent or self.jobs_skipped)

    def count_jobs(self, outcome) -> None:
        """Add what became of the jobs sent to workers (a tasks.JobOutcome)."""
        self.jobs_skipped += outcome.skipped
        self.jobs_sent += outcome.sent
        self.jobs_failed += outcome.failed
        self.jobs_open += outcome.open

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage for `--timings`."""
        start = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def problem(self, what: str, **fields) -> None:
        """A feed or page that failed: one WARNING line naming it (stderr, even with --quiet, and the log file)."""
        self.problems.append(format_event(what, **fields))
        event(log, logging.WARNING, what, **fields)
