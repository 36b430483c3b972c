"""Regenerate the sandbox's vendored OpenAPI subsets from the providers' published documents.

    python -m rotator.sandbox.generate_openapi_subsets ../shared/anchors

For each provider (Vercel, Resend, Neon) only the operations the sandbox serves are kept,
with every ``$ref`` resolved inline and OpenAPI 3.0 schema dialect (``nullable``, boolean
``exclusiveMinimum``) turned into JSON Schema 2020-12, so ``rotator.sandbox.openapi`` can
validate with jsonschema alone. The publisher's licence is copied beside each subset.
Regenerate rather than hand-edit; tests/platforms/test_openapi_contract.py checks the files
match what this script makes from the published documents.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUBSET_DIR = Path(__file__).resolve().parent / "openapi_specs"
_RECURSION_DEPTH = 2
# Annotations that only make the vendored files bigger; validation never reads them.
_DROPPED_SCHEMA_KEYS = {"description", "example", "examples", "title", "deprecated",
                        "externalDocs", "xml", "discriminator"}


@dataclass(frozen=True)
class SubsetSource:
    provider: str
    document: str  # path under the anchors folder
    licence: str  # path under the anchors folder
    operations: tuple[tuple[str, str], ...]  # (METHOD, path template) as published


SOURCES = (
    SubsetSource("vercel", "vercel/vercel-spec.json", "vercel/LICENSE", (
        ("GET", "/v10/projects/{idOrName}/env"),
        ("POST", "/v10/projects/{idOrName}/env"),
        ("GET", "/v1/projects/{idOrName}/env/{id}"),
        ("PATCH", "/v9/projects/{idOrName}/env/{id}"),
        ("DELETE", "/v9/projects/{idOrName}/env/{id}"),
        ("GET", "/v9/projects/{idOrName}"),
        ("GET", "/v9/projects/{idOrName}/domains"),
        ("GET", "/v9/projects/{idOrName}/custom-environments"),
        ("POST", "/v10/projects/{projectId}/promote/{deploymentId}"),
        ("GET", "/v6/deployments"),
        ("POST", "/v13/deployments"),
        ("GET", "/v13/deployments/{idOrUrl}"),
        ("GET", "/v2/user"),
        ("GET", "/v2/teams"),
    )),
    SubsetSource("resend", "resend/resend.json", "resend/LICENSE", (
        ("GET", "/api-keys"),
        ("POST", "/api-keys"),
        ("PATCH", "/api-keys/{api_key_id}"),
        ("DELETE", "/api-keys/{api_key_id}"),
        ("GET", "/domains"),
    )),
    SubsetSource("neon", "neon/neon-openapi-v2.json", "neon/LICENSE.neon-sdk-go", (
        ("GET", "/projects"),
        ("GET", "/projects/{project_id}"),
        ("GET", "/projects/{project_id}/branches"),
        ("GET", "/projects/{project_id}/branches/{branch_id}"),
        ("GET", "/projects/{project_id}/endpoints"),
        ("GET", "/projects/{project_id}/branches/{branch_id}/roles"),
        ("GET", "/projects/{project_id}/branches/{branch_id}/roles/{role_name}"),
        ("POST", "/projects/{project_id}/branches/{branch_id}/roles/{role_name}/reset_password"),
        ("GET", "/projects/{project_id}/branches/{branch_id}/roles/{role_name}/reveal_password"),
        ("GET", "/projects/{project_id}/operations"),
        ("GET", "/projects/{project_id}/operations/{operation_id}"),
    )),
)


class _Resolver:
    """Inlines local ``$ref``s of one document.

    A recursive schema is unrolled ``_RECURSION_DEPTH`` times, then accepts anything, so the
    first levels of a tree are checked and the file stays finite.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def target(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {ref!r}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def deref(self, node: Any, seen: tuple[str, ...] = ()) -> tuple[Any, tuple[str, ...]]:
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if seen.count(ref) >= _RECURSION_DEPTH:
                return None, seen
            seen = (*seen, ref)
            node = self.target(ref)
        return node, seen

    def schema(self, node: Any, seen: tuple[str, ...] = ()) -> Any:
        node, seen = self.deref(node, seen)
        if node is None:
            return {}  # recursion: accept anything below this point rather than loop
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED_SCHEMA_KEYS or key.startswith("x-"):
                continue
            if key in ("properties", "patternProperties", "$defs", "definitions"):
                out[key] = {name: self.schema(sub, seen) for name, sub in value.items()}
            elif key in ("items", "additionalProperties", "not", "contains",
                         "propertyNames", "if", "then", "else", "unevaluatedProperties"):
                out[key] = self.schema(value, seen) if isinstance(value, dict) else value
            elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
                out[key] = [self.schema(sub, seen) for sub in value]
            else:
                out[key] = value
        return _json_schema_dialect(out)


def _json_schema_dialect(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 schema keywords → JSON Schema 2020-12 (3.1 documents pass unchanged)."""
    if schema.pop("nullable", False):
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            schema["type"] = [*kind, "null"]
        elif kind is None and "enum" not in schema:
            schema = {"anyOf": [schema, {"type": "null"}]}
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if schema.get(bound) is True and limit in schema:
            schema[bound] = schema.pop(limit)
        elif schema.get(bound) is False:
            del schema[bound]
    return schema


def _operation(resolver: _Resolver, path_item: dict[str, Any], method: str) -> dict[str, Any]:
    raw = path_item[method.lower()]
    parameters: dict[tuple[str, str], dict[str, Any]] = {}
    for source in (path_item.get("parameters", []), raw.get("parameters", [])):
        for entry in source:
            param, _ = resolver.deref(entry)
            parameters[(param["name"], param["in"])] = {
                "name": param["name"], "in": param["in"],
                "required": bool(param.get("required", param["in"] == "path")),
                **({"style": param["style"]} if "style" in param else {}),
                **({"explode": param["explode"]} if "explode" in param else {}),
                "schema": resolver.schema(param.get("schema", {})),
            }
    operation: dict[str, Any] = {"operationId": raw.get("operationId"),
                                 "parameters": list(parameters.values())}
    if "requestBody" in raw:
        body, _ = resolver.deref(raw["requestBody"])
        content = body.get("content", {})
        media = next((m for m in content if "json" in m), None)
        operation["requestBody"] = {
            "required": bool(body.get("required", False)),
            "mediaType": media,
            "schema": resolver.schema(content[media].get("schema", {})) if media else {},
        }
    responses = {}
    for status, entry in raw.get("responses", {}).items():
        response, _ = resolver.deref(entry)
        media = next((m for m in response.get("content", {}) if "json" in m), None)
        responses[status] = (resolver.schema(response["content"][media].get("schema", {}))
                             if media else None)
    operation["responses"] = responses
    return operation


def generate(source: SubsetSource, document: dict[str, Any]) -> dict[str, Any]:
    """The vendored subset of ``document`` for ``source``."""
    resolver = _Resolver(document)
    paths: dict[str, dict[str, Any]] = {}
    for method, template in source.operations:
        path_item = document["paths"][template]
        paths.setdefault(template, {})[method.lower()] = _operation(resolver, path_item, method)
    info = document.get("info", {})
    return {
        "openapi": document["openapi"],
        "info": {"title": info.get("title"), "version": info.get("version")},
        "servers": document.get("servers", []),
        "x-subset-of": f"anchors/{source.document}; operations the rotator sandbox serves, "
                       "$refs inlined, JSON Schema 2020-12 dialect. Generated by "
                       "rotator/sandbox/generate_openapi_subsets.py; do not hand-edit.",
        "paths": paths,
    }


def subset_text(subset: dict[str, Any]) -> str:
    return json.dumps(subset, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(anchors: Path, out_dir: Path = SUBSET_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in SOURCES:
        document = json.loads((anchors / source.document).read_text(encoding="utf-8"))
        target = out_dir / f"{source.provider}.json"
        target.write_text(subset_text(generate(source, document)), encoding="utf-8")
        licence = out_dir / f"{source.provider}.LICENSE"
        shutil.copyfile(anchors / source.licence, licence)
        written += [target, licence]
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in write_all(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
