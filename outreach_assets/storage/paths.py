"""Where a store's files live: partition keys as file names and the folder layout.

Layout: ``<base>/<stream>/<partition key>.parquet``; unpartitioned tables (current-state
assets) are ``<base>/<name>/<name>.parquet``. Paths handed out are *public* ones, under the
``base`` the store was opened with (a folder or an fsspec URL), so they can be shown to
users and opened by other tools; :meth:`Layout.fs_path` turns one into the path the
store's own filesystem object takes.
"""

from typing import Final

import fsspec

EXTENSION: Final = ".parquet"


class Layout:
    """The file layout under one base, and public paths as the filesystem's paths."""

    def __init__(self, base: str, fs: fsspec.AbstractFileSystem, root: str) -> None:
        self.base = strip_trailing_slash(base)
        self._fs = fs
        self._root = strip_trailing_slash(root)

    def stream_path(self, name: str) -> str:
        return f"{self.base}/{check_name(name)}"

    def partition_path(self, name: str, key: str) -> str:
        return f"{self.stream_path(name)}/{safe_key(key)}{EXTENSION}"

    def table_path(self, name: str) -> str:
        return f"{self.stream_path(name)}/{check_name(name)}{EXTENSION}"

    def fs_path(self, path: str) -> str:
        """A public path (``<base>/...``) as a path of this store's filesystem.

        A path under the base maps onto the root the base resolved to; any other path (an
        absolute URL the caller already holds) only loses its protocol.
        """
        if path == self.base or path.startswith(self.base + "/"):
            return self._root + path[len(self.base) :]
        return strip_trailing_slash(self._fs._strip_protocol(path))

    def partition_fs_path(self, name: str, key: str) -> str:
        return self.fs_path(self.partition_path(name, key))


def partition_key(file_name: str) -> str | None:
    """The partition key a committed file of a stream folder stands for, else None.

    Hidden names (temporary files, ``.``) and ``_`` names (dataset metadata such as
    ``_SUCCESS``) are not partitions; :func:`safe_key` never produces either.
    """
    if file_name.endswith(EXTENSION) and not file_name.startswith((".", "_")):
        return unsafe_key(file_name[: -len(EXTENSION)])
    return None


def safe_key(key: str) -> str:
    """A partition key as a file name: no path separators, not hidden from dataset scans.

    ``%`` is escaped first so the mapping can be undone (:func:`unsafe_key`); ``:`` in
    hourly keys and ``|`` in multi-partition keys are left alone (valid on POSIX and S3).
    """
    if not key:
        raise ValueError("partition key must not be empty")
    out = key.replace("%", "%25").replace("/", "%2F").replace("\\", "%5C").replace("\0", "%00")
    if out[0] == ".":
        out = "%2E" + out[1:]
    elif out[0] == "_":
        out = "%5F" + out[1:]
    return out


def unsafe_key(name: str) -> str:
    """The partition key a file name stands for (inverse of :func:`safe_key`)."""
    out = []
    i = 0
    while i < len(name):
        if name[i] == "%" and _is_hex(name[i + 1 : i + 3]):
            out.append(chr(int(name[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def check_name(name: str) -> str:
    """``name`` if it can be a stream or table folder: one visible path segment."""
    if not name or "/" in name or "\\" in name or name.startswith((".", "_")):
        raise ValueError(f"invalid stream or table name {name!r}")
    return name


def strip_trailing_slash(path: str) -> str:
    """``path`` without trailing ``/``, but ``s3://`` or ``/`` stay what they are."""
    while path.endswith("/") and not path.endswith("://") and len(path) > 1:
        path = path[:-1]
    return path


def parent(path: str) -> str:
    """The folder of a ``/``-separated path (fsspec paths use ``/`` on every platform)."""
    return path.rsplit("/", 1)[0] if "/" in path else "."


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)
