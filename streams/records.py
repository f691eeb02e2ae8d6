"""The analysis results as the records of ``schemas/window_result.avsc`` and
``schemas/ecg_summary.avsc``. A missing number is ``{"value": None, "reason": ...}``.
Each carries the analysis core's version, and revision 0: a re-analysis from the stored
samples (``streams.reanalysis``) sets its own."""

from __future__ import annotations

from typing import Any

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
        **rhythm_record(window.rhythm),
        "analyser_version": ANALYSER_VERSION,
        "revision": 0,
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
        "final": final,
        "analyser_version": ANALYSER_VERSION,
        "revision": 0,
    }


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
        },
    }


def measure(value: Measure) -> dict[str, Any]:
    return {"value": value.value, "reason": value.reason}
