"""Durable files: the directory fsync that makes a rename or a new file survive a crash.

The lowest layer beside ``errors``: key files (``crypto.keys``) and blobs (``storage.blobs``) both write
a temporary file, fsync it, rename it into place and then fsync the directory with ``fsync_dir``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir"]


def fsync_dir(directory: Path) -> None:
    """Make the directory entry of a new or renamed file durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
