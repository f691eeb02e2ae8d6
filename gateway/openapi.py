"""The API's contract: ``GET /api/v1/openapi.json`` (OpenAPI 3.1), ``GET
/api/v1/asyncapi.json`` (AsyncAPI 3.0, the stream WebSocket) and ``GET /docs``, an
interactive page that works offline (Swagger UI's files from the ``swagger-ui-py``
package, served under ``/docs/assets/``; no CDN).

The documents are built from the declarations that check requests: the bodies and
queries of ``gateway.declarations`` (``UPLOAD``, ``OPENING``, the chunk, the credentials,
the window query) describe themselves, and the result records come from the topics'
``.avsc`` files (``schemas.json_schemas``). What is written here is the list of
operations, their answers and the few small response bodies; ``tests`` check that every
route has its operation and schemathesis checks every answer against the document.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.accounts.administration import PASSWORD_RESET, USER_CHANGE, USERS_QUERY
from gateway.accounts.credentials import LOGIN, PASSWORD_CHANGE, REGISTRATION
from gateway.declarations import JsonSchema, Obj, Query
from gateway.devices.bodies import OPENING, chunk_body
from gateway.leads import LEAD_NAMES
from gateway.recordings.analysis import WINDOW_QUERY
from gateway.recordings.bodies import UPLOAD
from gateway.recordings.fhir import FHIR_JSON, MAX_FHIR_VALUES, OBSERVATION_SCHEMA
from gateway.recordings.overview import OVERVIEW_QUERY
from gateway.recordings.ranges import MAX_SIGNAL_VALUES
from gateway.recordings.signal import SIGNAL_QUERY
from schemas.codec import Schema
from schemas.json_schemas import json_schema

VERSION: Final = "1.0.0"
PROBLEM_JSON: Final = "application/problem+json"
REF: Final = "#/components/schemas/"
PATH_PARAMETERS: Final = {
    "ecg_id": "the ECG's id; another user's ECG is the same 404 as an unknown id",
    "user_id": "the account's id",
}

# Why each status can come, for every operation that may answer it.
ERRORS: Final[dict[int, str]] = {
    400: "the body is not a JSON object (bad JSON, cut short, a lone surrogate escape)",
    401: "no token, or one that is refused (expired, revoked, of the wrong kind)",
    403: "this role may not do this (admins never touch ECGs; only admins manage "
    "accounts), or the account is disabled",
    404: "no such ECG (or not yours), or no such account",
    406: "the `Accept` header allows none of the media types this endpoint answers with",
    408: "the body came too slowly (see docs/operations.md, the edge's limits)",
    409: "conflicts with the current state (see the problem's type)",
    413: "the body is larger than this endpoint takes",
    415: "the body's Content-Type is not one this endpoint reads",
    422: "fields break the rules: every problem in `errors`, with its field path",
    429: "too many failed attempts: wait `Retry-After` seconds",
    503: "Kafka or PostgreSQL cannot do its part now: retry after `Retry-After` seconds",
}
TOKEN: Final = (401, 503)
ECG_READ: Final = (401, 403, 404, 422, 503)  # 422: an id that is no UUID
BODY: Final = (400, 408, 413, 422)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    name: str  # the route's name, and the operationId
    summary: str
    tag: str
    ok: int
    ok_schema: JsonSchema | None
    errors: Sequence[int]
    security: Sequence[str] = ()  # alternatives; none: no token
    body: Obj | None = None
    binary_body: bool = False
    query: Query | None = None
    description: str = ""
    ok_headers: dict[str, str] = field(default_factory=dict)
    ok_media_type: str = "application/json"
    also_as: Sequence[str] = ()  # the same answer as these media types too, on Accept
    binary_ok: bool = False  # the answer also as application/octet-stream, on Accept

    def openapi(self) -> JsonSchema:
        operation: JsonSchema = {
            "operationId": self.name,
            "summary": self.summary,
            "tags": [self.tag],
            "security": [{scheme: []} for scheme in self.security],
            "responses": self._responses(),
        }
        if self.description:
            operation["description"] = self.description
        parameters: list[JsonSchema] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": description,
                "schema": {"type": "string", "format": "uuid"},
            }
            for name, description in PATH_PARAMETERS.items()
            if f"{{{name}}}" in self.path
        ]
        if self.query is not None:
            parameters += self.query.openapi()
        if parameters:
            operation["parameters"] = parameters
        if self.body is not None:
            content: JsonSchema = {"application/json": {"schema": self.body.schema()}}
            if self.binary_body:
                content["application/octet-stream"] = {
                    "schema": {"type": "string", "format": "binary"}
                }
            operation["requestBody"] = {"required": True, "content": content}
        return operation

    def _responses(self) -> JsonSchema:
        ok: JsonSchema = {"description": "done"}
        if self.ok_schema is not None:
            ok["content"] = {
                media_type: {"schema": self.ok_schema}
                for media_type in (self.ok_media_type, *self.also_as)
            }
        if self.binary_ok:
            ok.setdefault("content", {})["application/octet-stream"] = {
                "schema": {"type": "string", "format": "binary"}
            }
        if self.ok_headers:
            ok["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in self.ok_headers.items()
            }
        responses: JsonSchema = {str(self.ok): ok}
        for status in sorted(set(self.errors)):
            responses[str(status)] = {"$ref": f"#/components/responses/{status}"}
        return responses


def _ref(name: str) -> JsonSchema:
    return {"$ref": REF + name}


def _object(required: dict[str, JsonSchema], **optional: JsonSchema) -> JsonSchema:
    return {
        "type": "object",
        "properties": {**required, **optional},
        "required": list(required),
    }


STRING: Final = {"type": "string"}
INTEGER: Final = {"type": "integer"}
SEQ_ANSWER: Final = _object({"seq": INTEGER})
CHUNK_BYTES_NOTE: Final = (
    "As JSON (`application/json`, or no Content-Type) or as bytes "
    "(`application/octet-stream`: the binary chunk format of docs/streaming.md). Send with the "
    "stream's ingest token or the owner's access token. A chunk below the stream's "
    "position is answered again, not published again; one above it is a 409 chunk-gap "
    "naming the seq to send first."
)

NULLABLE_STRING: Final = {"type": ["string", "null"]}
ANALYSIS_REQUESTED: Final = _object(
    {
        "id": {"type": "string", "format": "uuid"},
        "revision": INTEGER,
        "status": {"const": "requested"},
        "requested_at": {"type": "string", "format": "date-time"},
    }
)
ANALYSES: Final = _object(
    {
        "id": {"type": "string", "format": "uuid"},
        "current": {
            "oneOf": [
                {"type": "null"},
                _object(
                    {
                        "revision": INTEGER,
                        "analyser_version": NULLABLE_STRING,
                        "final": {"type": "boolean"},
                    }
                ),
            ]
        },
        "analyses": {
            "type": "array",
            "items": _object(
                {
                    "revision": INTEGER,
                    "status": {"enum": ["requested", "done", "failed"]},
                    "requested_at": {"type": "string", "format": "date-time"},
                    "finished_at": {"type": ["string", "null"], "format": "date-time"},
                    "analyser_version": NULLABLE_STRING,
                    "error": NULLABLE_STRING,
                }
            ),
        },
    }
)

SIGNAL_NOTE: Final = (
    f"Sample indices, `end` exclusive; at most {MAX_SIGNAL_VALUES:,} samples x leads per "
    "answer (a 422 says how many samples per lead fit). As JSON by default; with `Accept: "
    "application/octet-stream`, one binary chunk (docs/streaming.md) whose seq is `start`, the "
    "leads interleaved, described by the `X-ECG-*` headers. Samples not stored (yet) are "
    "not served: a lead's signal stops before them."
)
SIGNAL_HEADERS: Final = {
    "X-ECG-Leads": "binary answer: the leads interleaved, in order, separated by commas",
    "X-ECG-Start": "binary answer: the first sample index (also the chunk's seq)",
    "X-ECG-End": "binary answer: the sample index after the last",
    "X-ECG-Sampling-Rate": "binary answer: samples per second (absent when unknown)",
}

OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation(
        "post", "/api/v1/auth/login", "login", "Log in: a pair of tokens", "auth",
        200, _ref("TokenPair"), (*BODY, 401, 429, 503), body=LOGIN,
    ),
    Operation(
        "get", "/api/v1/auth/refresh", "refresh", "A new pair for a refresh token", "auth",
        200, _ref("TokenPair"), (*TOKEN, 429), security=("refresh",),
        description="The refresh token presented is spent: presenting it again ends its "
        "whole session.",
    ),
    Operation(
        "post", "/api/v1/auth/logout", "logout", "End the session of a token", "auth",
        204, None, TOKEN, security=("access", "refresh"),
    ),
    Operation(
        "post", "/api/v1/auth/register", "register", "Create an account (admins)", "auth",
        201, _ref("Account"), (*BODY, *TOKEN, 403, 409), security=("access",),
        body=REGISTRATION,
    ),
    Operation(
        "post", "/api/v1/auth/password", "password", "Change your password", "auth",
        204, None, (*BODY, *TOKEN, 403, 429), security=("access",), body=PASSWORD_CHANGE,
        description="Ends every session of the account, this one included.",
    ),
    Operation(
        "get", "/api/v1/users", "users", "List accounts (admins)", "users",
        200, _ref("AccountPage"), (*TOKEN, 403, 422), security=("access",), query=USERS_QUERY,
    ),
    Operation(
        "patch", "/api/v1/users/{user_id}", "user", "Disable, enable or change the role "
        "of an account (admins)", "users",
        200, _ref("Account"), (*BODY, *TOKEN, 403, 404, 409), security=("access",),
        body=USER_CHANGE,
        description="Disabling ends the account's sessions and refuses its access, refresh "
        "and ingest tokens at once; an admin cannot disable or demote their own account.",
    ),
    Operation(
        "post", "/api/v1/users/{user_id}/password", "user_password", "Set an account's "
        "password (admins)", "users",
        204, None, (*BODY, *TOKEN, 403, 404), security=("access",), body=PASSWORD_RESET,
        description="Ends every session of the account.",
    ),
    Operation(
        "post", "/api/v1/ecg/", "ecg_upload", "Upload a whole ECG", "ecg",
        202, _object({"id": {"type": "string", "format": "uuid"}, "status": STRING}),
        (*BODY, *TOKEN, 403, 409), security=("access",), body=UPLOAD,
        ok_headers={"Location": "the ECG's lookup"},
        description="Answered once Kafka has every sample; the analysis follows.",
    ),
    Operation(
        "get", "/api/v1/ecg/{ecg_id}", "ecg", "An ECG and its analysis so far", "ecg",
        200, _ref("Ecg"), ECG_READ, security=("access",),
    ),
    Operation(
        "get", "/api/v1/ecg/{ecg_id}/windows", "windows", "An ECG's windows, a page", "ecg",
        200, _ref("WindowPage"), ECG_READ, security=("access",), query=WINDOW_QUERY,
    ),
    Operation(
        "get", "/api/v1/ecg/{ecg_id}/beats", "beats", "An ECG's beats (R peaks)", "ecg",
        200, _ref("Beats"), ECG_READ, security=("access",),
        description="The beats found so far, ascending, and their AAMI EC57 classes: "
        "`classes` has one letter per beat of `sample_indices`, in the same order.",
    ),
    Operation(
        "get", "/api/v1/ecg/{ecg_id}/events", "events",
        "An ECG's rhythm events (AF, pauses, brady- and tachycardia)", "ecg",
        200, _ref("Events"), ECG_READ, security=("access",),
        description="The events found so far, by number, each as its latest report: an "
        "episode still going on has a null `end_sample` until the beat that ends it. The "
        "same reports as on the Kafka topic `ecg.events.v1` (docs/topics.md).",
    ),
    Operation(
        "get", "/api/v1/ecg/{ecg_id}/signal", "signal", "A range of an ECG's samples", "ecg",
        200, _ref("Signal"), (*ECG_READ, 406), security=("access",), query=SIGNAL_QUERY,
        binary_ok=True, ok_headers=SIGNAL_HEADERS, description=SIGNAL_NOTE,
    ),
    Operation(
        "get", "/api/v1/ecg/{ecg_id}/overview", "overview",
        "Each lead's min and max per bucket of a range", "ecg",
        200, _ref("Overview"), ECG_READ, security=("access",), query=OVERVIEW_QUERY,
        description="For drawing a long recording: `buckets` equal runs of `[start, end)`, "
        "exact (not sampled); a bucket without a stored sample is null.",
    ),
    Operation(
        "get", "/api/v1/ecg/{ecg_id}/fhir", "fhir", "An ECG as a FHIR R4 Observation", "ecg",
        200, OBSERVATION_SCHEMA, (*ECG_READ, 406), security=("access",), query=SIGNAL_QUERY,
        ok_media_type=FHIR_JSON, also_as=("application/json",),
        description="The samples `[start, end)` of the leads, as `/signal` takes them, one "
        "SampledData component per lead in mV (`origin + factor x data`), and the heart "
        f"rate; at most {MAX_FHIR_VALUES:,} samples x leads (a 422 says which `end` fits: "
        "page with `start` and `end`). See docs/api.md, FHIR.",
    ),
    Operation(
        "post", "/api/v1/ecg/{ecg_id}/analyses", "analysis_request",
        "Analyse an ECG again from its stored samples", "ecg",
        202, ANALYSIS_REQUESTED, (*ECG_READ, 409), security=("access",),
        ok_headers={"Location": "the ECG's analyses"},
        description="Once the ECG is done (409 before). Answered once Kafka has the "
        "request; a worker then replaces the ECG's windows and summary in one "
        "transaction, with this revision and the analyser's version.",
    ),
    Operation(
        "get", "/api/v1/ecg/{ecg_id}/analyses", "analyses",
        "The analysis in force and the re-analyses asked for", "ecg",
        200, ANALYSES, ECG_READ, security=("access",),
    ),
    Operation(
        "post", "/api/v1/ecg/streams", "stream_open", "Open a stream", "streams",
        201, _ref("StreamOpened"), (*BODY, *TOKEN, 403, 409), security=("access",),
        body=OPENING, ok_headers={"Location": "the ECG's lookup"},
        description="Its chunks follow over `POST /chunks` or the WebSocket "
        "(`/api/v1/asyncapi.json`), with the ingest token answered here.",
    ),
    Operation(
        "post", "/api/v1/ecg/{ecg_id}/chunks", "chunks", "Send a stream's next chunk",
        "streams", 202, SEQ_ANSWER, (*BODY, *ECG_READ, 409, 415),
        security=("ingest", "access"), body=chunk_body((), 0), binary_body=True,
        description=CHUNK_BYTES_NOTE,
    ),
    Operation(
        "post", "/api/v1/ecg/{ecg_id}/end", "stream_end", "End a stream", "streams",
        202, SEQ_ANSWER, (*ECG_READ, 409), security=("ingest", "access"),
        description="The final summary follows; a repeated end answers the same seq.",
    ),
    Operation(
        "get", "/livez", "livez", "The process answers", "health",
        200, _object({"status": {"const": "ok"}}), (),
    ),
    Operation(
        "get", "/readyz", "readyz", "Kafka and PostgreSQL reachable", "health",
        200, _object({"status": {"const": "ok"}}), (503,),
    ),
    Operation(
        "get", "/healthz", "healthz", "Kafka and PostgreSQL reachable (as /readyz)",
        "health", 200, _object({"status": {"const": "ok"}}), (503,),
    ),
    Operation(
        "get", "/metrics", "metrics", "Prometheus metrics", "health",
        200, {"type": "string"}, (), ok_media_type="text/plain",
        description="The Prometheus text format; names in docs/operations.md.",
    ),
)  # fmt: skip


def openapi_document() -> JsonSchema:
    paths: JsonSchema = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method] = operation.openapi()
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "ecg-pipeline",
            "version": VERSION,
            "summary": "Electrocardiograms in, analysed as they stream.",
            "description": (
                "Users upload whole ECGs or stream them chunk by chunk, and read the "
                "analysis (windows, beats, heart rate, HRV, signal quality, rhythm events) "
                "by ECG id. "
                "Every error is `application/problem+json` (RFC 9457). The stream "
                "WebSocket `/api/v1/ecg/{ecg_id}/ws` is described in AsyncAPI at "
                "[/api/v1/asyncapi.json](/api/v1/asyncapi.json)."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "auth", "description": "logins, sessions and your password"},
            {"name": "users", "description": "accounts, for administrators"},
            {"name": "ecg", "description": "whole ECGs and their analysis"},
            {"name": "streams", "description": "ECGs sent as they are recorded"},
            {"name": "health", "description": "for load balancers and monitoring"},
        ],
        "paths": paths,
        "components": {
            "schemas": _component_schemas(),
            "responses": {
                str(status): {
                    "description": why,
                    "content": {PROBLEM_JSON: {"schema": _ref("Problem")}},
                    "headers": _error_headers(status),
                }
                for status, why in ERRORS.items()
            },
            "securitySchemes": {
                "access": _bearer("an access token from `POST /auth/login` (15 min)"),
                "refresh": _bearer("a refresh token from `POST /auth/login`, spent on use"),
                "ingest": _bearer("a stream's ingest token from `POST /ecg/streams`"),
            },
        },
    }


def _bearer(description: str) -> JsonSchema:
    return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": description}


def _error_headers(status: int) -> JsonSchema:
    if status in (429, 503):
        return {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}}
    if status == 401:
        return {"WWW-Authenticate": {"description": "RFC 6750", "schema": STRING}}
    return {}


def _component_schemas() -> dict[str, JsonSchema]:
    window, definitions = json_schema(Schema.WINDOW_RESULT, ref_prefix=REF)
    _, summary_definitions = json_schema(Schema.ECG_SUMMARY, ref_prefix=REF)
    definitions.update(summary_definitions)
    summary_record = dict(definitions["EcgSummary"])
    summary_record["properties"] = {
        name: value
        for name, value in summary_record["properties"].items()
        if name not in ("ecg_id", "date", "sampling_rate")
    }
    summary_record["required"] = [
        name for name in summary_record["required"] if name in summary_record["properties"]
    ]
    definitions["EcgSummary"] = summary_record
    # A rhythm event as stored and served: the topic's record without the ECG id.
    _, event_definitions = json_schema(Schema.RHYTHM_EVENT, ref_prefix=REF)
    event_record = dict(event_definitions["RhythmEvent"])
    event_record["properties"] = {
        name: value for name, value in event_record["properties"].items() if name != "ecg_id"
    }
    event_record["required"] = [name for name in event_record["required"] if name != "ecg_id"]
    definitions["RhythmEvent"] = event_record
    uuid = {"type": "string", "format": "uuid"}
    nullable_integer = {"type": ["integer", "null"]}
    return {
        **definitions,
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "description": "a URI reference: /problems/..."},
                "title": STRING,
                "status": INTEGER,
                "detail": {"type": "string", "description": "what happened; what to fix"},
                "errors": {
                    "type": "array",
                    "items": _object({"field": STRING, "message": STRING}),
                    "description": "422: every broken rule, with its field path",
                },
                "expected_seq": {"type": "integer", "description": "409 chunk-gap"},
                "checks": {"type": "object", "additionalProperties": STRING},
            },
        },
        "TokenPair": _object(
            {
                "access_token": STRING,
                "refresh_token": STRING,
                "token_type": {"const": "bearer"},
                "expires_in": {"type": "integer", "description": "seconds"},
            }
        ),
        "Account": _object(
            {"id": uuid, "email": STRING, "role": {"type": "string", "enum": ["user", "admin"]}},
            disabled={"type": "boolean"},
        ),
        "AccountPage": _object(
            {
                "users": {"type": "array", "items": _ref("Account")},
                "next": {"type": ["string", "null"], "description": "the next page's URL"},
            }
        ),
        "StreamOpened": _object(
            {"id": uuid, "ingest_token": STRING, "expires_in": {"type": "integer"}}
        ),
        "Ecg": _object(
            {
                "id": uuid,
                "date": STRING,
                "status": {
                    "type": "string",
                    "enum": ["receiving", "processing", "done", "incomplete"],
                },
                "sampling_rate": {"type": ["number", "null"]},
                "leads": {
                    "type": "array",
                    "items": _object(
                        {
                            "name": {"type": "string", "enum": list(LEAD_NAMES)},
                            "number_of_samples": INTEGER,
                            "zero_crossings": nullable_integer,
                            "gain": {"type": ["number", "null"]},
                            "baseline": nullable_integer,
                        }
                    ),
                },
                "summary": {
                    "anyOf": [_ref("EcgSummary"), {"type": "null"}],
                    "description": "the totals so far (`final: false`) or final",
                },
                "windows": _object({"count": INTEGER, "href": STRING}),
                "beats": _object({"href": STRING}),
            }
        ),
        "WindowPage": _object(
            {
                "id": uuid,
                "windows": {"type": "array", "items": window},
                "next": {"type": ["string", "null"], "description": "the next page's URL"},
            }
        ),
        "Signal": _object(
            {
                "start": INTEGER,
                "end": {"type": "integer", "description": "the sample after the last served"},
                "sampling_rate": NULLABLE_NUMBER,
                "leads": _leads_with(signal={"type": "array", "items": INTEGER}),
            }
        ),
        "Overview": _object(
            {
                "start": INTEGER,
                "end": INTEGER,
                "bucket_samples": {"type": "integer", "description": "samples per bucket"},
                "sampling_rate": NULLABLE_NUMBER,
                "leads": _leads_with(
                    min={"type": "array", "items": NULLABLE_INTEGER},
                    max={"type": "array", "items": NULLABLE_INTEGER},
                ),
            }
        ),
        "Beats": _object(
            {
                "sampling_rate": {"type": ["number", "null"]},
                "status": STRING,
                "sample_indices": {"type": "array", "items": INTEGER},
                "classes": {
                    "type": "string",
                    "pattern": "^[NSVFQ]*$",
                    "description": "each beat's AAMI EC57 class, one letter per beat of "
                    "sample_indices, in the same order: N (normal or bundle-branch), S "
                    "(supraventricular ectopic), V (ventricular ectopic), F (fusion), Q "
                    "(unclassifiable; also every beat of a window stored before beats "
                    "were classified)",
                },
            }
        ),
        "Events": _object(
            {
                "sampling_rate": {"type": ["number", "null"]},
                "status": STRING,
                "events": {"type": "array", "items": _ref("RhythmEvent")},
            }
        ),
    }


NULLABLE_NUMBER: Final[JsonSchema] = {"type": ["number", "null"]}
NULLABLE_INTEGER: Final[JsonSchema] = {"type": ["integer", "null"]}


def _leads_with(**samples: JsonSchema) -> JsonSchema:
    """An array of an ECG's leads, each with its name, gain, baseline and ``samples``."""
    lead: dict[str, JsonSchema] = {
        "name": {"type": "string", "enum": list(LEAD_NAMES)},
        "gain": NULLABLE_NUMBER,
        "baseline": NULLABLE_INTEGER,
        **samples,
    }
    return {"type": "array", "items": _object(lead)}


