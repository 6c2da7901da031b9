"""Content digests of files: SHA-256 read in fixed-size blocks, so a file of any size costs one pass.

Used for the shard-set digest that names a table version and for the
per-clip `video_sha256` / `instances_sha256` columns `validate` checks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

BLOCK_BYTES = 1 << 20  # 1 MiB reads: memory stays flat, hashing runs at disk speed


def update_from_file(h: Any, path: str | Path) -> None:
    """Feed the bytes of `path` into the hashlib object `h`, one block at a time.

    Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK_BYTES), b""):
            h.update(block)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, 64 lowercase hex digits (as `sha256sum` prints). Raises OSError."""
    h = hashlib.sha256()
    update_from_file(h, path)
    return h.hexdigest()
