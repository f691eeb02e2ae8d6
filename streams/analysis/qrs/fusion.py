"""How much each lead has to say about a candidate, and what the leads learn from beats.

A candidate's strength is the weighted mean, over leads, of its integral relative
to that lead's typical beat (clipped at 2); each lead is weighted by
1 / (noise + 0.1), its noise being the running mean of its relative integral at
the candidates that were not beats. A lead full of artefacts loses its say within
a few beats, and a clean lead that sees nothing at a candidate vetoes it
(signal-quality weighting of several sources, as in Li Q, Mark RG, Clifford GD,
"Robust heart rate estimation from multiple asynchronous noisy sources using
signal quality indices and a Kalman filter", Physiol Meas 29(1):15-32, 2008).
The R peak comes from the lead with the largest weighted band-pass extremum.

The per-lead coefficients change only when a lead's reference or noise does (a
beat or a noise candidate), so they are recomputed then.
"""

from __future__ import annotations

from streams.analysis.qrs.decision_memory import Candidate, DecisionMemory

CLIP = 2.0  # a lead's relative integral counts at most this much
NOISE_FLOOR = 0.1  # added to a lead's noise before weighting: no lead is ever trusted alone
_REFERENCE_GAIN = (0.25, 0.125)  # a reference's running-mean gain in the first 8 beats, later
_QUICK_BEATS = 8


