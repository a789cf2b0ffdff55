"""monitor: watch news feeds for one subject and publish its stories as a static site."""

__version__ = "0.1.0"
USER_AGENT = f"monitor/{__version__} (+https://github.com/monitor-news/monitor; news feed watcher)"
