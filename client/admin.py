"""``ecg create-admin``: handed over to the gateway, which owns the database.

The client never imports ``gateway``: it replaces its own process with
``python -m gateway.admin`` and the same arguments, so stdin (``--password-stdin``,
the prompts on a terminal), stdout, stderr and the exit status stay the operator's.
Where only the client is installed it says so in one line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from typing import Any, Final

ADMIN_MODULE: Final = "gateway.admin"

Exec = Callable[[str, list[str]], Any]


def hand_over(args: Sequence[str], execv: Exec = os.execv, module: str = ADMIN_MODULE) -> int:
    """Run ``module`` with ``args`` in this process; 1 when its package is not installed
    (``find_spec`` of a top-level package imports nothing)."""
    if find_spec(module.partition(".")[0]) is None:
        print(
            "ecg create-admin: needs the gateway package (the ecg-pipeline server), "
            "which is not installed here; run it where the gateway runs",
            file=sys.stderr,
        )
        return 1
    execv(sys.executable, [sys.executable, "-m", module, *args])
    return 0  # only with a stand-in for os.execv, which does not return