class Fusion:
    """The lead weights of one decision memory (which it reads, and updates through
    ``add_noise``, ``learn_beat`` and ``learn``).

    The hot paths are plain loops over the leads, each computing everything that one
    change moves in one pass: on these few-element lists they beat comprehensions,
    ``min()`` and separate passes."""

    __slots__ = ("clip", "s", "shares", "to_peak", "to_score", "to_value")

    def __init__(self, memory: DecisionMemory) -> None:
        self.s = memory
        self.shares: list[float] = []
        self.to_value: list[float] = []
        self.to_peak: list[float] = []
        self.clip: list[float] = []
        self.to_score: list[float] = []
        self._refresh()

    def _refresh(self) -> None:
        """Each lead's share of the say, from the leads' noise; then the coefficients."""
        weights = []
        total = 0.0
        for noise in self.s.lead_noise:
            weight = 1.0 / (noise + NOISE_FLOOR)
            weights.append(weight)
            total += weight
        self._share(weights, total)

    def _share(self, weights: list[float], total: float) -> None:
        """The leads' shares (``weights`` over their ``total``) and the coefficients."""
        s = self.s
        shares, clip, to_value, to_peak, to_score = [], [], [], [], []
        for weight, value, peak, r in zip(weights, s.ref_value, s.ref_peak, s.ref_r, strict=True):
            share = weight / total
            shares.append(share)
            clip.append(CLIP * share)
            to_value.append(share / value)
            to_peak.append(share / peak)
            to_score.append(share / r)
        self.shares, self.clip = shares, clip
        self.to_value, self.to_peak, self.to_score = to_value, to_peak, to_score

    def strength(self, c: Candidate) -> tuple[float, float]:
        """The candidate's strength and peak: the weighted means over leads of its
        integral and peak energy relative to the lead's typical beat, each clipped."""
        strength = peak = 0.0
        for value, energy, a, b, limit in zip(
            c[1], c[2], self.to_value, self.to_peak, self.clip, strict=False
        ):
            x = value * a
            strength += x if x < limit else limit
            x = energy * b
            peak += x if x < limit else limit
        return strength, peak

    def r_peak(self, c: Candidate) -> int:
        """The R peak of the lead whose extremum, relative to its typical one and
        weighted and clipped like the strength, is the largest: a lead's artefact
        cannot outbid a clean lead's R peak."""
        best, found = -1.0, c[3][0]
        for r_index, r_value, a, limit in zip(c[3], c[4], self.to_score, self.clip, strict=False):
            score = r_value * a
            if limit < score:
                score = limit
            if score > best:
                best, found = score, r_index
        return found

    def relative(self, c: Candidate) -> list[float]:
        """Each lead's integral relative to its typical beat."""
        return [v / r for v, r in zip(c[1], self.s.ref_value, strict=True)]

    def add_noise(self, c: Candidate) -> int:
        """Each lead's noise moves towards what it saw of a candidate that is not a beat.
        Returns the candidate's R peak as the leads now weigh it (``r_peak``, for a
        search-back), found in the same pass as the new coefficients."""
        s = self.s
        noise, weights = [], []
        total = 0.0
        for n, value, ref in zip(s.lead_noise, c[1], s.ref_value, strict=True):
            x = value / ref
            n += 0.125 * ((x if x < CLIP else CLIP) - n)
            noise.append(n)
            weight = 1.0 / (n + NOISE_FLOOR)
            weights.append(weight)
            total += weight
        s.lead_noise = noise
        shares, clip, to_value, to_peak, to_score = [], [], [], [], []
        best, found = -1.0, c[3][0]
        leads = zip(weights, s.ref_value, s.ref_peak, s.ref_r, c[3], c[4], strict=True)
        for weight, value, peak, r, r_index, r_value in leads:
            share = weight / total
            shares.append(share)
            limit = CLIP * share
            clip.append(limit)
            to_value.append(share / value)
            to_peak.append(share / peak)
            a = share / r
            to_score.append(a)
            score = r_value * a
            if limit < score:
                score = limit
            if score > best:
                best, found = score, r_index
        self.shares, self.clip = shares, clip
        self.to_value, self.to_peak, self.to_score = to_value, to_peak, to_score
        return found

    def learn_beat(self, c: Candidate) -> None:
        """Each lead's typical beat moves towards this beat: running means of values
        clipped to half and twice the reference, so an artefact moves a reference by at
        most a quarter in the first eight beats and an eighth after. The leads' shares
        stay (they follow the noise); the coefficients follow the references."""
        s = self.s
        gain = _REFERENCE_GAIN[0] if s.beats_seen < _QUICK_BEATS else _REFERENCE_GAIN[1]
        values, peaks, rs = [], [], []
        to_value, to_peak, to_score = [], [], []
        leads = zip(self.shares, s.ref_value, c[1], s.ref_peak, c[2], s.ref_r, c[4], strict=True)
        for share, ref, value, ref_peak, peak, ref_r, r in leads:
            clipped = 0.5 * ref if value < 0.5 * ref else 2.0 * ref if value > 2.0 * ref else value
            ref += gain * (clipped - ref)
            values.append(ref)
            to_value.append(share / ref)
            ref = ref_peak
            clipped = 0.5 * ref if peak < 0.5 * ref else 2.0 * ref if peak > 2.0 * ref else peak
            ref += gain * (clipped - ref)
            peaks.append(ref)
            to_peak.append(share / ref)
            ref = ref_r
            clipped = 0.5 * ref if r < 0.5 * ref else 2.0 * ref if r > 2.0 * ref else r
            ref += gain * (clipped - ref)
            rs.append(ref)
            to_score.append(share / ref)
        s.ref_value, s.ref_peak, s.ref_r = values, peaks, rs
        self.to_value, self.to_peak, self.to_score = to_value, to_peak, to_score

    def learn(self, learning: list[Candidate]) -> None:
        """The references from a learning period: each lead's largest values in it."""
        s = self.s
        n = s.n_leads
        columns = (
            (s.ref_value, [c[1] for c in learning]),
            (s.ref_peak, [c[2] for c in learning]),
            (s.ref_r, [c[4] for c in learning]),
        )
        for refs, rows in columns:
            refs[:] = [max((row[lead] for row in rows), default=0.0) for lead in range(n)]
            refs[:] = [max(v, 1e-12) for v in refs]
        s.lead_noise = [0.1] * n
        self._refresh()
