"""The command line in-process (click's CliRunner): what a user types and what comes back."""

from __future__ import annotations

import subprocess
import sys


def test_run_with_a_bad_config_fails_before_loading_the_pipeline(tmp_path):
    # `monitor run` from cron with a broken feeds.yaml must answer as fast as `monitor check`: the
    # stages (scipy, scikit-learn, mkdocs) are only imported once the configuration is known to be good
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - url: ftp://example.org/feed\n", encoding="utf-8")
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from monitor.cli import main\n"
        f"r = CliRunner().invoke(main, ['run', '--config', {str(bad)!r}])\n"
        "print(r.exit_code, 'monitor.pipeline' in sys.modules, 'scipy' in sys.modules)\n"
        "print(r.output.strip())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout.splitlines()
    assert out[0] == "2 False False"
    assert out[1] == f"monitor: error: {bad}:2: feeds[0].url: 'ftp://example.org/feed' is not an http(s) URL"


def test_an_unexpected_error_inside_a_fetch_stops_the_run_loudly(server, tmp_path, monkeypatch):
    # a fetch that fails ends as a FetchError, stored on its feed; any other exception is a bug (or an httpx
    # whose internals changed) and must not pass for "time budget reached" with exit 0
    import pytest

    from monitor.config import load_config
    from monitor.fetch import Fetcher
    from monitor.pipeline import run

    from .sample import serve_sample, write_config

    serve_sample(server)
    config = load_config(write_config(tmp_path, server))

    async def broken(self, url, **options):
        raise RuntimeError("transport internals changed")

    monkeypatch.setattr(Fetcher, "get", broken)
    with pytest.raises(RuntimeError, match="transport internals changed"):
        run(config, extract_workers=0)
