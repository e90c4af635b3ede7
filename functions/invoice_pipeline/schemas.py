"""The JSON Schemas of schemas/, found wherever the code runs, and validation against them.

In a Lambda package the build copies the schema files into `invoice_pipeline/_schemas/`, because the
repository's top-level `schemas/` is not part of the zip; in a checkout (tests, local mode) they are read from
`schemas/` directly, so editing a schema needs no build step. The package copy wins when both exist: that is
what was deployed with the code."""

from __future__ import annotations

import copy
import json
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoice_pipeline.errors import SchemaViolation

# jsonschema and referencing are imported on the first validation, not with this module: most functions
# import it (through the repository) without ever validating, and the import costs about boto3's.
if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

__all__ = ["SCHEMA_DIRS", "load_schema", "validate_against", "validate_definition"]

_PACKAGE = Path(__file__).resolve().parent
SCHEMA_DIRS: tuple[Path, ...] = (_PACKAGE / "_schemas", _PACKAGE.parents[1] / "schemas")

# A Step Functions Cause holds 32 KB; a message quoting a whole invoice would crowd out everything else.
_MAX_MESSAGE = 500


def _file_name(name: str) -> str:
    """Callers may name a schema "invoice" or "invoice.schema.json": both mean the same file."""
    return name if name.endswith(".json") else f"{name}.schema.json"


def _path(name: str) -> Path:
    file_name = _file_name(name)
    if Path(file_name).name != file_name:
        raise ValueError(f"schema name must be a bare file name, not a path: {name!r}")
    for folder in SCHEMA_DIRS:
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {file_name} not found in {', '.join(str(d) for d in SCHEMA_DIRS)}")


@cache
def _load(name: str) -> dict[str, Any]:
    schema = json.loads(_path(name).read_text(encoding="utf-8"))
    if not isinstance(schema, dict):
        raise ValueError(f"schema {name} is not a JSON object")
    return schema


def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema. A copy: the cached original backs the validators, so a caller's edits must not
    reach it."""
    return copy.deepcopy(_load(_file_name(name)))


@lru_cache(maxsize=1)
def _registry() -> Registry:
    """Every schema that declares an $id, so one schema can $ref another by that id without any network
    retrieval. Folders are read in search order and the first file for an id wins, as in `_path`."""
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    resources: dict[str, Resource[Any]] = {}
    for folder in SCHEMA_DIRS:
        if not folder.is_dir():
            continue
        for file in sorted(folder.glob("*.json")):
            try:
                contents = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # not every file there is a schema (an OpenAPI document may live beside them)
            if isinstance(contents, dict) and isinstance(contents.get("$id"), str):
                resources.setdefault(contents["$id"], DRAFT202012.create_resource(contents))
    return Registry().with_resources(resources.items())


@cache
def _validator(file_name: str, definition: str | None = None) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = _load(file_name)
    if definition is not None:
        if definition not in schema.get("$defs", {}):
            raise KeyError(f"{file_name} has no $defs/{definition}")
        Draft202012Validator.check_schema(schema)
        schema = {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    # A broken schema would otherwise surface as a confusing validation error on good data.
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def validate_against(name: str, instance: Any) -> None:
    """Raise SchemaViolation naming the JSON path and the message of the most relevant error, if any.

    `best_match` rather than the literal first error: iteration order follows the schema's keywords, while
    best_match prefers the deepest, most specific failure, which is the one that says what to fix."""
    _raise_first(_file_name(name), None, instance)


def validate_definition(name: str, definition: str, instance: Any) -> None:
    """Validate against one entry of a schema's $defs, e.g. ("states", "parse_input", event)."""
    _raise_first(_file_name(name), definition, instance)


def _raise_first(file_name: str, definition: str | None, instance: Any) -> None:
    from jsonschema.exceptions import best_match

    error = best_match(_validator(file_name, definition).iter_errors(instance))
    if error is None:
        return
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    where = f"{file_name}#/$defs/{definition}" if definition else file_name
    raise SchemaViolation(f"{where}: {error.json_path}: {message}")
