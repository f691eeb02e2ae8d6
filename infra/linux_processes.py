"""What Linux says about processes (/proc) and how a child is tied to its parent."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1
GONE = ("Z", "X")  # zombie or dead: nothing left to stop


def die_with_parent(sig: int) -> Callable[[], None]:
    """A preexec_fn asking the kernel to send ``sig`` to the child when this
    process dies, even by SIGKILL (PR_SET_PDEATHSIG). Popen runs it after any
    uid switch, which would otherwise clear the setting."""
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: state, ppid, pgrp, ..."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot; None if it is gone or a zombie."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in GONE:
        return None
    return int(fields[19])


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None and int(fields[2]) == pgid and fields[0] not in GONE:
                members.append(int(entry.name))
    return members
