"""The `monitor` command line. Exit codes live here and nowhere else:

    0  the run completed (some feeds may have failed: see the summary)
    1  unexpected error
    2  configuration error (feeds.yaml, OPML, command-line input)
    3  storage error (database corrupt, unwritable, disk full)
    4  site build failed
    75 another run holds the lock (EX_TEMPFAIL: cron will simply try again next time)
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click

from . import __version__
from .config import Config, check_config, load_config
from .errors import BuildError, ClusterError, ConfigError, LockedError, MonitorError, StoreError

DEFAULT_CONFIG = os.environ.get("MONITOR_CONFIG", "feeds.yaml")
config_option = click.option(
    "--config", "config_path", default=DEFAULT_CONFIG, show_default=True, type=click.Path(dir_okay=False),
    help="The feeds.yaml to use (or set MONITOR_CONFIG).",
)
EXIT = {ConfigError: 2, ClusterError: 2, LockedError: 75, StoreError: 3, BuildError: 4}


def _fail(exc: MonitorError) -> None:
    click.echo(f"monitor: error: {exc}", err=True)
    for kind, code in EXIT.items():
        if isinstance(exc, kind):
            sys.exit(code)
    sys.exit(1)


def _load(path: str) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        _fail(exc)
        raise  # unreachable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="monitor")
def main() -> None:
    """Watch news feeds for one subject, group the coverage into stories, publish a static site.

    Example: monitor run --config feeds.yaml
    """


@main.command()
@config_option
@click.option("--quiet", "-q", is_flag=True, help="Print only problems (for cron mail).")
@click.option("--timings", is_flag=True, help="Also print the time each stage took.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Append one line per event to this file (rotated).")
@click.option("--no-wait", is_flag=True,
              help="PostgreSQL store: send the due feeds and pages to the workers and publish what is stored, without waiting.")
def run(config_path: str, quiet: bool, timings: bool, log_file: str | None, no_wait: bool) -> None:
    """Fetch due feeds, extract new articles, group stories and rebuild the site.

    Meant for cron, e.g. hourly. Exits 0 when the run completed even if some feeds failed. On a PostgreSQL
    store with `monitor worker`s running, the feeds and pages are fetched by the workers.

    Example: monitor run --config feeds.yaml --quiet --log-file monitor.log
    """
    import logging

    from .logs import ProgressLine, file_event, setup_logging

    setup_logging(log_file=Path(log_file) if log_file else None, quiet=quiet)
    config = _load(config_path)  # before the pipeline's heavy imports: a bad feeds.yaml fails as fast as `check`
    if no_wait and not isinstance(config.database, str):
        click.echo(f"monitor: warning: --no-wait needs a PostgreSQL store with workers; {config.database} is SQLite: "
                   "this run fetches and extracts itself", err=True)
    from .pipeline import run as run_pipeline

    line = ProgressLine() if sys.stderr.isatty() and not quiet else None
    try:
        if line is None:
            summary = run_pipeline(config, wait=not no_wait)
        else:
            with line:  # warnings print above the progress line, never onto it
                summary = run_pipeline(config, report=_progress(line), wait=not no_wait)
    except MonitorError as exc:
        _fail(exc)
    file_event(logging.getLogger("monitor.run"), logging.INFO, summary.line())
    if not quiet:
        click.echo(summary.line(), err=True)
        click.echo(f"site: {config.site_dir / 'index.html'}", err=True)
    if timings:
        click.echo(summary.timing_line(), err=True)


@main.command()
@config_option
@click.option("--concurrency", type=click.IntRange(1, 256),
              help="Jobs run at a time, each one host's feeds or pages [default: 2 per extraction process].")
@click.option("--processes", type=click.IntRange(1, 256), help="Parser and extractor processes [default: one per core].")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Append one line per event to this file (rotated).")
def worker(config_path: str, concurrency: int | None, processes: int | None, log_file: str | None) -> None:
    """Fetch feeds and pages for `monitor run`, on any machine that reaches the PostgreSQL store.

    Runs until stopped (Ctrl-C or SIGTERM: running jobs finish first). Needs `database: postgresql://...`.

    Example: monitor worker --config feeds.yaml --log-file worker.log
    """
    from .logs import setup_logging

    setup_logging(log_file=Path(log_file) if log_file else None, quiet=False)
    config = _load(config_path)
    from .tasks import work

    try:
        work(config, concurrency=concurrency, processes=processes)
    except MonitorError as exc:
        _fail(exc)


def _progress(line):
    def report(stage: str, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        line.show(f"{stage:6} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")

    return report


@main.command()
@config_option
def export(config_path: str) -> None:
    """Print every stored article as JSON Lines (url, urls, title, source, author, published, text,
    relevant, story, original; a syndicated copy has original false and copy_of its original's URL).

    Example: monitor export --config feeds.yaml > articles.jsonl
    """
    from .pipeline import export_articles
    from .store import Store

    config = _load(config_path)
    try:
        with Store.open(config.database, create=False) as store:
            for record in export_articles(store):
                click.echo(json.dumps(record, ensure_ascii=False))
    except MonitorError as exc:
        _fail(exc)


@main.command(name="cluster")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--explain", is_flag=True,
              help="Also print to stderr, for each story of 2+ articles, why they were joined: shared names, "
                   "figures and words, and their similarities (stdout is unchanged).")
def cluster_command(file, explain) -> None:
    """Group the articles of a JSON Lines file into stories, with no database or network.

    Input lines: {"id", "title", "text", "url", "source", "published"}; output one line per input:
    {"id", "story"}. Same code as `monitor run`. With --explain, one line per story of two or more
    articles on stderr: "story N: ...; shared names/figures: ...; shared words: ...; similarity ...".

    Example: monitor cluster articles.jsonl --explain > stories.jsonl 2> why.txt
    """
    from .cluster import cluster_lines

    notes: list | None = [] if explain else None
    try:
        for line in cluster_lines(file, explanations=notes):
            click.echo(line)
    except MonitorError as exc:
        _fail(exc)
    for note in notes or ():
        click.echo(note.line(), err=True)


@main.command()
@config_option
def check(config_path: str) -> None:
    """Validate feeds.yaml and list every problem, one per line; exit 2 if there are any.

    Example: monitor check --config feeds.yaml
    """
    config, problems = check_config(config_path)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(2)
    assert config is not None  # no problems: it loaded
    click.echo(f"{config_path}: ok ({len(config.feeds)} feeds, {len(config.topics)} topics)")


@main.group(invoke_without_command=True)
@config_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed, for scripts.")
@click.pass_context
def feeds(ctx, config_path: str, as_json: bool) -> None:
    """Show each feed: outlet, last success, last error, next due time, articles stored.

    Example: monitor feeds --config feeds.yaml --json
    """
    ctx.obj = config_path
    if ctx.invoked_subcommand:
        return
    from .feeds_table import feed_rows, render_table
    from .store import Store

    config = _load(config_path)
    try:
        with Store.open(config.database) as store:
            rows = feed_rows(config, store)
    except MonitorError as exc:
        _fail(exc)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        click.echo(render_table(rows, width=os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else 160))


sub_config_option = click.option(
    "--config", "sub_config", default=None, type=click.Path(dir_okay=False),
    help="The feeds.yaml to use (may also be given before the subcommand).",
)


@feeds.command(name="import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False))
@sub_config_option
@click.pass_obj
def feeds_import(config_path: str, opml_file: str, sub_config: str | None) -> None:
    """Add the feeds of an OPML file to feeds.yaml, keeping its comments and order.

    Feeds already listed are skipped. Bad OPML leaves feeds.yaml untouched.

    Example: monitor feeds import subscriptions.opml --config feeds.yaml
    """
    from .opml import import_into_config, parse_opml

    config_path = sub_config or config_path
    try:
        new = parse_opml(Path(opml_file).read_bytes(), path=opml_file)
        report = import_into_config(Path(config_path), new)
    except MonitorError as exc:
        _fail(exc)
    for feed in report.added:
        click.echo(f"added   {feed.url}  ({feed.name or 'no name'})")
    for feed in report.skipped:
        click.echo(f"skipped {feed.url}  (already in {config_path})")
    click.echo(f"{len(report.added)} added, {len(report.skipped)} skipped")


@feeds.command(name="export")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@sub_config_option
@click.pass_obj
def feeds_export(config_path: str, output: str | None, sub_config: str | None) -> None:
    """Write the configured feeds as OPML 2.0 (for any feed reader).

    Example: monitor feeds export --config feeds.yaml -o feeds.opml
    """
    from .opml import export_opml

    config = _load(sub_config or config_path)
    data = export_opml(config.feeds, title=config.site_title)
    if output:
        Path(output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


@main.command()
@config_option
@click.option("--site-dir", type=click.Path(file_okay=False), help="Serve this built site instead of the one feeds.yaml names.")
@click.option("--port", default=8000, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
@click.option("--rebuild", is_flag=True, help="Rebuild the whole site from the database before serving.")
def serve(config_path: str, site_dir: str | None, port: int, rebuild: bool) -> None:
    """Preview the built site on http://127.0.0.1:PORT (Ctrl-C stops). Search works here, not from disk.

    Example: monitor serve --config feeds.yaml --rebuild
    """
    import errno
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

    if site_dir is not None and not rebuild:
        root = Path(site_dir).absolute()
    else:
        config = _load(config_path)
        if rebuild:
            from .pipeline import rebuild_site

            try:
                rebuild_site(config)
            except MonitorError as exc:
                _fail(exc)
        root = Path(site_dir).absolute() if site_dir else config.site_dir
    if not (root / "index.html").exists():
        _fail(ConfigError(f"{root}: no site yet (run `monitor run --config {config_path}` first)"))
    handler = functools.partial(Quiet, directory=str(root))
    try:
        httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            _fail(ConfigError(f"port {port} on 127.0.0.1 is taken: stop what uses it or pass --port {port + 1}"))
        raise
    with httpd:
        click.echo(f"Serving {root} on http://127.0.0.1:{httpd.server_address[1]}/ (Ctrl-C stops)")
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass


@main.command()
@click.option("--site-dir", type=click.Path(file_okay=False), help="Where to put the demo site (default: ./monitor-demo/site).")
@click.option("--workdir", type=click.Path(file_okay=False), default="monitor-demo", show_default=True,
              help="Folder for the demo's feeds.yaml and database.")
@click.option("--quiet", "-q", is_flag=True, help="Print only problems and where the site is.")
def demo(site_dir: str | None, workdir: str, quiet: bool) -> None:
    """Run the whole cycle on the bundled sample corpus, served on 127.0.0.1 (no network needed).

    Example: monitor demo --site-dir /tmp/demo-site
    """
    from .demo_run import run_demo
    from .logs import setup_logging

    setup_logging(log_file=None, quiet=True)
    try:
        summary, site = run_demo(Path(workdir), Path(site_dir) if site_dir else None)
    except MonitorError as exc:
        _fail(exc)
    if not quiet:
        click.echo(summary.line(), err=True)
    click.echo(f"The demo site is at {site / 'index.html'}")
    click.echo(f"Preview it with: {_this_monitor()} serve --site-dir {shlex.quote(str(site.absolute()))}")


def _this_monitor() -> str:
    """How to run this same monitor again from any folder: `monitor` when that is on PATH and is this one,
    else its full path (a virtual environment that is not activated), else `python -m monitor.cli`."""
    import shutil

    me = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    if me is not None and me.name == "monitor":
        on_path = shutil.which("monitor")
        return "monitor" if on_path and Path(on_path).resolve() == me else shlex.quote(str(me))
    return f"{shlex.quote(sys.executable)} -m monitor.cli"


if __name__ == "__main__":  # pragma: no cover
    main()
