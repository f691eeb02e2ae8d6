"""The QRS detector: online multi-lead beat detection, exact under any chunking
(``detector``). Its stages: ``feature``, ``fusion``, ``decision`` and ``rhythm``; what
the decisions carry between chunks (``decision_memory``); its parameters (``params``);
the bytes of its memory (``encoding``)."""

from streams.analysis.qrs.detector import (
    QrsMemory,
    detect_beats,
    finish_detector,
    start_detector,
)

__all__ = ["QrsMemory", "detect_beats", "finish_detector", "start_detector"]
