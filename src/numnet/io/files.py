"""Writing files safely: checked output paths, atomic replacement, one-line write errors.

Every file numnet writes (models, checkpoints, predictions, plots) goes through
:func:`atomic_write`: the bytes go to a temporary file in the same folder, which then replaces
the path, so a crash never leaves a half-written file and an old file stays intact when a
write fails. :func:`check_output` refuses a path that cannot be written before any work starts.
"""

import errno
import os
import re
import secrets
import stat
import time
from pathlib import Path

from . import _safetensors


class OutputError(OSError):
    """A file cannot be written where asked; the message names the path.

    The folder is missing, the path is a folder, a device or a FIFO, the output is one of the
    inputs, or the write itself failed (disk full, read-only file system, permission). An old
    file at the path is left as it was.
    """


class NotRegularFileError(OSError):
    """A path to read that is a folder, a FIFO, a device or a socket, not a regular file.

    ``kind`` says which (``"a character device"``, ``"a FIFO (named pipe)"``, ...).
    """

    def __init__(self, path, kind):
        super().__init__(f"{os.fspath(path)!r} is {kind}, not a regular file")
        self.kind = kind


def open_regular_file(path):
    """Open ``path`` (after following symbolic links) for binary reading, if it is a regular file.

    A FIFO would block ``open()`` until a writer appears and a device such as /dev/zero never
    ends, so both are refused from ``stat`` before opening, and again from ``fstat`` after a
    non-blocking open (in case the path was swapped in between): :class:`NotRegularFileError`.
    A missing or unreadable file raises the usual OSError.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(path, _safetensors.describe_mode(mode))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    file = os.fdopen(fd, "rb")
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        file.close()
        raise NotRegularFileError(path, _safetensors.describe_mode(mode))
    return file


_STARTED = time.time()  # stale temporary files are those older than this process
_REASONS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
            errno.EPERM: "permission denied", errno.ENAMETOOLONG: "the name is too long",
            errno.ELOOP: "it is a loop of symbolic links"}


def _reason(error):
    text = _REASONS.get(error.errno) or (error.strerror or str(error))
    return text[:1].lower() + text[1:]


def check_output(path, *, inputs=(), example="model.numnet"):
    """The regular file that writing ``path`` will create or replace, checked before any work.

    A symbolic link is followed: its target is written (replaced atomically) and the link is
    kept. Refused with :class:`OutputError`: a path that is a folder, a FIFO, a device or a
    socket; a folder that does not exist or cannot be written; a path that is the same file as
    one of ``inputs`` (paths of files read or written by the same command, compared as
    resolved paths and, when both exist, as files; ``"-"`` is skipped). An empty path is a
    ValueError. ``example`` is the file name the message for a folder suggests inside it.

    Returns
    -------
    pathlib.Path
        The file to write, symbolic links resolved.
    """
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if text == "":
        raise ValueError("path must name a file to write, got ''. Pass a file name such as "
                         "'model.numnet'.")
    destination = Path(os.path.realpath(text))
    try:
        mode = os.stat(destination).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise OutputError(f"Cannot write {text!r}: {_reason(error)}.") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"Cannot write {text!r}: it is a folder. Name a file to write, "
                          f"e.g. {os.path.join(text, example)!r}.")
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"Cannot write {text!r}: it is {_safetensors.describe_mode(mode)}; "
                          "numnet writes only regular files. Choose a file path.")
    folder = destination.parent
    shown = os.path.dirname(text) or "."
    if os.path.islink(text):
        shown = str(folder)
    try:
        folder_mode = os.stat(folder).st_mode
    except FileNotFoundError:
        raise OutputError(f"Cannot write {text!r}: the folder {shown!r} does not exist. "
                          "Create it first.") from None
    except OSError as error:
        raise OutputError(f"Cannot write {text!r}: {_reason(error)}.") from None
    if not stat.S_ISDIR(folder_mode):
        raise OutputError(f"Cannot write {text!r}: {shown!r} is not a folder.")
    _check_writable(folder, text, shown)
    for source in inputs:
        if source is None or os.fspath(source) in ("", "-"):
            continue
        # the same resolved path (also for a file not written yet), or the same existing file
        same = os.path.realpath(source) == str(destination)
        if not same and mode is not None:
            try:
                same = os.path.samefile(source, destination)
            except OSError:
                continue
        if same:
            raise OutputError(
                f"Cannot write {text!r}: it is the input file {os.fspath(source)!r}, which "
                "would be replaced. Choose another output path."
            )
    return destination


def _check_writable(folder, text, shown):
    """OutputError naming ``text`` unless files can be created in ``folder``."""
    if os.access(folder, os.W_OK | os.X_OK):
        return
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        read_only = False
    reason = ("the file system is read-only" if read_only
              else f"permission denied (the folder {shown!r} is not writable)")
    raise OutputError(f"Cannot write {text!r}: {reason}.")


def check_folder(directory):
    """Check that ``directory`` is, or can be created as, a writable folder; OutputError if not.

    The nearest existing folder on its path must be writable (the rest is created on the first
    save).
    """
    text = os.fspath(directory)
    existing = Path(os.path.realpath(text or "."))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "it is" if existing == Path(os.path.realpath(text or ".")) else (
            f"{str(existing)!r} is")
        raise OutputError(f"Cannot write {text!r}: {where} not a folder.")
    _check_writable(existing, text, str(existing))


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Readers see either the old file or the complete new one, never a partial write. The path
    is checked first (:func:`check_output`; a symbolic link is followed to its target), and a
    failed write (disk full, read-only file system, permission) raises :class:`OutputError`
    with the old file intact and the temporary file removed.

    The temporary file is ``.<name>.<pid>-<hex>.tmp``. A process killed with SIGKILL cannot
    remove its own; the next write to the same path removes those whose process is gone and
    that are older than the writing process, so they never pile up.
    """
    destination = check_output(path)
    text = os.fspath(path)
    _remove_stale_temporaries(destination)
    temp = destination.with_name(
        f".{destination.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    existed = destination.exists()
    try:
        # os.open with mode 0o666 lets the umask decide the permissions, as open() would.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, destination)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as error:
        kept = "; the old file is unchanged" if existed else ""
        raise OutputError(f"Cannot write {text!r}: {_reason(error)}{kept}.") from error


def _remove_stale_temporaries(destination):
    """Remove ``.<name>.<pid>-<hex>.tmp`` files left by writers that were killed."""
    pattern = re.compile(rf"\.{re.escape(destination.name)}\.(\d+)-[0-9a-f]{{8}}\.tmp")
    try:
        names = os.listdir(destination.parent)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or int(match[1]) == os.getpid() or _running(int(match[1])):
            continue
        stale = destination.parent / name
        try:
            if stale.lstat().st_mtime < _STARTED and stat.S_ISREG(stale.lstat().st_mode):
                stale.unlink()
        except OSError:
            pass  # another writer removed it first, or it cannot be removed: harmless


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or not a pid at all: leave the file alone
    return True


# ---------------------------------------------------------------------------------- writing
