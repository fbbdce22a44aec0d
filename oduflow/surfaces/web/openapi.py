"""The OpenAPI 3.1 document of the REST API (``GET /api/openapi.json``), generated from the
catalog and the route table: parameters and request bodies from the tools' argument schemas,
responses from their result schemas, the envelope and the error body around them."""

from __future__ import annotations

from typing import Any

import pydantic
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from oduflow import __version__
from oduflow.app import App
from oduflow.catalog import Catalog
from oduflow.errors import ConfigError
from oduflow.surfaces.web.api import ENDPOINTS, EVENT_STREAM, Endpoint
from oduflow.toolspec import ToolSpec

PATH = "/api/openapi.json"
REF = "#/components/schemas/{model}"
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ok": {"const": False},
        "error": {"type": "string"},
        "type": {"type": "string", "description": "Class of the error tree, e.g. NotFoundError."},
    },
    "required": ["ok", "error", "type"],
}


class Schemas:
    """``components/schemas``: the ``$defs`` of every schema, hoisted (one name, one schema)."""

    def __init__(self) -> None:
        self.found: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def hoist(self, schema: dict[str, Any]) -> dict[str, Any]:
        for name, definition in schema.pop("$defs", {}).items():
            if self.found.setdefault(name, definition) != definition:
                raise ConfigError(f"two different result or argument types are called {name!r}")
        return schema


def _parameter(where: str, name: str, arg: str, args: dict[str, Any]) -> dict[str, Any]:
    schema = dict(args["properties"][arg])
    return {
        "name": name,
        "in": where,
        "required": where == "path" or arg in args.get("required", []),
        "description": schema.pop("description", ""),
        "schema": schema,
    }


def _request_body(endpoint: Endpoint, args: dict[str, Any]) -> dict[str, Any] | None:
    taken = {*endpoint.path_args.values(), *endpoint.query_args.values()}
    props = {k: v for k, v in args["properties"].items() if k not in taken}
    if not endpoint.body or not props:
        return None
    required = [k for k in args.get("required", []) if k in props]
    schema = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _responses(spec: ToolSpec, schemas: Schemas) -> dict[str, Any]:
    result = pydantic.TypeAdapter(spec.result_type).json_schema(mode="serialization", ref_template=REF)
    envelope = {
        "type": "object",
        "properties": {"ok": {"const": True}, "result": schemas.hoist(result)},
        "required": ["ok", "result"],
    }
    events = {"schema": {"type": "string"}, "description": "progress events, then the result event"}
    error = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    return {
        "200": {
            "description": spec.mark.title,
            "content": {"application/json": {"schema": envelope}, EVENT_STREAM: events},
        },
        "default": {"description": "An error of the error tree, with its HTTP status.", "content": error},
    }


def operation(endpoint: Endpoint, spec: ToolSpec, schemas: Schemas) -> dict[str, Any]:
    """The OpenAPI operation of one endpoint."""
    args = schemas.hoist(spec.arguments_model.model_json_schema(ref_template=REF))
    params = [_parameter("path", name, arg, args) for name, arg in endpoint.path_args.items()]
    params += [_parameter("query", name, arg, args) for name, arg in endpoint.query_args.items()]
    op: dict[str, Any] = {
        "operationId": endpoint.tool,
        "summary": spec.mark.title,
        "description": spec.description,
        "tags": [endpoint.path.split("/")[2]],
        "parameters": params,
        "responses": _responses(spec, schemas),
    }
    body = _request_body(endpoint, args)
    if body is not None:
        op["requestBody"] = body
    return op


def openapi_document(catalog: Catalog, endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> dict[str, Any]:
    """The whole document for ``endpoints`` of ``catalog``."""
    schemas = Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        spec = catalog.get(endpoint.tool)
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation(endpoint, spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Oduflow REST API",
            "version": __version__,
            "description": "Every endpoint runs one tool of the catalog; see docs/web-api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.found,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        },
        "security": [{"basic": []}],
    }


def route(app: App) -> Route:
    """``GET /api/openapi.json``."""

    async def document(request: Request) -> JSONResponse:
        return JSONResponse(openapi_document(app.catalog))

    return Route(PATH, document, methods=["GET"], name="openapi")
