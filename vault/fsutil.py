"""File-system helpers: private modes whatever the umask, and atomic writes."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from vault import crypto

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` if needed and make it 0700 (owner only)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def private_open(path: Path, flags: int) -> int:
    """``os.open`` that leaves a file it creates at 0600 whatever the umask."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, whole."""
    with _atomic(path, binary=True) as fh:
        fh.write(data)


def atomic_writer(path: Path, *, new: bool = False) -> contextlib.AbstractContextManager[IO[str]]:
    """A text file (0600) that appears at ``path`` only if the block completes. With ``new``,
    a file that exists at ``path`` by then (even one made while the block ran) is never replaced:
    :class:`FileExistsError` instead, and nothing is written."""
    return _atomic(path, binary=False, new=new)


def _link_new(tmp: Path, path: Path) -> None:
    """Put ``tmp`` at ``path`` unless something is there already."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links (e.g. FAT): check, then rename
        if path.exists():
            raise FileExistsError(17, "File exists", str(path)) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def atomic_binary_writer(path: Path, *, new: bool = False) -> contextlib.AbstractContextManager[IO[bytes]]:
    """:func:`atomic_writer` for bytes."""
    return _atomic(path, binary=True, new=new)


@contextlib.contextmanager
def _atomic(path: Path, *, binary: bool, new: bool = False) -> Iterator[IO[Any]]:
    """Temp file in the same directory (0600), fsync, rename over (or, if ``new``, hard-link
    into place, which fails if the name is taken), fsync the directory."""
    tmp = path.with_name(f".{path.name}.{crypto.random_bytes(6).hex()}.tmp")
    fd = private_open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        fh: IO[Any] = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if new:
            _link_new(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def shred_file(path: Path) -> None:
    """Overwrite the regular file ``path`` with zeros, flush that to the disk, then unlink it.

    What the file held is then gone from the file system's view of it; a copy-on-write or
    journalling file system, or an SSD's wear levelling, may keep old blocks that only
    whole-disk encryption protects. A symbolic link, a file with other hard links or anything
    else but a plain file is only unlinked: overwriting it would destroy whatever else it names.
    Raises :class:`OSError`.
    """
    if _alone(os.lstat(path)):
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            st = os.fstat(fd)
            if _alone(st):  # still the file looked at
                zeros = bytes(1 << 20)
                done = 0
                while done < st.st_size:
                    done += os.pwrite(fd, zeros[: min(len(zeros), st.st_size - done)], done)
                os.fsync(fd)
        finally:
            os.close(fd)
    path.unlink()
    fsync_dir(path.parent)


def _alone(st: os.stat_result) -> bool:
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1
