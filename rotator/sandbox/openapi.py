"""Validate sandbox requests against a vendored subset of a provider's published OpenAPI document.

The subsets live in ``openapi_specs/`` (made by ``generate_openapi_subsets.py`` from
``anchors/``). A sandbox server asks :meth:`OpenAPIContract.validate` about each request and
gets either a :class:`ValidRequest` (operation matched, path/query parameters coerced to their
schema types, JSON body parsed) or a :class:`RequestProblem` it turns into the provider's own
documented error body. Problem messages name the field and the broken constraint but never
echo the value: request bodies carry secrets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from rotator.sandbox.server import Request

_PARAM = re.compile(r"^\{(?P<name>[^{}]+)\}$")


@dataclass(frozen=True)
class Operation:
    """One (method, path template) of the published document."""

    operation_id: str
    method: str
    path_template: str
    parameters: tuple[dict[str, Any], ...]
    body: dict[str, Any] | None  # {"required", "mediaType", "schema"} or None
    responses: dict[str, Any]  # status -> JSON schema of the body (None when not JSON)
    segments: tuple[str, ...] = field(repr=False, default=())

    @property
    def literal_segments(self) -> int:
        return sum(1 for s in self.segments if not _PARAM.match(s))


@dataclass(frozen=True)
class RequestProblem:
    """Why a request does not fit the contract; the server renders it in the provider's shape."""

    status: int  # 404 no such path, 405 path known but not this method, 400 invalid request
    reason: str  # "unknown_path" | "method_not_allowed" | "invalid_request"
    message: str  # one line, names the field and the constraint, never the value
    location: str = ""  # "path" | "query" | "header" | "body"
    field: str = ""  # parameter name or dotted JSON path in the body
    keyword: str = ""  # the JSON Schema keyword that failed: required, type, maxLength, …
    operation_id: str | None = None


@dataclass(frozen=True)
class ValidRequest:
    operation: Operation
    path_params: dict[str, Any]
    query: dict[str, Any]
    body: Any  # parsed JSON, or None when the operation takes none / none was sent


def load_subset(provider: str) -> dict[str, Any]:
    """The packaged subset document for ``provider`` (vercel, resend, neon)."""
    text = resources.files("rotator.sandbox").joinpath(
        "openapi_specs", f"{provider}.json").read_text(encoding="utf-8")
    return json.loads(text)


class OpenAPIContract:
    """Matches requests to operations of one OpenAPI subset and validates them."""

    def __init__(self, document: dict[str, Any]) -> None:
        servers = document.get("servers") or [{"url": ""}]
        # Paths are relative to the server URL's path (Neon serves under /api/v2).
        self.base_path = urlsplit(servers[0]["url"]).path.rstrip("/")
        self.operations: list[Operation] = []
        for template, methods in document["paths"].items():
            for method, raw in methods.items():
                self.operations.append(Operation(
                    operation_id=raw.get("operationId") or f"{method.upper()} {template}",
                    method=method.upper(), path_template=template,
                    parameters=tuple(raw.get("parameters", [])), body=raw.get("requestBody"),
                    responses=raw.get("responses", {}),
                    segments=tuple(template.strip("/").split("/")),
                ))
        # Most literal segments first: /projects/shared wins over /projects/{project_id}.
        self.operations.sort(key=lambda op: -op.literal_segments)
        self._validators: dict[int, Draft202012Validator] = {}

    @classmethod
    def load(cls, provider: str) -> OpenAPIContract:
        return cls(load_subset(provider))

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise KeyError(f"no operation {operation_id!r} in this contract")

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | RequestProblem:
        """The operation serving ``method path`` and its raw path parameters, or a problem."""
        relative = path
        if self.base_path:
            if not (path == self.base_path or path.startswith(self.base_path + "/")):
                return RequestProblem(404, "unknown_path", f"no endpoint at {path}")
            relative = path[len(self.base_path):]
        segments = tuple(relative.strip("/").split("/"))
        path_known = False
        for op in self.operations:
            params = _match_segments(op.segments, segments)
            if params is None:
                continue
            path_known = True
            if op.method == method.upper():
                return op, params
        if path_known:
            return RequestProblem(405, "method_not_allowed",
                                  f"{method.upper()} is not allowed on {path}")
        return RequestProblem(404, "unknown_path", f"no endpoint at {path}")

    def validate(self, request: Request) -> ValidRequest | RequestProblem:
        matched = self.match(request.method, request.path)
        if isinstance(matched, RequestProblem):
            return matched
        op, raw_path = matched
        documented = {p["name"] for p in op.parameters if p.get("in") == "query"}
        unknown = sorted((set(request.query) | set(request.query_all or ())) - documented)
        if unknown:
            # A parameter the operation does not define is refused, not silently honoured or
            # ignored: a sandbox that pages or filters by it would be kinder than the contract.
            return self._problem(op, "query", unknown[0], "additionalProperties",
                                 f"query parameter `{unknown[0]}` is not accepted by this endpoint")
        path_params: dict[str, Any] = {}
        query: dict[str, Any] = {}
        for param in op.parameters:
            name, where, schema = param["name"], param["in"], param.get("schema") or {}
            if where == "path":
                raw: Any = raw_path.get(name)
            elif where == "query":
                raw = _query_value(request, name, schema, param)
            elif where == "header":
                raw = request.headers.get(name)
            else:
                continue  # cookies: the sandbox has none
            if raw is None:
                if param.get("required"):
                    return self._problem(op, where, name, "required",
                                         f"{where} parameter `{name}` is required")
                continue
            value = _coerce(raw, schema)
            problem = self._check(op, schema, value, where, name)
            if problem is not None:
                return problem
            if where == "path":
                path_params[name] = value
            elif where == "query":
                query[name] = value
        body = None
        if op.body is not None:
            if not request.body.strip():
                if op.body.get("required"):
                    return self._problem(op, "body", "", "required", "a JSON body is required")
            else:
                try:
                    body = json.loads(request.body)
                except ValueError:
                    return self._problem(op, "body", "", "json", "the body is not valid JSON")
                problem = self._check(op, op.body.get("schema") or {}, body, "body", "")
                if problem is not None:
                    return problem
        return ValidRequest(op, path_params, query, body)

    def response_problems(self, operation_id: str, status: int, body: Any) -> list[str]:
        """Where a response body the sandbox built departs from the documented schema."""
        op = self.operation(operation_id)
        schema = op.responses.get(str(status))
        if schema is None:
            return [] if str(status) in op.responses else [f"status {status} is not documented"]
        return [_describe(e, "") for e in self._validator(schema).iter_errors(body)]

    def _validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        key = id(schema)  # schemas belong to self.operations and live as long as the contract
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(schema)
        return self._validators[key]

    def _check(self, op: Operation, schema: dict[str, Any], value: Any, where: str,
               name: str) -> RequestProblem | None:
        error = best_match(self._validator(schema).iter_errors(value))
        if error is None:
            return None
        dotted = ".".join(str(p) for p in error.absolute_path)
        field_name = ".".join(p for p in (name, dotted) if p)
        if error.validator == "required":
            missing = _missing_property(error)
            field_name = ".".join(p for p in (field_name, missing) if p)
        return self._problem(op, where, field_name, str(error.validator),
                             _describe(error, field_name or where))

    @staticmethod
    def _problem(op: Operation, where: str, name: str, keyword: str,
                 message: str) -> RequestProblem:
        return RequestProblem(400, "invalid_request", message, where, name, keyword,
                              op.operation_id)