def asyncapi_document() -> JsonSchema:
    """The stream WebSocket (``gateway.devices.socket`` says the protocol in full)."""
    chunk = chunk_body((), 0).schema()
    chunk_frame = {
        **chunk,
        "properties": {"type": {"const": "chunk"}, **chunk["properties"]},
        "required": ["type", *chunk["required"]],
    }
    seq = {"type": "integer", "minimum": 0}
    messages = {
        "chunk": {"payload": chunk_frame, "summary": "a chunk as JSON (a text frame)"},
        "binaryChunk": {
            "payload": {"type": "string", "format": "binary"},
            "contentType": "application/octet-stream",
            "summary": "a chunk in the binary chunk format (a binary frame)",
        },
        "end": {"payload": _object({"type": {"const": "end"}}), "summary": "end the stream"},
        "ready": {"payload": _object({"type": {"const": "ready"}, "next_seq": seq})},
        "ack": {"payload": _object({"type": {"const": "ack"}, "seq": seq})},
        "error": {
            "payload": _object(
                {
                    "type": {"const": "error"},
                    "seq": {"type": ["integer", "null"]},
                    "problem": {"type": "object", "description": "the HTTP problem+json"},
                }
            )
        },
        "retry": {
            "payload": _object(
                {
                    "type": {"const": "retry"},
                    "seq": {"type": ["integer", "null"]},
                    "retry_after": {"type": "integer"},
                    "detail": STRING,
                }
            )
        },
        "ended": {"payload": _object({"type": {"const": "ended"}, "seq": seq})},
    }
    sent = ("chunk", "binaryChunk", "end")
    answered = ("ready", "ack", "error", "retry", "ended")
    channel_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ecg-pipeline stream WebSocket",
            "version": VERSION,
            "description": (
                "One WebSocket per stream, opened with `Authorization: Bearer <ingest or "
                "access token>`. The gateway greets with `ready` (the seq to send next); "
                "every chunk or end gets exactly one answer, in order: `ack` once Kafka "
                "has it, `error` with the HTTP problem+json (the connection stays open), "
                "or `retry` (resend from seq after retry_after seconds). Close codes: "
                "1000 after `ended`, 1009 frame too large, 1012 gateway restarting, "
                "4401/4403 token expired or refused, 4409 taken over by a newer connection."
            ),
        },
        "servers": {"gateway": {"host": "localhost:8000", "protocol": "ws"}},
        "channels": {
            "stream": {
                "address": "/api/v1/ecg/{ecg_id}/ws",
                "parameters": {"ecg_id": {"description": "the stream's ECG id"}},
                "messages": channel_messages,
            }
        },
        "operations": {
            "sendChunks": {
                "action": "receive",
                "channel": {"$ref": "#/channels/stream"},
                "messages": [{"$ref": f"#/channels/stream/messages/{m}"} for m in sent],
            },
            "answer": {
                "action": "send",
                "channel": {"$ref": "#/channels/stream"},
                "messages": [{"$ref": f"#/channels/stream/messages/{m}"} for m in answered],
            },
        },
        "components": {"messages": messages},
    }


