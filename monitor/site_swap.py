"""Putting a freshly built site in the published one's place, in one step, without writing into its files.

    clean_leftovers(site_dir, work_dir)       # what a killed build left behind
    assemble(site_dir, out, new, drop=...)    # incremental: the published site hard-linked, new files over it
    swap(new, site_dir)                       # one rename (renameat2 RENAME_EXCHANGE); the old site goes later

Readers of site_dir see the whole previous site or the whole new one, never a mix.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import subprocess
from pathlib import Path


def clean_leftovers(site_dir: Path, work_dir: Path) -> None:
    """Remove the temporary folders of a build that was killed, old sites not yet deleted, and the half-written
    files of monitor/files.py's atomic_write a killed build left among the search records (walked once a build:
    ~10 ms for 10,000 records)."""
    if site_dir.parent.is_dir():
        for p in site_dir.parent.glob(f".{site_dir.name}.tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in site_dir.parent.glob(f".{site_dir.name}.old-*"):
            _remove_later(p)
    for p in work_dir.glob("stage-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in (work_dir / "search").rglob(".*.tmp"):
        p.unlink(missing_ok=True)


def assemble(old: Path, out: Path, new: Path, *, drop: set[str]) -> None:
    """Make `new` = the published site, hard-linked (`cp -al`: fast, no data copied), minus the pages that are
    gone, with the freshly built files of `out` renamed over their links (a rename replaces the link; it never
    writes into the file the published site shares)."""
    try:
        subprocess.run(["cp", "-al", str(old), str(new)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(new, ignore_errors=True)
        shutil.copytree(old, new, copy_function=_link_or_copy)
    for page in drop:
        (new / page).unlink(missing_ok=True)
    for root, _dirs, files in os.walk(out):
        rel_root = Path(root).relative_to(out)
        (new / rel_root).mkdir(parents=True, exist_ok=True)
        for name in files:
            os.replace(Path(root) / name, new / rel_root / name)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def swap(new: Path, site_dir: Path) -> None:
    """Put `new` in site_dir's place in one step (renameat2 RENAME_EXCHANGE), then delete the old site."""
    if not site_dir.exists():
        os.rename(new, site_dir)
        return
    old = site_dir.with_name(f".{site_dir.name}.old-{secrets.token_hex(4)}")
    if _exchange(new, site_dir):
        os.rename(new, old)  # `new` now holds the previous site
    else:
        os.rename(site_dir, old)
        os.rename(new, site_dir)
    _remove_later(old)


def _remove_later(path: Path) -> None:
    """Delete an old site in a detached `rm -rf` (10,000 folders take seconds the run need not wait for)."""
    try:
        subprocess.Popen(["rm", "-rf", "--", str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
