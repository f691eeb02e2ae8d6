"""The API documents, built from the declarations that check requests."""

from __future__ import annotations

from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator
from starlette.routing import Mount, Route, WebSocketRoute

from gateway.app import create_app
from gateway.openapi import OPERATIONS, asyncapi_document, described_routes, openapi_document
from gateway.recordings.bodies import UPLOAD
from gateway.settings import Settings

# Not API operations: the documents themselves, and the pages for people (API docs, viewer).
UNDOCUMENTED = {"/api/v1/openapi.json", "/api/v1/asyncapi.json", "/docs", "/ecg/{ecg_id:uuid}"}


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_route_is_documented_and_every_operation_is_routed(settings: Settings) -> None:
    routed = set()
    sockets = set()
    for route in create_app(settings).routes:
        if isinstance(route, Route) and route.path not in UNDOCUMENTED:
            routed |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
        elif isinstance(route, WebSocketRoute):
            sockets.add(route.path)
        else:
            assert isinstance(route, Mount | Route), route
    assert routed == described_routes()
    assert set(asyncapi_document()["channels"]["stream"]["address"].split()) == sockets


def test_request_bodies_are_the_declarations_that_check_them() -> None:
    upload = openapi_document()["paths"]["/api/v1/ecg/"]["post"]["requestBody"]
    assert upload["content"]["application/json"]["schema"] == UPLOAD.schema()
    leads = UPLOAD.schema()["properties"]["leads"]
    assert leads["maxItems"] == 25
    assert UPLOAD.schema()["additionalProperties"] is False


def test_operation_ids_are_unique() -> None:
    names = [operation.name for operation in OPERATIONS]
    assert len(names) == len(set(names))
