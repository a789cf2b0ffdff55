"""Writing a file so that a reader (or a crash) never sees half of it: the one atomic writer."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Write `data` to a new file beside `path` and rename it over `path`: readers see the old file or the
    whole new one, and an existing file (maybe hard-linked elsewhere) is never written into. `durable`
    fsyncs the new file before the rename, so that a crash cannot leave an empty file in its place; pass
    False only for files rebuilt from the database anyway (it costs ~1.5 ms a file on a plain disk).

    The new file keeps the old one's permissions (a new one gets the umask's); raises OSError, leaving
    no temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
