"""Whether the data folder can take the files, asked before any API request is spent.

A folder that cannot be written (read-only, under a file, under /proc) would otherwise fail
with a raw ``OSError`` after the sweep, its requests and its quota already paid for.
Remote bases (fsspec URLs) are left to their filesystem: probing one costs requests of its
own and its permissions are not the local process's.
"""

import errno
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from outreach_assets.errors import ConfigError

VARIABLE = "OUTREACH_DATA_DIR"


@dataclass(frozen=True)
class FolderState:
    """A writable local data folder, and how much room it has."""

    path: Path
    created: bool
    free_bytes: int


def is_local(base: str) -> bool:
    return "://" not in base or base.startswith("file://")


def check_data_dir(base: str, *, create: bool = True) -> FolderState | None:
    """Make sure ``base`` exists (creating it if ``create``) and a file can be written in it.

    With ``create`` False nothing is left behind, for the code location's load (``dagster
    definitions validate`` must change nothing): a missing folder is judged by its nearest
    existing parent, in which a temporary sub-folder is made and removed. Returns ``None``
    for a remote base. Raises ``ConfigError`` naming ``OUTREACH_DATA_DIR``, the folder and
    what to do.
    """
    if not is_local(base):
        return None
    path = Path(base.removeprefix("file://")).expanduser().absolute()
    try:
        return _check_local(base, path, create)
    except OSError as exc:  # e.g. a parent that cannot even be looked into
        raise _unwritable(base, "cannot be checked", exc) from exc


def _check_local(base: str, path: Path, create: bool) -> FolderState:
    existed = path.is_dir()
    if not existed:
        if path.exists():
            raise ConfigError(
                f"{VARIABLE}={base} is a file, not a folder: point {VARIABLE} at a folder"
            )
        parent = next(p for p in path.parents if p.exists())  # "/" always exists
        if not parent.is_dir():
            raise ConfigError(
                f"{VARIABLE}={base} lies under the file {parent}: point {VARIABLE} at a folder"
            )
        try:
            if not create:
                with tempfile.TemporaryDirectory(dir=parent, prefix=".outreach-write-probe-"):
                    pass
                return FolderState(path, False, shutil.disk_usage(parent).free)
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(base, f"cannot be created in {parent}", exc) from exc
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".outreach-write-probe-"):
            pass
    except OSError as exc:
        raise _unwritable(base, "is not writable", exc) from exc
    return FolderState(path, not existed, shutil.disk_usage(path).free)


def _unwritable(base: str, what: str, exc: OSError) -> ConfigError:
    return ConfigError(
        f"{VARIABLE}={base} {what} ({_reason(exc)}): fix its permissions or set {VARIABLE} "
        "to a folder this process can write"
    )


def _reason(exc: OSError) -> str:
    code = errno.errorcode.get(exc.errno or 0, "")
    text = exc.strerror or str(exc)
    return f"{code}: {text}" if code else text