DOCS_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ecg-pipeline API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  validatorUrl: null
});
</script>
</body>
</html>
"""


def swagger_ui_assets() -> Path:
    """Swagger UI's files as the ``swagger-ui-py`` package ships them (found without
    importing the package, which would pull its web-framework adapters)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is missing: run `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def routes() -> list[BaseRoute]:
    openapi = json.dumps(openapi_document()).encode()
    asyncapi = json.dumps(asyncapi_document()).encode()

    async def openapi_json(request: Request) -> Response:
        return Response(openapi, media_type="application/json")

    async def asyncapi_json(request: Request) -> Response:
        return Response(asyncapi, media_type="application/json")

    async def docs(request: Request) -> Response:
        return HTMLResponse(DOCS_PAGE)

    return [
        Route("/api/v1/openapi.json", openapi_json, methods=["GET"], name="openapi"),
        Route("/api/v1/asyncapi.json", asyncapi_json, methods=["GET"], name="asyncapi"),
        Route("/docs", docs, methods=["GET"], name="docs"),
        Mount("/docs/assets", StaticFiles(directory=swagger_ui_assets()), name="docs_assets"),
    ]


def described_routes() -> set[tuple[str, str]]:
    """(method, path) of every documented operation."""
    return {(o.method.upper(), o.path) for o in OPERATIONS}
