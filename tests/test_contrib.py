"""The scheduling recipes in contrib/ parse, agree with the CLI and feeds.yaml, and do not rot."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from monitor.cli import main
from monitor.config import load_config

ROOT = Path(__file__).resolve().parent.parent
CONTRIB = ROOT / "contrib"
RUN_OPTIONS = {p.opts[0] for p in main.commands["run"].params}


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((CONTRIB / "systemd" / name).read_text())
    return parser


def _monitor_args(command: str) -> list[str]:
    """The arguments after `monitor run` in a shell command line, checked against the real CLI."""
    words = shlex.split(command)
    start = next(
        i for i, w in enumerate(words[:-1]) if (w.endswith("/bin/monitor") or w == "monitor") and words[i + 1] == "run"
    )
    args = []
    for word in words[start + 2:]:
        if word in (">>", ">", "2>&1", "&&", "|"):
            break
        args.append(word)
    for word in args:
        if word.startswith("-"):
            assert word in RUN_OPTIONS, f"`monitor run` has no option {word}"
    return args


def test_crontab_runs_hourly_under_flock_with_a_log():
    lines = [
        line for line in (CONTRIB / "crontab").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#") and not re.match(r"^[A-Z_]+=", line)
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    minute, hour, day, month, weekday, command = fields
    assert minute.isdigit() and 0 <= int(minute) < 60
    assert (hour, day, month, weekday) == ("*", "*", "*", "*")
    assert "%" not in command  # cron would turn it into a newline
    words = shlex.split(command)
    assert words[words.index("flock") + 1] == "-n"
    lock = words[words.index("flock") + 2]
    assert not lock.endswith(".sqlite3.lock"), "monitor takes <database>.lock itself"
    args = _monitor_args(command)
    assert "--quiet" in args and "--config" in args and "--log-file" in args
    subprocess.run(["sh", "-n", "-c", command], check=True)  # the shell accepts it


def test_systemd_service_is_a_sandboxed_oneshot_that_can_write_its_data():
    unit = _unit("monitor.service")
    service = unit["Service"]
    assert service["Type"] == "oneshot"
    assert "network-online.target" in unit["Unit"]["After"]
    args = _monitor_args(service["ExecStart"])
    config = Path(args[args.index("--config") + 1])
    log_file = Path(args[args.index("--log-file") + 1])
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    writable = [Path("/var/lib") / service["StateDirectory"], Path("/var/log") / service["LogsDirectory"]]
    writable += [Path(p.lstrip("-")) for p in service.get("ReadWritePaths", "").split()]
    # feeds.yaml's relative database and site paths resolve inside a writable directory
    assert any(config.parent == w or w in config.parents for w in writable)
    assert any(w in log_file.parents for w in writable)
    assert service["WorkingDirectory"] in map(str, writable)
    assert "75" in service["SuccessExitStatus"].split()  # LockedError is not a failure


def test_systemd_timer_is_hourly_randomized_and_persistent():
    timer = _unit("monitor.timer")["Timer"]
    assert timer["OnCalendar"] == "hourly"
    assert timer["Persistent"] == "true"
    assert timer["RandomizedDelaySec"]
    assert timer["Unit"] == "monitor.service"
    assert _unit("monitor.timer")["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_accepts_the_units(tmp_path):
    """systemd itself reads the units: unknown keys or bad values are reported on stderr."""
    monitor_bin = Path(sys.executable).parent / "monitor"
    for name in ("monitor.service", "monitor.timer"):
        text = (CONTRIB / "systemd" / name).read_text()
        # the recipe's path does not exist on this machine; verify also checks ExecStart is executable
        (tmp_path / name).write_text(text.replace("/srv/monitor/.venv/bin/monitor", str(monitor_bin)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "monitor.service"), str(tmp_path / "monitor.timer")],
        capture_output=True, text=True, timeout=60,
    )
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "monitor." in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def test_github_workflow_runs_hourly_caches_the_database_and_deploys_pages():
    workflow = YAML(typ="safe").load((CONTRIB / "github-actions" / "monitor.yml").read_text())
    triggers = workflow["on"]
    (schedule,) = triggers["schedule"]
    cron = schedule["cron"].split()
    assert len(cron) == 5 and cron[0].isdigit() and cron[1:] == ["*"] * 4
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow["concurrency"]["cancel-in-progress"] is False

    steps = workflow["jobs"]["run"]["steps"]
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    runs = [s["run"] for s in steps if "run" in s]
    assert str(uses["actions/setup-python"]["with"]["python-version"]) == "3.11"
    assert "actions/checkout" in uses
    assert any(r.strip() == "pip install -e ." for r in runs)
    (run_line,) = [r for r in runs if "monitor run" in r]
    args = _monitor_args(run_line)
    config = load_config(ROOT / args[args.index("--config") + 1])
    database = config.database.relative_to(ROOT).as_posix()
    site_dir = config.site_dir.relative_to(ROOT).as_posix()

    restore, save = uses["actions/cache/restore"]["with"], uses["actions/cache/save"]["with"]
    assert restore["path"] == save["path"] == database
    assert "github.run_id" in restore["key"] and restore["key"] == save["key"]
    prefix = restore["restore-keys"].strip()
    assert restore["key"].startswith(prefix)
    assert uses["actions/cache/save"]["if"] == "always()"  # keep what a failed run stored
    order = [s.get("uses", s.get("run", "")).split("@")[0] for s in steps]
    assert order.index("actions/cache/restore") < order.index(run_line) < order.index("actions/cache/save")
    assert uses["actions/upload-pages-artifact"]["with"]["path"] == site_dir

    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "run"
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_readme_covers_every_recipe():
    readme = (CONTRIB / "README.md").read_text()
    for name in ("crontab", "systemd/monitor.service", "systemd/monitor.timer", "github-actions/monitor.yml"):
        assert (CONTRIB / name).is_file()
        assert name.split("/")[-1] in readme
