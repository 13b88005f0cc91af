"""Files that appear whole or not at all: hidden temporary files, their commit, their cleanup.

A file is written to a hidden temporary file first (the leading ``.`` hides it from
pyarrow/DuckDB dataset scans), then committed:

* locally, the temporary file sits next to its target, on the same filesystem, so the
  commit is an ``os.replace``;
* on object stores, it sits in a local staging folder, and the commit is one upload
  (:func:`~outreach_assets.storage.objects.upload`: multipart in bounded memory), which
  appears whole or not at all.

A killed process leaves its temporary files behind, and on S3 an incomplete multipart
upload; the next write of the same target removes those untouched for :data:`STALE_AFTER`.
"""

import contextlib
import os
import secrets
import tempfile
import time
from datetime import timedelta
from typing import Final

import fsspec
from fsspec.implementations.local import LocalFileSystem

from outreach_assets.storage.objects import abort_stale_uploads, upload
from outreach_assets.storage.paths import parent

INPROGRESS_SUFFIX: Final = ".inprogress"
# A temporary file untouched for this long is taken to be a killed process's and removed when
# the same file is written again. Should it belong to a run still writing that partition
# (two runs on one partition, one idle for an hour), that run loses its file and fails
# before committing anything; its retry starts over.
STALE_AFTER: Final = timedelta(hours=1)
STAGING_DIR_NAME: Final = "outreach_assets-staging"


class AtomicFiles:
    """Temporary files for targets on one filesystem (``fs`` paths), and their commit."""

    def __init__(self, fs: fsspec.AbstractFileSystem) -> None:
        self._fs = fs
        self.local = isinstance(fs, LocalFileSystem)
        self._swept: set[str] = set()  # remote folders whose stale uploads were aborted

    def new_temp(self, target: str) -> str:
        """A hidden local temporary file for ``target``, created empty and exclusively.

        Exclusive creation: two runs writing the same target never share a file.
        """
        directory, prefix = self._temp_location(target)
        os.makedirs(directory, exist_ok=True)
        while True:
            path = os.path.join(directory, f"{prefix}{secrets.token_hex(4)}{INPROGRESS_SUFFIX}")
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
        """Delete temporary files of ``target`` left behind by a killed process, and on S3
        abort its folder's abandoned uploads (once per folder and store)."""
        folder = parent(target)
        if not self.local and folder not in self._swept:
            abort_stale_uploads(self._fs, folder, STALE_AFTER)
            self._swept.add(folder)
        directory, prefix = self._temp_location(target)
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return
        cutoff = time.time() - STALE_AFTER.total_seconds()
        for entry in entries:
            if entry.startswith(prefix) and entry.endswith(INPROGRESS_SUFFIX):
                path = os.path.join(directory, entry)
                with contextlib.suppress(FileNotFoundError):
                    if os.path.getmtime(path) < cutoff:
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


def remove_quietly(path: str) -> None:
    """Remove a local file that may already be gone (committed, or never written)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
