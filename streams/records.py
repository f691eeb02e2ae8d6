"""The analysis results as the records of ``schemas/window_result.avsc``,
``schemas/ecg_summary.avsc`` and ``schemas/rhythm_event.avsc``. A missing number is
``{"value": None, "reason": ...}``. Each carries the analysis core's version, and
revision 0: a re-analysis from the stored samples (``streams.reanalysis``) sets its own.

A window result carries the rhythm event reports its beats decided (``events``); each
is also published on ``ecg.events.v1`` as a record of its own (``event_records``), with
the ECG id, sampling rate, version and revision of its window.

A window result also carries each beat's AAMI EC57 class (``beat_classes``: one letter
of ``N``, ``S``, ``V``, ``F``, ``Q`` per beat of ``beats``, aligned), and a summary the
beats per class (``beat_class_counts``)."""

from __future__ import annotations

from typing import Any

from streams.analysis.beat_classes import CLASS_LETTERS
from streams.analysis.events import EVENT_TYPES, RhythmEvent
from streams.analysis.measures import Measure
from streams.analysis.quality import Quality
from streams.analysis.results import EcgResult, LeadResult, WindowResult
from streams.analysis.rhythm import Rhythm
from streams.analysis.version import ANALYSER_VERSION


def window_record(chunk: dict[str, Any], names: list[str], window: WindowResult) -> dict[str, Any]:
    return {
        "ecg_id": chunk["ecg_id"],
        "index": window.index,
        "start_sample": window.start_sample,
        "end_sample": window.end_sample,
        "sampling_rate": chunk["sampling_rate"],
        "leads": [lead_record(name, lead) for name, lead in zip(names, window.leads, strict=True)],
        "beats": window.beats.tolist(),
        "beat_classes": window.classes,
        **rhythm_record(window.rhythm),
        "analyser_version": ANALYSER_VERSION,
        "revision": 0,
        "rhythm_verdict": window.verdict,
        "events": [event_report(event) for event in window.events],
    }


def summary_record(
    chunk: dict[str, Any], names: list[str], ecg: EcgResult, *, final: bool = True
) -> dict[str, Any]:
    """``final`` is False for a summary of the windows closed so far, while the ECG is
    still arriving; a later one (with more windows, or final) replaces it."""
    return {
        "ecg_id": chunk["ecg_id"],
        "date": chunk["date"],
        "sampling_rate": chunk["sampling_rate"],
        "n_windows": ecg.n_windows,
        "leads": [lead_record(name, lead) for name, lead in zip(names, ecg.leads, strict=True)],
        **rhythm_record(ecg.rhythm),
        "beat_class_counts": class_counts(ecg.class_counts),
        "final": final,
        "analyser_version": ANALYSER_VERSION,
        "revision": 0,
        "af_burden_percent": measure(ecg.af_burden_percent),
        "event_counts": event_counts(ecg.event_counts),
    }


def event_report(event: RhythmEvent) -> dict[str, Any]:
    """An event as a window result carries it (``RhythmEventReport``)."""
    return {
        "type": event.type,
        "number": event.number,
        "start_sample": event.start_sample,
        "end_sample": event.end_sample,
        "beats": event.beats,
        "heart_rate_bpm": event.heart_rate_bpm,
        "longest_rr_ms": event.longest_rr_ms,
        "decided_at": event.decided_at,
    }


def event_records(window: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``RhythmEvent`` records of a window result's event reports, in order: each
    report with its window's ECG id, sampling rate, analyser version and revision."""
    shared = {
        "ecg_id": window["ecg_id"],
        "sampling_rate": window.get("sampling_rate"),
        "analyser_version": window.get("analyser_version", ""),
        "revision": window.get("revision") or 0,
    }
    return [shared | report for report in window.get("events") or ()]


def event_counts(counts: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """Events started per type, every type present (0 when the analysis counted none)."""
    given = dict(counts)
    return {kind: int(given.get(kind, 0)) for kind in EVENT_TYPES}


def class_counts(counts: tuple[tuple[str, int], ...]) -> dict[str, int]:
    """Beats per AAMI class as ``BeatClassCounts`` (``n``, ``s``, ``v``, ``f``, ``q``),
    every class present (0 when the analysis counted none, or has no beat detection)."""
    given = dict(counts)
    return {letter.lower(): int(given.get(letter, 0)) for letter in CLASS_LETTERS}


def lead_record(name: str, lead: LeadResult) -> dict[str, Any]:
    return {
        "name": name,
        "number_of_samples": lead.number_of_samples,
        "zero_crossings": lead.zero_crossings,
        "min": measure(lead.minimum),
        "max": measure(lead.maximum),
        "mean": measure(lead.mean),
        "min_mv": measure(lead.minimum_mv),
        "max_mv": measure(lead.maximum_mv),
        "mean_mv": measure(lead.mean_mv),
        "quality": quality_record(lead.quality),
    }


def quality_record(quality: Quality) -> dict[str, Any]:
    record: dict[str, Any] = {"verdict": quality.verdict, "reasons": list(quality.reasons)}
    if quality.windows is not None:
        record["windows"] = dict(quality.windows)
    return record


def rhythm_record(rhythm: Rhythm) -> dict[str, Any]:
    return {
        "beat_count": measure(rhythm.beat_count),
        "heart_rate_bpm": measure(rhythm.heart_rate_bpm),
        "rr": {
            "count": measure(rhythm.rr_count),
            "mean_ms": measure(rhythm.rr_mean_ms),
            "min_ms": measure(rhythm.rr_min_ms),
            "max_ms": measure(rhythm.rr_max_ms),
        },
        "hrv": {
            "sdnn_ms": measure(rhythm.sdnn_ms),
            "rmssd_ms": measure(rhythm.rmssd_ms),
            "pnn50_percent": measure(rhythm.pnn50_percent),
            "nn_count": measure(rhythm.nn_count),
            "sd1_ms": measure(rhythm.sd1_ms),
            "sd2_ms": measure(rhythm.sd2_ms),
        },
    }


def measure(value: Measure) -> dict[str, Any]:
    return {"value": value.value, "reason": value.reason}
