"""The windows agent's bookkeeping, without Faust: the live state of each ECG, which of
them to write to the state table (a checkpoint), and which chunks' offsets may be
committed.

Each ECG's ``StreamState`` lives in memory (``Live``) from its first chunk on; its bytes
go to the changelogged table only at a checkpoint:

- at the end of the batch in which one of its chunks closed a window or ended the ECG
  (``closed``): about once a window, 10 s of signal; unless the worker is behind
  (``due(..., defer=True)``): a fleet whose windows close in the same second then gets
  its window results first, and these checkpoints come once it has caught up;
- once its oldest chunk not yet checkpointed was applied ``max_age`` seconds ago
  (``DEFER_AGE`` times that while the worker is behind), for ECGs that close no window
  for long (no sampling rate, long windows, a device that paused), and for the deferred
  ones of a worker that stays behind;
- all of them when the partitions are revoked or the worker stops (``due(..., every=True)``).

Except for the last, a few hundred a batch at most (``most``): those that a burst of
window closes deferred, or that reached their age together, follow in a few batches.

An ECG's provisional summary (``Live.summary``) is owed from the chunk that closed a
window to the ECG's next checkpoint, which the caller writes only once Kafka has the
summary.

A checkpoint is written only once Kafka has acknowledged the results of the chunks it
covers (the caller's order), and a chunk's offset may be committed only once a checkpoint
covers it and every earlier chunk of its partition is settled as well (``settled``):
Faust commits an offset past every acknowledged one, so the acknowledgements of a
partition are given in offset order. After a crash the consumer resumes at or before
every ECG's first chunk not checkpointed, and the chunks replayed below a checkpointed
``next_seq`` are dropped as duplicates.

Versions order what was applied and what was written: every applied chunk takes the
next version; an ECG's checkpoint covers the versions up to its ``checkpointed``.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from streams.chunks import StreamState, SummaryHead

E = TypeVar("E")

# A worker that is behind writes the checkpoints due by age at 1.5 times the age: at
# the start of a fleet whose devices started together, every ECG's first chunks reach
# the age about when the first windows close, and would all be written in that burst.
DEFER_AGE = 1.5


@dataclass
class Live:
    """An ECG's state in memory: ``state`` is the newest; ``checkpointed`` the version
    that the table holds (every version up to it); ``dirty_since`` the time at which the
    oldest chunk not yet checkpointed was applied; ``summary``: the provisional summary
    owed since a window closed, sent before the next checkpoint."""

    state: StreamState | None
    partition: int
    checkpointed: int
    dirty_since: float | None = None
    summary: SummaryHead | None = None


@dataclass(frozen=True)
class _Pending(Generic[E]):
    event: E
    key: bytes | None  # None: settled once the chunks before it are
    version: int


class Checkpoints(Generic[E]):
    """The live ECGs of one worker, the checkpoints they need, and the events (``E``, one
    per chunk) waiting for a checkpoint before they can be acknowledged."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._live: dict[bytes, Live] = {}
        # The ECGs with chunks not yet checkpointed, in the order they became so.
        self._dirty: dict[bytes, None] = {}
        # Of those, the ECGs that closed a window or ended.
        self._closed: dict[bytes, None] = {}
        self._pending: dict[int, deque[_Pending[E]]] = {}
        self._version = 0

    def __len__(self) -> int:
        return len(self._live)

    def get(self, key: bytes) -> Live | None:
        return self._live.get(key)

    def load(self, key: bytes, state: StreamState | None, partition: int) -> Live:
        """Hold ``state``, read from the table, as the ECG's live state."""
        live = self._live[key] = Live(state, partition, checkpointed=self._version)
        return live

    def applied(self, key: bytes, state: StreamState, *, closed: bool, now: float) -> int:
        """The ECG's chunk was applied and gave ``state``; ``closed``: it closed a window
        or ended the ECG. Returns the chunk's version."""
        live = self._live[key]
        self._version += 1
        live.state = state
        if closed:
            self._closed[key] = None
        if live.dirty_since is None:
            live.dirty_since = now
            self._dirty[key] = None
        return self._version

    def track(self, partition: int, event: E, key: bytes | None, version: int = 0) -> None:
        """``event`` is the partition's next one; it waits for the checkpoint of ``key``
        that covers ``version`` (``key`` None: for nothing but the events before it)."""
        self._pending.setdefault(partition, deque()).append(_Pending(event, key, version))

    def due(
        self, now: float, *, every: bool = False, defer: bool = False, most: int | None = None
    ) -> list[bytes]:
        """The ECGs to checkpoint now, ``most`` of them at most: those whose oldest chunk
        not checkpointed is ``max_age`` old (``DEFER_AGE`` times that with ``defer``),
        the oldest first, then those that closed a window or ended (unless ``defer``);
        or (``every``) all with chunks not checkpointed."""
        if every:
            return list(self._dirty)
        max_age = self.max_age * (DEFER_AGE if defer else 1.0)
        due: list[bytes] = []
        for key in itertools.islice(self._dirty, most):  # the oldest first
            since = self._live[key].dirty_since
            assert since is not None
            if now - since < max_age:
                break
            due.append(key)
        if not defer:
            aged = set(due)
            closed = (key for key in self._closed if key not in aged)
            due += itertools.islice(closed, None if most is None else most - len(due))
        return due

    def checkpointed(self, key: bytes) -> None:
        """The ECG's newest state was written to the table. A finished ECG leaves memory:
        the table's marker recognises its late duplicates."""
        live = self._live[key]
        live.checkpointed = self._version
        live.dirty_since = None
        self._dirty.pop(key, None)
        self._closed.pop(key, None)
        if live.state is not None and live.state.finished:
            del self._live[key]

    def settled(self) -> list[E]:
        """The events that may be acknowledged now, each partition's in order: those up to
        the first one whose chunk no checkpoint covers yet."""
        ready: list[E] = []
        for pending in self._pending.values():
            while pending and self._covered(pending[0]):
                ready.append(pending.popleft().event)
        return ready

    def waiting(self) -> int:
        """How many events wait for a checkpoint."""
        return sum(len(pending) for pending in self._pending.values())

    def forget(self, partitions: Iterable[int] | None = None) -> None:
        """Drop the live states and waiting events of ``partitions`` (all by default): their
        next owner, this worker or another, starts again from the table."""
        chosen = None if partitions is None else set(partitions)
        for key, live in list(self._live.items()):
            if chosen is None or live.partition in chosen:
                del self._live[key]
                self._dirty.pop(key, None)
                self._closed.pop(key, None)
        for partition in list(self._pending):
            if chosen is None or partition in chosen:
                del self._pending[partition]

    def _covered(self, pending: _Pending[E]) -> bool:
        if pending.key is None:
            return True
        live = self._live.get(pending.key)
        # Gone from memory only once checkpointed (finished), or with its partition.
        return live is None or pending.version <= live.checkpointed
