"""Files that appear whole or not at all: hidden temporary files, their commit, their cleanup.

A file is written to a hidden temporary file first (the leading ``.`` hides it from
pyarrow/DuckDB dataset scans), then committed:

* locally, the temporary file sits next to its target, on the same filesystem, so the
  commit is an ``os.replace``;
* on object stores, it sits in a local staging folder, and the commit is one upload
  (:func:`~outreach_assets.storage.objects.upload`: multipart in bounded memory), which
  appears whole or not at all.

A killed process leaves its temporary files behind, and on S3 an incomplete multipart
upload. The first write of a stream by a store removes its folder's leftovers: a temporary
file whose name says it was made on this host by a process that is gone, at once; any other
untouched for :data:`STALE_AFTER` (its process may live on another host sharing the
folder); and on S3 the folder's uploads older than that.
"""

import contextlib
import functools
import os
import re
import secrets
import socket
import tempfile
import time
from datetime import timedelta
from typing import Final

import fsspec
from fsspec.implementations.local import LocalFileSystem

from outreach_assets.storage.objects import abort_stale_uploads, upload
from outreach_assets.storage.paths import parent

INPROGRESS_SUFFIX: Final = ".inprogress"
# A temporary file of another host untouched for this long is taken to be a killed process's
# and removed by the next write of its stream. Should it belong to a run still writing (one
# idle for an hour), that run loses its file and fails before committing anything; its retry
# starts over.
STALE_AFTER: Final = timedelta(hours=1)
_NOT_IN_NAMES: Final = re.compile(r"[^A-Za-z0-9-]")
STAGING_DIR_NAME: Final = "outreach_assets-staging"


class AtomicFiles:
    """Temporary files for targets on one filesystem (``fs`` paths), and their commit."""

    def __init__(self, fs: fsspec.AbstractFileSystem) -> None:
        self._fs = fs
        self.local = isinstance(fs, LocalFileSystem)
        self._swept: set[str] = set()  # remote folders whose stale uploads were aborted

    def new_temp(self, target: str) -> str:
        """A hidden local temporary file for ``target``, created empty and exclusively,
        named after its host and process so that a cleanup can tell a dead writer's.

        Exclusive creation: two runs writing the same target never share a file.
        """
        directory, prefix = self._temp_location(target)
        os.makedirs(directory, exist_ok=True)
        while True:
            name = f"{prefix}{_owner()}.{secrets.token_hex(4)}{INPROGRESS_SUFFIX}"
            path = os.path.join(directory, name)
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                continue
            return path

    def commit(self, tmp: str, target: str) -> None:
        """Make the finished temporary file ``tmp`` the file ``target``, in one step."""
        if self.local:
            os.replace(tmp, target)
        else:
            self._fs.makedirs(parent(target), exist_ok=True)
            upload(self._fs, tmp, target, os.path.getsize(tmp))
            remove_quietly(tmp)

    def remove_stale(self, target: str) -> None:
        """Delete the leftovers of killed writers of ``target``'s stream (see the module's
        docstring), once per stream folder and store, before its first write."""
        folder = parent(target)
        if folder in self._swept:
            return
        self._swept.add(folder)
        if not self.local:
            abort_stale_uploads(self._fs, folder, STALE_AFTER)
        directory, prefix = self._temp_location(target)
        prefix = prefix if not self.local else "."  # every partition's, locally
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return
        cutoff = time.time() - STALE_AFTER.total_seconds()
        for entry in entries:
            if entry.startswith(prefix) and entry.endswith(INPROGRESS_SUFFIX):
                path = os.path.join(directory, entry)
                with contextlib.suppress(FileNotFoundError):
                    if _writer_is_gone(entry) or os.path.getmtime(path) < cutoff:
                        os.remove(path)

    def _temp_location(self, target: str) -> tuple[str, str]:
        """Directory and name prefix of ``target``'s temporary files.

        Locally they sit next to the target (same filesystem, so ``os.replace`` is atomic);
        for object stores in a local staging folder, named after the target's stream too.
        """
        folder, base = parent(target), target.rsplit("/", 1)[-1]
        if self.local:
            return folder, f".{base}."
        stream = folder.rsplit("/", 1)[-1]
        return os.path.join(tempfile.gettempdir(), STAGING_DIR_NAME), f".{stream}.{base}."


@functools.cache
def _host() -> str:
    """This host's name as it goes into a temporary file's name."""
    return _NOT_IN_NAMES.sub("-", socket.gethostname())


def _owner() -> str:
    """``<host>-<pid>`` of this process (the pid changes in a forked child: not cached)."""
    return f"{_host()}-{os.getpid()}"


def _writer_is_gone(name: str) -> bool:
    """Whether the temporary file ``name`` was made on this host by a process that no longer
    exists; ``False`` when its name does not say (another host, an older name)."""
    parts = name.removesuffix(INPROGRESS_SUFFIX).rsplit(".", 2)
    if len(parts) < 3:
        return False
    host, _, pid = parts[1].rpartition("-")
    if host != _host() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def remove_quietly(path: str) -> None:
    """Remove a local file that may already be gone (committed, or never written)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
