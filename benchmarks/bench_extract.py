"""Extraction: monitor.extract.Extractor.extract_many on 500 generated ~100 KB news pages (boilerplate,
four layouts) against trafilatura called directly on the same pages in one process.

    .venv/bin/python benchmarks/bench_extract.py            # 500 pages
    .venv/bin/python benchmarks/bench_extract.py --quick    # 150 pages
    .venv/bin/python benchmarks/bench_extract.py --profile  # also cProfile extract_page in this process

Targets: CPU time per page at most 15% above the plain call, and both cores used (at least 1.7x the
single-process pages per second). CPU time counts this process and the reaped worker processes.
The plain call uses the options monitor/extract.py passes (with_metadata=True, tables, no comments),
so the difference is the project's own work: the page-metadata reads and the worker pool. A second
plain row gives trafilatura.extract(html) with its defaults, for reference.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from datetime import datetime, timedelta, timezone

import common  # noqa: F401
from common import Event, article_text, cpu_seconds, machine_line, page_html, parallel_capacity, table, verdict

import trafilatura

from monitor.errors import ExtractError
from monitor.extract import Extractor, extract_page

START = datetime(2026, 2, 1, tzinfo=timezone.utc)


def make_pages(n: int) -> list[tuple[int, bytes, str, str]]:
    """(key, html, url, first words of the lead) for n pages: n/4 events, up to 4 outlets each."""
    pages = []
    for i in range(n):
        ev = Event(i // 4, START + timedelta(hours=i))
        title, paras = article_text(ev, i % 4, paragraphs=6 + i % 7)
        url = f"https://outlet{i % 9}.example/news/{i}"
        html = page_html(url=url, title=title, paragraphs=paras, outlet=f"Outlet {i % 9}", published=ev.when,
                         seed=i, target_kb=90 + i % 21)
        pages.append((i, html, url, paras[0][:60]))
    return pages


def plain(pages, **options) -> tuple[float, float, int]:
    c0, t0, ok = time.process_time(), time.perf_counter(), 0
    for _, html, url, _ in pages:
        if options:
            doc = trafilatura.bare_extraction(html, url=url, **options)
            ok += doc is not None and doc.text is not None and len(doc.text) > 150
        else:
            text = trafilatura.extract(html, url=url)
            ok += text is not None and len(text) > 150
    return time.process_time() - c0, time.perf_counter() - t0, ok


def project(pages, workers: int | None = None) -> tuple[float, float, int, int]:
    leads = {k: lead for k, _, _, lead in pages}
    c0, t0, ok, good = cpu_seconds(), time.perf_counter(), 0, 0
    with Extractor(workers=workers) as ex:
        for key, result in ex.extract_many((k, h, u) for k, h, u, _ in pages):
            if not isinstance(result, ExtractError):
                ok += 1
                good += leads[key][:40] in result.text and "Newsletter" not in result.text
    return cpu_seconds() - c0, time.perf_counter() - t0, ok, good


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    n = 150 if args.quick else 500
    print(machine_line())
    pages = make_pages(n)
    mb = sum(len(h) for _, h, _, _ in pages) / 2**20
    print(f"\n{n} pages, {mb:.0f} MB in all (median {sorted(len(h) for _, h, _, _ in pages)[n // 2] / 1024:.0f} KB)\n")
    before = parallel_capacity()
    plain(pages[:5], with_metadata=True)  # warm caches and lazy imports for both sides (the pool forks after this)
    opts = dict(with_metadata=True, include_comments=False, include_tables=True, include_images=False,
                include_links=False, deduplicate=False)
    b_cpu, b_wall, b_ok = plain(pages, **opts)
    p_cpu, p_wall, p_ok, p_good = project(pages)
    z_cpu, z_wall, z_ok, _ = project(pages, workers=0)
    d_cpu, d_wall, d_ok = plain(pages)
    capacity = parallel_capacity()
    b_pp, p_pp = b_cpu / n * 1000, p_cpu / n * 1000
    rows = [
        ["trafilatura.bare_extraction, same options, 1 process", f"{b_ok}/{n}", f"{b_pp:.1f} ms", "1.00x",
         f"{n / b_wall:.1f}", "1.00x", "-"],
        ["trafilatura.extract defaults, 1 process (reference)", f"{d_ok}/{n}", f"{d_cpu / n * 1000:.1f} ms",
         f"{d_cpu / b_cpu:.2f}x", f"{n / d_wall:.1f}", f"{b_wall / d_wall:.2f}x", "-"],
        ["project: Extractor(workers=0), this process (where the extra CPU goes)", f"{z_ok}/{n}",
         f"{z_cpu / n * 1000:.1f} ms", f"{z_cpu / b_cpu:.2f}x", f"{n / z_wall:.1f}", f"{b_wall / z_wall:.2f}x", "-"],
        ["project: Extractor().extract_many (pool)", f"{p_ok}/{n} ({p_good} with lead, no boilerplate)", f"{p_pp:.1f} ms",
         f"{p_pp / b_pp:.2f}x", f"{n / p_wall:.1f}", f"{b_wall / p_wall:.2f}x",
         f"CPU <= 1.15x: {verdict(p_pp <= 1.15 * b_pp)}; rate >= 1.7x: {verdict(b_wall / p_wall >= 1.7)}"],
    ]
    print(table(["what", "extracted", "CPU per page", "CPU vs plain", "pages/s", "rate vs plain", "target met"], rows))
    print(f"\nparallel capacity before / after the run: two pure-Python processes got {before:.2f} / {capacity:.2f} cores' worth of CPU "
          "(2.00 on an idle 2-core machine); the pool's rate cannot beat this.")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for k, h, u, _ in pages[:100]:
            try:
                extract_page(h, url=u)
            except ExtractError:
                pass
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(20)
        print("\ncProfile of extract_page on 100 pages in this process (top 20 cumulative):\n" + s.getvalue())


if __name__ == "__main__":
    main()