def _match_segments(template: tuple[str, ...], path: tuple[str, ...]) -> dict[str, str] | None:
    if len(template) != len(path):
        return None
    params = {}
    for want, got in zip(template, path, strict=True):
        param = _PARAM.match(want)
        if param:
            if not got:
                return None
            params[param["name"]] = unquote(got)
        elif want != got:
            return None
    return params


def _query_value(request: Request, name: str, schema: dict[str, Any],
                 param: dict[str, Any]) -> Any:
    values = request.query_all.get(name) if request.query_all else None
    if values is None:
        values = [request.query[name]] if name in request.query else None
    if values is None:
        return None
    if _types(schema) & {"array"}:
        if param.get("explode", True) is False or len(values) == 1:
            return [v for value in values for v in value.split(",")]
        return list(values)
    return values[-1]


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind or ())


def _coerce(raw: Any, schema: dict[str, Any]) -> Any:
    """A path/query/header string as the type its schema declares; unchanged when it is not one."""
    if isinstance(raw, list):
        return [_coerce(item, schema.get("items") or {}) for item in raw]
    kinds = _types(schema)
    if "integer" in kinds and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if "number" in kinds and re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", raw):
        return float(raw)
    if "boolean" in kinds and raw in ("true", "false"):
        return raw == "true"
    return raw


def _missing_property(error: ValidationError) -> str:
    instance = error.instance if isinstance(error.instance, dict) else {}
    missing = [name for name in error.validator_value if name not in instance]
    return str(missing[0]) if missing else ""


def _describe(error: ValidationError, where: str) -> str:
    """A one-line account of a failed constraint that never quotes the offending value."""
    keyword, limit = error.validator, error.validator_value
    subject = f"`{where}`" if where else "the value"
    if keyword == "required":
        return f"{subject} is required"
    if keyword == "type":
        return f"{subject} must be of type {limit if isinstance(limit, str) else ' or '.join(limit)}"
    if keyword == "enum":
        return f"{subject} must be one of: {', '.join(map(str, limit))}"
    if keyword == "const":
        return f"{subject} must be {limit!r}"
    if keyword == "maxLength":
        return f"{subject} must be at most {limit} characters"
    if keyword == "minLength":
        return f"{subject} must be at least {limit} characters"
    if keyword in ("maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"):
        relation = {"maximum": "at most", "exclusiveMaximum": "less than",
                    "minimum": "at least", "exclusiveMinimum": "greater than"}[keyword]
        return f"{subject} must be {relation} {limit}"
    if keyword == "pattern":
        return f"{subject} must match the pattern {limit}"
    if keyword in ("maxItems", "minItems"):
        return f"{subject} must have {'at most' if keyword == 'maxItems' else 'at least'} {limit} items"
    if keyword in ("oneOf", "anyOf"):
        return f"{subject} matches none of the allowed shapes"
    if keyword == "additionalProperties":
        return f"{subject} has a property the endpoint does not accept"
    return f"{subject} fails the `{keyword}` constraint"
