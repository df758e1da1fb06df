"""One writer per output: exclusive claims on what a command writes.

Every command that writes a run directory (``run``, ``sweep``, ``sweep --resume``,
``report``) claims it, and ``tune`` claims its Optuna storage and its tuned-config file,
for the command's whole life.  A second writer is refused at once with one line naming
the holder (pid, host, start time, command) and writes nothing.

Mechanism: a POSIX record lock (:func:`fcntl.lockf`, a non-blocking write lock) on a lock
file, ``<dir>/.grasp-bench.lock`` for a directory and ``.<name>.lock`` beside a file.
Taking the lock is the atomic step: two processes can both create or open the file, only
one gets the lock.  The holder then writes who it is into the file (JSON), and removes
the file when it releases the claim, so a clean exit leaves nothing behind.

A killed holder (``kill -9``, a crash, power loss) does not block: the kernel drops a
process's record locks when it ends, however it ends (and the NFS lock manager when a
client reboots), so the next claim simply succeeds and overwrites the stale file.  Record
locks belong to a process, not to the children it forks, so a worker pool orphaned by a
killed command holds nothing either.  Within one process a second claim on the same path
is refused by a registry (record locks never conflict within a process), and no other code
may open the lock file while it is held: closing any descriptor of it would drop the lock.

Readers take no lock: :func:`holder_of` only reads the file, so a reader never delays
a writer.  It reports a live holder; a holder on this host whose pid is gone is a stale
file left by a kill and reads as none.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from grasp_bench.errors import UserError

__all__ = ["LOCK_NAME", "Claim", "Claimed", "Holder", "claim_dir", "claim_file", "holder_of"]

LOCK_NAME = ".grasp-bench.lock"
#: Seconds a refused claimer waits for the holder to record who it is (the few
#: microseconds between its lock and its write) before naming it "not identified yet".
SETTLE_S = 1.0

_HELD: dict[str, Claim] = {}  # lock file -> the claim this process holds on it


@dataclasses.dataclass(frozen=True)
class Holder:
    """Who holds a claim: what the lock file records."""

    pid: int
    host: str
    started: str  # UTC, ISO 8601, to the second
    command: str

    @classmethod
    def me(cls) -> Holder:
        return cls(os.getpid(), socket.gethostname(),
                   datetime.now(UTC).isoformat(timespec="seconds"),
                   " ".join(["grasp-bench", *sys.argv[1:]]))

    def alive(self) -> bool | None:
        """Whether the holder runs: known on this host only (None elsewhere)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process
            return True
        return True

    def describe(self) -> str:
        command = self.command if len(self.command) <= 120 else self.command[:117] + "..."
        return (f"another process (pid {self.pid} on {self.host}, started {self.started}: "
                f"{command})")


class Claimed(UserError):
    """A claim refused because another process holds it (one line, exit 2)."""

    def __init__(self, what: str, path: Path, holder: Holder | None, hint: str) -> None:
        self.holder = holder
        who = holder.describe() if holder else "another process (not identified yet)"
        super().__init__(f"{what} {path} is being written by {who}; {hint}")


@dataclasses.dataclass(frozen=True)
class Claim:
    """A held claim on ``path`` (a context manager: released on exit)."""

    path: Path
    lock: Path
    holder: Holder
    fd: int

    def release(self) -> None:
        """Remove the lock file (while still locked, so no one takes a doomed inode) and
        drop the lock; a second release does nothing."""
        if _HELD.get(_key(self.lock)) is not self:
            return
        del _HELD[_key(self.lock)]
        try:
            if _same_file(self.fd, self.lock):
                self.lock.unlink()
        except OSError:
            pass  # left behind: harmless, the next claim overwrites it
        finally:
            os.close(self.fd)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def dir_lock(path: Path) -> Path:
    return path / LOCK_NAME


def file_lock(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def claim_dir(path: Path, *, what: str = "run directory", hint: str) -> Claim:
    """Claim the existing directory ``path``; :class:`Claimed` (with ``hint``, what to do
    instead) when another process holds it."""
    return _claim(path, dir_lock(path), what, hint)


def claim_file(path: Path, *, what: str, hint: str) -> Claim:
    """Claim the file ``path`` (which need not exist; its folder is made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return _claim(path, file_lock(path), what, hint)


def holder_of(path: Path) -> Holder | None:
    """Who is writing the directory ``path`` now, read without locking: ``None`` when no
    one is (no lock file, or one left by a process of this host that has ended)."""
    lock = dir_lock(path)
    own = _HELD.get(_key(lock))
    if own is not None:
        return own.holder
    holder = _read(lock)
    return None if holder is None or holder.alive() is False else holder


def _claim(path: Path, lock: Path, what: str, hint: str) -> Claim:
    own = _HELD.get(_key(lock))
    if own is not None:
        raise Claimed(what, path, own.holder, hint)
    deadline = time.monotonic() + SETTLE_S
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UserError(f"cannot claim {what} {path} (its lock file {lock.name}): "
                            f"{e.strerror}") from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EACCES, errno.EAGAIN):  # e.g. ENOLCK: no locks there
                raise UserError(f"cannot claim {what} {path}: locking {lock.name} failed "
                                f"({e.strerror})") from None
            holder = _read(lock)
            if holder is not None and holder.alive() is not False:
                raise Claimed(what, path, holder, hint) from None
            if time.monotonic() > deadline:  # the holder has not recorded itself
                raise Claimed(what, path, None, hint) from None
            time.sleep(0.02)
            continue
        if not _same_file(fd, lock):  # its last holder removed it as we locked: again
            os.close(fd)
            continue
        holder = Holder.me()
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(dataclasses.asdict(holder)).encode(), 0)
        os.fsync(fd)
        claim = Claim(path, lock, holder, fd)
        _HELD[_key(lock)] = claim
        return claim


def _read(lock: Path) -> Holder | None:
    """The holder a lock file records; None when there is none or it is unreadable (being
    written, or not ours)."""
    try:
        with open(lock, "rb") as f:
            d = json.loads(f.read())
        return Holder(int(d["pid"]), str(d["host"]), str(d["started"]), str(d["command"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _same_file(fd: int, path: Path) -> bool:
    with contextlib.suppress(OSError):
        a, b = os.fstat(fd), os.stat(path)
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
    return False


def _key(lock: Path) -> str:
    return str(lock.parent.resolve() / lock.name)
