"""The one atomic writer: whole file or old file, permissions kept, nothing left behind."""

import os

import pytest

from monitor.files import atomic_write


def test_atomic_write_replaces_the_file_keeping_its_mode_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "feeds.yaml"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "hard-link"
    os.link(target, link)
    atomic_write(target, "new\n")
    assert target.read_text() == "new\n"
    assert link.read_text() == "old\n"  # a new file was renamed over it, never written into
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeds.yaml", "hard-link"]


def test_a_new_file_gets_the_umasks_permissions_and_its_folder(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "site" / "stories.json", b"{}", durable=False)
    finally:
        os.umask(old)
    assert (tmp_path / "site" / "stories.json").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic_write(target, 42)  # type: ignore[arg-type]
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["state.json"]
