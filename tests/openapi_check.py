"""Check an answer of the server extension against its schema in ``server.json``."""

from __future__ import annotations

from typing import Any

from openapi_schema_validator import OAS30Validator

from sdcc_lab import openapi


def assert_matches(schema_name: str, instance: Any, description: str = "server") -> None:
    """``instance`` is valid against ``components/schemas/<schema_name>`` (raises if not).

    The whole description is the root (so its ``#/components/…`` references
    resolve); the ``$ref`` beside them is what is checked (OpenAPI 3.0 schemas
    ignore a ``$ref``'s siblings).
    """
    doc = openapi.load(description)
    assert schema_name in doc["components"]["schemas"], schema_name
    OAS30Validator({**doc, "$ref": f"#/components/schemas/{schema_name}"}).validate(instance)
