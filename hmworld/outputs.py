"""Where a command writes: checked before the work starts, and one line when the file system refuses.

`check_dir` / `check_file` prove an output can be written (a folder that can
hold a new file; a file whose place is not a folder) so that a command refuses
in one line before it spends time. `os_error_line` turns the errors the file
system can still raise later (read-only, not a folder, disk full) into one
line naming the path; the CLI prints it instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hmworld.errors import UserError

FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.EEXIST,
                     errno.ENAMETOOLONG})
_ERRNO_TEXT = re.compile(r"\[errno (\d+)\]", re.IGNORECASE)


def check_dir(path: str | Path, what: str = "output folder", create: bool = True) -> Path:
    """Create `path` (and parents) and prove a file can be made in it; a one-line UserError if not.

    create=False: a missing folder is left for the stage to report (a dataset that must exist).
    """
    path = Path(path)
    if not create and not path.exists():
        return path
    if path.exists() and not path.is_dir():
        raise UserError(f"cannot write to {what} {str(path)!r}: it is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise UserError(f"cannot write to {what} {str(path)!r}: {e.strerror or e}") from None
    return path


def check_file(path: str | Path, what: str = "output file") -> Path:
    """A file to be (re)written: its place must not be a folder, and its folder must take new files."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"cannot write {what} {str(path)!r}: it is a folder")
    parent = path.parent
    for up in (parent, *parent.parents):  # a file where a folder of the path goes
        if up.exists():
            if not up.is_dir():
                raise UserError(f"cannot write {what} {str(path)!r}: {str(up)!r} is a file, not a folder")
            break
    check_dir(parent, f"the folder of {what} {str(path)!r},")
    return path


def error_number(e: OSError) -> int | None:
    """The errno of an OSError, also when a library (pyarrow) only put it in the message."""
    if e.errno is not None:
        return e.errno
    m = _ERRNO_TEXT.search(str(e))
    return int(m.group(1)) if m else None


def with_path(e: OSError, path: str | Path) -> OSError:
    """The same error naming `path` when it names none (writes that fail on a full disk often do not)."""
    if e.filename is not None:
        return e
    number = error_number(e)
    if number is None:
        return e
    return OSError(number, os.strerror(number), str(path))


@dataclass(frozen=True)
class WriteFailure:
    message: str
    exit_code: int


def os_error_line(e: OSError) -> WriteFailure | None:
    """One line for a write the file system refused (exit 2) or a full disk (exit 1); None for other errors."""
    number = error_number(e)
    if number not in FULL and number not in REFUSED:
        return None
    where = e.filename2 if number == errno.EISDIR and e.filename2 else e.filename
    place = f" {str(where)!r}" if where is not None else ""
    reason = e.strerror or str(e)
    if number in FULL:
        return WriteFailure(f"disk full while writing{place} ({reason}); nothing was marked complete: free space "
                            "and run the same command again", 1)
    return WriteFailure(f"cannot write{place}: {reason}", 2)
