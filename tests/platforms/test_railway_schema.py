"""The sandbox schema is a true subset of Railway's, and every packaged operation is valid."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    build_client_schema,
    parse,
    validate,
)

from rotator.platforms.railway import load_operation, operation_names
from rotator.sandbox.railway_server import build_sandbox_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
# Railway's published schema, vendored (source and licence in SOURCE.txt next to it)
VENDORED_RAILWAY_SCHEMA = REPO_ROOT / "tests" / "fixtures" / "railway" / "schema.json.gz"


@pytest.fixture(scope="module")
def published_json() -> dict:
    return json.loads(gzip.decompress(VENDORED_RAILWAY_SCHEMA.read_bytes()))


@pytest.fixture(scope="module")
def published_schema_path(tmp_path_factory) -> Path:
    """The schema as a plain file, for the validation script (which reads a path)."""
    path = tmp_path_factory.mktemp("railway") / "schema.json"
    path.write_bytes(gzip.decompress(VENDORED_RAILWAY_SCHEMA.read_bytes()))
    return path


@pytest.fixture(scope="module")
def published(published_json):
    # assume_valid: see rotator/platforms/validate_railway_operations.py
    return build_client_schema(published_json.get("data", published_json), assume_valid=True)


def test_operations_are_packaged() -> None:
    assert {"Variables", "UpsertVariables", "RedeployDeployment", "DeploymentStatus",
            "ServiceDomains", "WorkspaceProjects", "Me",
            "VariablesForServiceDeployment"} <= set(operation_names())


@pytest.mark.parametrize("name", operation_names())
def test_operation_is_valid_against_sandbox_schema(name: str) -> None:
    errors = validate(build_sandbox_schema(), parse(load_operation(name)))
    assert not errors, [e.message for e in errors]


def test_validation_script_accepts_all_operations_against_published_schema(published_schema_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rotator.platforms.validate_railway_operations",
         str(published_schema_path)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BAD" not in result.stdout


def test_sandbox_schema_is_a_subset_of_published_schema(published) -> None:
    sandbox = build_sandbox_schema()
    for name, sandbox_type in sandbox.type_map.items():
        if name.startswith("__"):
            continue
        assert name in published.type_map, f"type {name} is not in Railway's schema"
        real = published.type_map[name]
        assert type(real) is type(sandbox_type), name
        if isinstance(sandbox_type, GraphQLEnumType):
            assert set(sandbox_type.values) == set(real.values), f"enum {name} differs"
        elif isinstance(sandbox_type, GraphQLObjectType | GraphQLInterfaceType):
            assert {i.name for i in sandbox_type.interfaces} <= {i.name for i in real.interfaces}
            for field_name, field in sandbox_type.fields.items():
                assert field_name in real.fields, f"{name}.{field_name} is not in Railway's schema"
                real_field = real.fields[field_name]
                assert str(field.type) == str(real_field.type), f"{name}.{field_name}"
                for arg_name, arg in field.args.items():
                    assert arg_name in real_field.args, f"{name}.{field_name}({arg_name})"
                    assert str(arg.type) == str(real_field.args[arg_name].type)
                required = {a for a, v in real_field.args.items()
                            if str(v.type).endswith("!") and v.default is None}
                assert required <= set(field.args), f"{name}.{field_name} lacks required args"
        elif isinstance(sandbox_type, GraphQLInputObjectType):
            assert set(sandbox_type.fields) == set(real.fields), f"input {name} differs"
            for field_name, field in sandbox_type.fields.items():
                assert str(field.type) == str(real.fields[field_name].type)
        else:
            assert isinstance(sandbox_type, GraphQLScalarType)


def test_deployment_status_enum_is_complete() -> None:
    values = set(build_sandbox_schema().type_map["DeploymentStatus"].values)
    assert values == {"BUILDING", "CRASHED", "DEPLOYING", "FAILED", "INITIALIZING",
                      "NEEDS_APPROVAL", "QUEUED", "REMOVED", "REMOVING", "SKIPPED", "SLEEPING",
                      "SUCCESS", "WAITING"}


def test_committed_sdl_is_what_the_generator_produces(published_json) -> None:
    from rotator.sandbox.generate_railway_schema import generate
    from rotator.sandbox.railway_server import load_sandbox_schema_sdl

    assert generate(published_json) == load_sandbox_schema_sdl()
