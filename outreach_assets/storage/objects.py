"""What object stores (``s3://``, ``gs://``, ...) need that local folders do not.

* Fresh listings. s3fs and gcsfs cache directory listings per filesystem instance, and
  fsspec shares one instance per set of options across the process, with no expiry by
  default (``use_listings_cache``, https://filesystem-spec.readthedocs.io/en/latest/api.html
  #fsspec.spec.AbstractFileSystem). A long-lived process (a code server, a sensor, a run
  that reads what another run's process wrote) would then miss new partition files, and
  s3fs even takes a file's *size* from a cached listing when opening it, so a file
  rewritten elsewhere would be read short. Object stores are opened with listings caching
  off unless the caller's storage options say otherwise.
* Uploads of bounded memory. s3fs's ``put_file`` reads a file below twice its part size
  (50 MiB by default) into memory in one piece, and a larger one ten parts at a time
  (``max_concurrency=10``): up to 500 MiB per partition file. :func:`upload` asks for
  :data:`UPLOAD_PART_BYTES` parts, :data:`UPLOAD_CONCURRENCY` at a time: whatever the
  file's size, two parts in flight, each held about twice (the part read and the request
  body made of it; measured, ``test_s3.py``), about 32 MiB. A multipart upload
  becomes the object only when it is completed, and s3fs aborts it on any error, so the
  commit stays all-or-nothing (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
  mpuoverview.html).
* Cleanup of a killed process's upload. A process killed mid-upload leaves an incomplete
  multipart upload: invisible, but stored and billed until aborted.
  :func:`abort_stale_uploads` aborts those of a stream folder older than ``STALE_AFTER``,
  as the local store removes a killed process's temporary files. It needs
  ``s3:ListBucketMultipartUploads`` and ``s3:AbortMultipartUpload``; without them it does
  nothing, and a bucket lifecycle rule (``AbortIncompleteMultipartUpload``,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpu-abort-incomplete-mpu-lifecycle-config.html)
  does the same.
"""

import inspect
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import fsspec
from fsspec.core import split_protocol

# fsspec protocols whose implementations (s3fs, gcsfs, adlfs) cache listings; other
# filesystems may pass unknown options on to their transport and are left as they are.
CACHING_PROTOCOLS: Final = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl"})
# S3 takes parts of 5 MiB to 5 GiB, at most 10,000 of them
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
UPLOAD_PART_BYTES: Final = 8 * 2**20
UPLOAD_CONCURRENCY: Final = 2
MAX_PARTS: Final = 10_000


def filesystem_options(base: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``storage_options`` for ``base``, with listings caching off on object stores."""
    options = dict(storage_options or {})
    protocol, _ = split_protocol(base)
    if protocol in CACHING_PROTOCOLS:
        options.setdefault("use_listings_cache", False)
    return options


def part_bytes(size: int) -> int:
    """The part size for a file of ``size`` bytes: the default, or more for huge files."""
    return max(UPLOAD_PART_BYTES, math.ceil(size / MAX_PARTS))


def upload(fs: fsspec.AbstractFileSystem, local: str, target: str, size: int) -> None:
    """Upload the local file ``local`` to ``target`` as one object, in bounded memory.

    The part size and concurrency are passed where the filesystem's ``put_file`` takes
    them (s3fs both, gcsfs the chunk size); others get their defaults.
    """
    put = getattr(fs, "_put_file", fs.put_file)
    accepted = inspect.signature(put).parameters
    options: dict[str, Any] = {}
    if "chunksize" in accepted:
        options["chunksize"] = part_bytes(size)
    if "max_concurrency" in accepted:
        options["max_concurrency"] = UPLOAD_CONCURRENCY
    fs.put_file(local, target, **options)


def abort_stale_uploads(
    fs: fsspec.AbstractFileSystem, folder: str, older_than: timedelta
) -> list[str]:
    """Abort the incomplete multipart uploads of objects in ``folder`` started before
    ``older_than`` ago; their keys. Only on S3 (s3fs), where a killed upload lingers.

    One folder (a stream's) per call, so a run writing a thousand partitions of a stream
    lists its uploads once, not once per partition. Refused permissions leave the uploads
    alone: a write must not fail for want of a cleanup right.
    """
    if "s3" not in _protocols(fs):
        return []
    bucket, prefix, _ = fs.split_path(folder)
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    cutoff = datetime.now(UTC) - older_than
    try:
        return _abort_older(fs, bucket, prefix, cutoff)
    except PermissionError:  # s3fs's translation of AccessDenied
        return []


def _abort_older(
    fs: fsspec.AbstractFileSystem, bucket: str, prefix: str, cutoff: datetime
) -> list[str]:
    """The listing page by page (S3 returns at most 1,000 uploads a request), objects
    directly in the folder only: a deeper key belongs to another folder's writes."""
    aborted = []
    markers: dict[str, str] = {}
    while True:
        found = fs.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix, **markers)
        for entry in found.get("Uploads", []):
            key = entry["Key"]
            if "/" not in key[len(prefix) :] and entry["Initiated"] < cutoff:
                fs.call_s3(
                    "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=entry["UploadId"]
                )
                aborted.append(str(key))
        if not found.get("IsTruncated"):
            return aborted
        markers = {
            "KeyMarker": found["NextKeyMarker"],
            "UploadIdMarker": found["NextUploadIdMarker"],
        }


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
