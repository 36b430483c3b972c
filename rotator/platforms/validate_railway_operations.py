"""Validate every packaged Railway .graphql operation against a published schema.

    python -m rotator.platforms.validate_railway_operations path/to/schema.json

The schema file is Railway's introspection JSON (``{"data": {"__schema": ...}}`` or the bare
``{"__schema": ...}``) or SDL (``.graphql``). Exit 0 when all operations are valid, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from graphql import GraphQLSchema, build_client_schema, build_schema, parse, validate

from rotator.platforms.railway import load_operation, operation_names


def load_schema(path: Path) -> GraphQLSchema:
    # assume_valid: the published schema breaks a type-system rule graphql-core enforces
    # (Team.id is deprecated while the Node.id it implements is not); that says nothing
    # about whether our operations are valid against it.
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        raw = json.loads(text)
        return build_client_schema(raw.get("data", raw), assume_valid=True)
    return build_schema(text, assume_valid=True)


def validate_operations(schema: GraphQLSchema) -> dict[str, list[str]]:
    """Operation name -> validation error messages (empty list = valid)."""
    return {name: [error.message for error in validate(schema, parse(load_operation(name)))]
            for name in operation_names()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    results = validate_operations(load_schema(Path(args[0])))
    for name, errors in results.items():
        print(f"{'ok ' if not errors else 'BAD'} {name}")
        for error in errors:
            print(f"    {error}")
    return 1 if any(results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
