"""Regenerate the sandbox's Railway SDL subset from the published introspection JSON.

    python -m rotator.sandbox.generate_railway_schema schema.json > rotator/sandbox/railway_schema.graphql

Only the types and fields rotator uses are kept, with the published names, argument types,
defaults and complete enums, so the sandbox is a true subset (tests check it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    build_client_schema,
    get_named_type,
)
from graphql.utilities.print_schema import print_input_value

ALL = None  # keep every field / argument
_CONNECTIONS = ("QueryProjectsConnection", "QueryEnvironmentsConnection",
                "WorkspaceProjectsConnection",
                "QueryDeploymentsConnection", "ProjectEnvironmentsConnection",
                "ProjectServicesConnection", "EnvironmentServiceInstancesConnection")
# type -> field -> kept argument names (ALL = all). Optional arguments whose input types we
# do not need (orderBy, sort) are dropped; required ones never are.
KEEP: dict = {
    "Query": {"projects": ["after", "before", "first", "last", "includeDeleted", "workspaceId"],
              "project": ALL, "projectToken": ALL, "environments": ALL, "environment": ALL,
              "variables": ALL, "deployments": ALL, "deployment": ALL, "domains": ALL,
              "serviceInstance": ALL, "me": ALL, "workspace": ALL,
              "variablesForServiceDeployment": ALL, "externalWorkspaces": ALL, "apiToken": ALL},
    "Mutation": {"variableCollectionUpsert": ALL, "variableUpsert": ALL,
                 "deploymentRedeploy": ALL},
    "Node": {"id": ALL},
    "Domain": dict.fromkeys(["domain", "environmentId", "id", "serviceId", "targetPort"]),
    "Project": {"id": ALL, "name": ALL, "workspaceId": ALL, "createdAt": ALL,
                "environments": ["after", "before", "first", "isEphemeral", "last"],
                "services": ALL},
    "Environment": dict.fromkeys(["id", "name", "isEphemeral", "projectId",
                                  "serviceInstances"]),
    "Service": dict.fromkeys(["id", "name", "projectId"]),
    "User": dict.fromkeys(["id", "name", "email", "workspaces"]),
    "Workspace": {"id": ALL, "name": ALL, "projects": ALL},
    # projects a user was invited to outside their workspaces (api/railway.md §3)
    "ExternalWorkspace": dict.fromkeys(["id", "name", "projects"]),
    # "Introspect the current API token and its accessible workspaces" (published schema)
    "ApiTokenContext": ALL, "ApiTokenWorkspace": ALL,
    "Deployment": dict.fromkeys(["id", "status", "createdAt", "statusUpdatedAt", "canRedeploy",
                                 "canRollback", "deploymentStopped", "url", "staticUrl",
                                 "environmentId", "projectId", "serviceId"]),
    "ServiceInstance": dict.fromkeys(["id", "serviceId", "serviceName", "environmentId",
                                      "latestDeployment", "domains", "healthcheckPath"]),
    "AllDomains": dict.fromkeys(["serviceDomains", "customDomains"]),
    "ServiceDomain": dict.fromkeys(["id", "domain", "suffix", "targetPort", "syncStatus",
                                    "environmentId", "serviceId"]),
    "CustomDomain": dict.fromkeys(["id", "domain", "targetPort", "syncStatus", "environmentId",
                                   "serviceId"]),
    "ProjectToken": dict.fromkeys(["id", "name", "projectId", "environmentId", "project",
                                   "environment"]),
    "PageInfo": ALL,
    **{name: ALL for c in _CONNECTIONS for name in (c, c + "Edge")},
}
HEADER = (
    "# A true subset of Railway's published public API schema (anchors/railway/schema.json):\n"
    "# same type, field, argument and enum names and types, only the parts rotator uses.\n"
    "# Regenerate rather than hand-edit; tests/platforms/test_railway_schema.py checks the subset.\n"
)


def generate(introspection: dict) -> str:
    schema = build_client_schema(introspection.get("data", introspection), assume_valid=True)
    needed: set[str] = set()

    def ref(type_: object) -> None:
        needed.add(get_named_type(type_).name)  # type: ignore[arg-type]

    def render(name: str) -> str | None:
        type_ = schema.type_map[name]
        keep = KEEP.get(name, ALL)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            keyword = "type" if isinstance(type_, GraphQLObjectType) else "interface"
            interfaces = [i.name for i in type_.interfaces if i.name in KEEP]
            implements = f" implements {' & '.join(interfaces)}" if interfaces else ""
            lines = [f"{keyword} {name}{implements} {{"]
            for field_name, field in type_.fields.items():
                if keep is not ALL and field_name not in keep:
                    continue
                kept_args = ALL if keep is ALL else keep[field_name]
                args = []
                for arg_name, arg in field.args.items():
                    if kept_args is not ALL and arg_name not in kept_args:
                        continue
                    ref(arg.type)
                    args.append(print_input_value(arg_name, arg))
                ref(field.type)
                arg_text = f"({', '.join(args)})" if args else ""
                lines.append(f"  {field_name}{arg_text}: {field.type}")
            return "\n".join([*lines, "}"])
        if isinstance(type_, GraphQLInputObjectType):
            lines = [f"input {name} {{"]
            for field_name, field in type_.fields.items():
                ref(field.type)
                lines.append("  " + print_input_value(field_name, field))
            return "\n".join([*lines, "}"])
        if isinstance(type_, GraphQLEnumType):
            return "\n".join([f"enum {name} {{", *(f"  {v}" for v in type_.values), "}"])
        if isinstance(type_, GraphQLScalarType) and name not in (
                "String", "Int", "Boolean", "ID", "Float"):
            return f"scalar {name}"
        return None

    blocks, done, queue = [], set(), list(KEEP)
    while queue:
        name = queue.pop(0)
        if name in done:
            continue
        done.add(name)
        block = render(name)
        if block:
            blocks.append(block)
        queue.extend(sorted(n for n in needed - done if n not in queue))
    return (HEADER + "\nschema {\n  query: Query\n  mutation: Mutation\n}\n\n"
            + "\n\n".join(blocks) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    sys.stdout.write(generate(json.loads(Path(args[0]).read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
