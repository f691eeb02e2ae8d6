"""The analysis core's version, carried by every result (``analyser_version`` of the
window results and summaries) so that a reader knows which detector found a beat, and
an operator which ECGs to analyse again after an upgrade (``POST
/api/v1/ecg/{id}/analyses``).

It changes whenever the core's results change for the same samples, and only then: the
golden digests (``tests/unit/streams/analysis/golden_digests.json``) are recorded with
the version that gave them, and regenerating them with different results under the
same version is refused. Calendar versioning, ``YYYY.MM.N``: the month of the change
and its number in that month.
"""

from __future__ import annotations

from typing import Final

ANALYSER_VERSION: Final = "2026.12.5"
