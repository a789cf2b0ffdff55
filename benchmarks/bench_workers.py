"""Workers on the task queue: one `monitor run` on a PostgreSQL store with 0 (the run fetches and extracts
itself), 1, 2 and 4 `monitor worker` processes, over the same feeds and pages served on loopback hosts with
latency; how the fetch + extract throughput scales.

    .venv/bin/python benchmarks/bench_workers.py            # 100 feeds x 10 items = 1,000 pages on 20 hosts
    .venv/bin/python benchmarks/bench_workers.py --quick    # 30 feeds x 10 items = 300 pages on 10 hosts

Each row is a new database on one throwaway PostgreSQL server (tests/postgres.py, or
MONITOR_TEST_POSTGRES_URL's server) and a new site folder; the server answers each request after `--delay`
seconds (default 0.2: a far server). Each worker runs `--concurrency 2` jobs with one parser and one
extractor process (`--processes 1`), so N workers use N extraction processes; the run without workers
extracts with one process per core. "feeds + pages" is the run's own timing of those two stages (sending the
jobs and waiting for them, or doing them); the rest of the run (duplicates, stories, site) is the same work
in every row.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401
from bench_run import ITEMS, content_for
from common import LoopbackHosts, hosts, machine_line, table

MONITOR = Path(sys.executable).with_name("monitor")


def write_config(folder: Path, database: str, urls: list[str]) -> Path:
    lines = [f"database: {database}", "site_dir: site", "site_title: Benchmark workers", "allow_private_networks: true",
             "max_articles_per_run: 10000", "time_budget: 1h", "topics:", "  - name: AI self-improvement",
             "    phrases: [self-improving AI]", "    terms: [frontier AI]", "feeds:"]
    lines += [f"  - url: {u}\n    name: Outlet {i}" for i, u in enumerate(urls)]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def workers_alive(database: str) -> int:
    from monitor.store import Store

    with Store.open(database) as store:
        return store.task_workers_alive(30)


def one_run(folder: Path, database: str, urls: list[str], n_workers: int, concurrency: int) -> dict:
    folder.mkdir()
    config = write_config(folder, database, urls)
    workers = [subprocess.Popen([str(MONITOR), "worker", "--config", str(config), "--concurrency", str(concurrency), "--processes", "1",
                                 "--log-file", str(folder / f"worker{i}.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
               for i in range(n_workers)]
    try:
        deadline = time.monotonic() + 120
        while workers_alive(database) < n_workers:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start")
            time.sleep(0.2)
        t0 = time.perf_counter()
        done = subprocess.run([str(MONITOR), "run", "--config", str(config), "--timings", "--log-file", str(folder / "run.log")],
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(60)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    timings = dict(re.findall(r"(\w+) ([\d.]+) s", next(line for line in done.stderr.splitlines() if line.startswith("timings:"))))
    from monitor.store import Store

    with Store.open(database) as store:
        articles = store.articles(with_urls=False)
    summary = next(line for line in done.stderr.splitlines() if line.startswith("monitor: feeds"))
    logs = " ".join(p.read_text() for p in folder.glob("*.log*"))
    return {"workers": n_workers, "wall": wall, "fetch": float(timings["feeds"]) + float(timings["pages"]),
            "articles": len(articles), "extracted": sum(1 for a in articles if a.extracted), "summary": summary,
            "put_back": logs.count("job of a stalled worker put back")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--delay", type=float, default=0.2)
    ap.add_argument("--workers", default="0,1,2,4", help="comma-separated worker counts (0: the run alone)")
    ap.add_argument("--concurrency", type=int, default=2, help="jobs at a time in each worker")
    args = ap.parse_args()
    n_feeds, n_hosts = (30, 10) if args.quick else (100, 20)
    print(machine_line())
    from tests.postgres import PostgresServer

    server = PostgresServer.start()
    addrs = hosts(n_hosts)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, \
                LoopbackHosts(addrs, content_for(n_feeds), delay=args.delay) as srv:
            urls = [srv.url(addrs[f % n_hosts], f"/feed/{f}.xml") for f in range(n_feeds)]
            for n in [int(x) for x in args.workers.split(",")]:
                database = server.database()
                result = one_run(Path(tmp) / f"w{n}", database, urls, n, args.concurrency)
                server.drop(database)
                print(result["summary"], flush=True)
                rows.append(result)
    finally:
        server.stop()
    base = next((r for r in rows if r["workers"] == 1), rows[0])
    print(f"\n{n_feeds} feeds x {ITEMS} items = {n_feeds * ITEMS} pages on {n_hosts} hosts, {args.delay:g} s per answer, "
          f"{args.concurrency} jobs at a time per worker, load {os.getloadavg()[0]:.1f} at the end\n")
    print(table(["workers", "feeds + pages", "pages / s", "vs 1 worker", "whole run", "articles extracted", "jobs put back"],
                [[r["workers"] or "none (the run itself)", f"{r['fetch']:.1f} s", f"{r['extracted'] / r['fetch']:.1f}",
                  f"{base['fetch'] / r['fetch']:.2f}x", f"{r['wall']:.1f} s", f"{r['extracted']:,} of {r['articles']:,}", r["put_back"]]
                 for r in rows]))


if __name__ == "__main__":
    main()
