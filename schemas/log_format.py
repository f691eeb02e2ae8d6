"""JSON log lines for the stream worker (python-json-logger), as the gateway writes them
(``gateway/logging.json``): ``time``, ``level``, ``logger``, ``message`` and
``request_id`` (null unless a line is about a message that a gateway request sent: the
``request_id`` header of ``schemas.topics``), plus what a line adds as ``extra``.

Given to Faust as its ``logging_config`` with ``merge``: Faust's level (``-l``) stays;
its handler becomes one that writes these lines to stderr.
"""

from __future__ import annotations

import logging
from typing import Any


class DefaultFields(logging.Filter):
    """Every record has a ``request_id`` (None unless the line set one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = None
        return True


def faust_logging_config() -> dict[str, Any]:
    """A fresh dict each time: Faust pops ``merge`` from it."""
    return {
        "merge": True,
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"fields": {"()": f"{__name__}.DefaultFields"}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
            }
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["fields"],
            }
        },
    }
