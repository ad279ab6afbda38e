"""Object-store sources (`s3://bucket/key.csv`): copied through fsspec beside the output, streamed, then read.

A local copy lets every connector (and the format sniffing) treat the object as the file it is; the copy is
streamed in blocks, so an object larger than memory is fine. Credentials and endpoint come from the standard
places of the filesystem's library: for S3, s3fs/botocore's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_ENDPOINT_URL` (or `~/.aws/`), and fsspec's `FSSPEC_S3_*` variables.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from conveyor.errors import UnreadableData

OBJECT_STORE_SCHEMES = ("s3://",)


def is_object_url(source: str | Path) -> bool:
    """Whether `source` names an object in a store (`s3://…`) rather than a local file."""
    return isinstance(source, str) and source.startswith(OBJECT_STORE_SCHEMES)


def fetch(url: str, workdir: Path) -> Path:
    """Copy the object at `url` into `workdir` under its own name; errors name the object and what to check."""
    import fsspec

    try:
        # A fresh client per ingest: it reads the credentials and endpoint as they are now, not as first cached.
        filesystem, key = fsspec.core.url_to_fs(url, skip_instance_cache=True)
    except ImportError:
        raise UnreadableData(
            f"Reading {url} needs s3fs, which is not installed.",
            hint="Install the extra: pip install 'conveyor-ml[s3]'.",
        ) from None
    local = workdir / (PurePosixPath(key).name or "object")
    try:
        filesystem.get_file(key, str(local))
    except FileNotFoundError:
        raise UnreadableData(
            f"{url} does not exist.", hint="Check the bucket and key (list them with `aws s3 ls` or s3fs)."
        ) from None
    except PermissionError as error:
        raise UnreadableData(
            f"Access to {url} was denied: {error}.",
            hint="Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials) for this bucket.",
        ) from None
    except Exception as error:  # each store's library has its own connection errors (botocore's are no OSError)
        raise UnreadableData(
            f"{url} could not be read: {error}.",
            hint="Check AWS_ENDPOINT_URL (for a non-AWS store) and the network path to it.",
        ) from error
    return local
