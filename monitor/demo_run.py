"""`monitor demo`: serve the bundled corpus on 127.0.0.1 and run the whole cycle against it.

Each demo starts from a fresh database (the corpus is served on a new port every time, so the
previous demo's URLs would not match); the site is replaced atomically like any run's.
"""

from __future__ import annotations

import io
from pathlib import Path

from ruamel.yaml import YAML

from .config import load_config
from .demo import build_routes, demo_config, load_corpus
from .loopback import LoopbackServer
from .pipeline import run
from .run_summary import RunSummary


def run_demo(workdir: Path, site_dir: Path | None = None) -> tuple[RunSummary, Path]:
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus()
    with LoopbackServer() as server:
        server.routes.update(build_routes(corpus, server.base))
        config_path = workdir / "feeds.yaml"
        text = demo_config(server.base, workdir)
        if site_dir is not None:  # so that `monitor serve --config <workdir>/feeds.yaml` finds it too
            yaml = YAML()
            data = yaml.load(text)
            data["site_dir"] = str(site_dir.resolve())
            out = io.StringIO()
            yaml.dump(data, out)
            text = out.getvalue()
        config_path.write_text(text, encoding="utf-8")
        config = load_config(config_path)
        for suffix in ("", "-wal", "-shm"):
            Path(str(config.database) + suffix).unlink(missing_ok=True)
        summary = run(config)
    return summary, config.site_dir
