"""What can go wrong in the gateway, as types. ``gateway.problems`` maps each of
them to an HTTP problem response, in one place; nothing here knows about HTTP."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class GatewayError(Exception):
    """Base of the errors that the gateway answers with a problem response.

    ``str(error)`` is the problem's ``detail``: written for the client, so it never
    carries internals (hosts, SQL, tracebacks); those go to the log via ``__cause__``.
    """

    def extensions(self) -> dict[str, Any]:
        """Extra members of the problem object."""
        return {}


class MalformedBodyError(GatewayError):
    """The body is not a JSON object (bad JSON, wrong top-level type, cut short)."""


class BodyTooLargeError(GatewayError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than the limit of {limit} bytes")
        self.limit = limit


class UnsupportedMediaTypeError(GatewayError):
    """The body comes as a media type (``Content-Type``) that this endpoint does not read."""

    def __init__(self, media_type: str, accepted: Sequence[str]) -> None:
        super().__init__(
            f"Content-Type {media_type[:60]!r} is not accepted here; "
            f"send the body as {' or '.join(accepted)}"
        )
        self.accepted = tuple(accepted)


class NotAcceptableError(GatewayError):
    """The answer can come only as media types that the request's ``Accept`` refuses."""

    def __init__(self, accept: str, offered: Sequence[str]) -> None:
        super().__init__(
            f"Accept {accept[:60]!r} allows none of the media types this endpoint answers "
            f"with: {' or '.join(offered)}"
        )
        self.offered = tuple(offered)


class InvalidInputError(GatewayError):
    """The request is well-formed JSON but breaks the rules; lists every problem found."""

    def __init__(self, errors: Sequence[FieldError], omitted: int = 0) -> None:
        if not errors:
            raise ValueError("InvalidInputError needs at least one FieldError")
        self.errors = tuple(errors)
        self.omitted = omitted
        super().__init__(self.describe())

    def extensions(self) -> dict[str, Any]:
        return {
            "errors": [{"field": error.field, "message": error.message} for error in self.errors]
        }

    def describe(self, shown: int = 5) -> str:
        total = len(self.errors) + self.omitted
        if total == 1:
            return str(self.errors[0])
        listed = "; ".join(str(error) for error in self.errors[:shown])
        more = total - min(shown, len(self.errors))
        return f"{total} problems: {listed}" + (f"; and {more} more" if more else "")


class EcgNotFoundError(GatewayError):
    def __init__(self, ecg_id: object) -> None:
        super().__init__(f"no ECG with id {ecg_id}")


class EcgExistsError(GatewayError):
    def __init__(self, ecg_id: object) -> None:
        super().__init__(
            f"an ECG with id {ecg_id} already exists; send the upload without an id, "
            "or with a new one"
        )


class NotAnalysedYetError(GatewayError):
    """A re-analysis asked for before the ECG's first analysis has ended: 409."""

    def __init__(self, ecg_id: object, status: str) -> None:
        super().__init__(
            f"ECG {ecg_id} is {status}: it can be analysed again once its analysis is done "
            "(status 'done'); ask again then"
        )


class StreamConflictError(GatewayError):
    """The stream is not in a state that takes this request: 409."""


class ChunkGapError(StreamConflictError):
    """A chunk ahead of the next one the stream expects; earlier ones are missing."""

    def __init__(self, seq: int, expected_seq: int) -> None:
        super().__init__(
            f"chunk seq {seq} arrived while seq {expected_seq} is the next one expected: "
            f"send seq {expected_seq} first"
        )
        self.expected_seq = expected_seq

    def extensions(self) -> dict[str, Any]:
        return {"expected_seq": self.expected_seq}


class StreamEndedError(StreamConflictError):
    def __init__(self, ecg_id: object, *, timed_out: bool = False) -> None:
        why = (
            "was closed by the pipeline after a silence longer than its idle timeout "
            "(status 'incomplete')"
            if timed_out
            else "has ended"
        )
        super().__init__(f"the stream of ECG {ecg_id} {why}; it takes no more chunks")


class StreamTakenOverError(StreamConflictError):
    """Another WebSocket of the stream's device took the stream over from this one."""

    def __init__(self, ecg_id: object) -> None:
        super().__init__(
            f"another connection took the stream of ECG {ecg_id} over; this one takes no "
            "more chunks and closes: send them on the newer connection"
        )


class NotAStreamError(StreamConflictError):
    def __init__(self, ecg_id: object) -> None:
        super().__init__(
            f"ECG {ecg_id} was uploaded whole, not opened as a stream; it takes no chunks"
        )


class UnauthenticatedError(GatewayError):
    """The caller has not proved who they are: 401."""


class MissingTokenError(UnauthenticatedError):
    def __init__(self) -> None:
        super().__init__("this endpoint needs a token: send it as 'Authorization: Bearer <token>'")


class InvalidTokenError(UnauthenticatedError):
    """A token was presented and refused; ``str(self)`` says why, without internals."""


class RevokedTokenError(InvalidTokenError):
    """A genuine token (its signature holds) of a session that has ended."""

    def __init__(self, user_id: UUID) -> None:
        super().__init__("the session of this token has ended; log in again")
        self.user_id = user_id


class InvalidCredentialsError(UnauthenticatedError):
    """Unknown email or wrong password: one message for both, on purpose."""

    def __init__(self) -> None:
        super().__init__("the email or the password is wrong")


class ForbiddenError(GatewayError):
    """Authenticated, but this role may not do this: 403."""


class AccountDisabledError(ForbiddenError):
    """The password is right, but an administrator disabled the account."""

    def __init__(self) -> None:
        super().__init__("this account is disabled; an administrator can enable it again")


class UserNotFoundError(GatewayError):
    def __init__(self, user_id: object) -> None:
        super().__init__(f"no account with id {user_id}")


class OwnAccountError(GatewayError):
    """An administrator may not disable or demote their own account: the last admin
    would lock every administrator out."""

    def __init__(self) -> None:
        super().__init__(
            "you cannot disable your own account or take its admin role; another administrator can"
        )


class TooManyAttemptsError(GatewayError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"too many failed attempts; wait {retry_after_seconds} s before trying again"
        )
        self.retry_after_seconds = retry_after_seconds


class AccountExistsError(GatewayError):
    def __init__(self) -> None:
        super().__init__("an account with this email already exists (emails ignore letter case)")


class ServiceUnavailableError(GatewayError):
    """A backing service cannot do its part now; the client should retry later."""


class KafkaUnavailableError(ServiceUnavailableError):
    pass


class DatabaseUnavailableError(ServiceUnavailableError):
    pass


class StreamBusyError(ServiceUnavailableError):
    """Another request is writing to the same stream (waiting for Kafka's ack)."""

    def __init__(self, ecg_id: object) -> None:
        super().__init__(
            f"another request is still writing to the stream of ECG {ecg_id}; "
            "retry once it has been answered"
        )


class UnhealthyError(ServiceUnavailableError):
    def __init__(self, checks: dict[str, str]) -> None:
        failing = ", ".join(name for name, outcome in checks.items() if outcome != "ok")
        super().__init__(f"not ready: {failing} unavailable")
        self.checks = checks

    def extensions(self) -> dict[str, Any]:
        return {"checks": self.checks}


def describe(value: object) -> str:
    """A short JSON rendering of a value, for error messages."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
