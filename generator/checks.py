"""The one adapter to the shipped scripts (``generator/shipped/``): the only module that imports them.

The shipped scripts are copied verbatim into the generated repos and run there standalone, so they keep
their own types; this module turns what they report into the generator's types.
"""

from __future__ import annotations

from generator.shipped import validate_templates
from generator.shipped.validate_schemas import (
    KEY_TYPES,
    load_json,
    schema_findings,
    table_files,
    validate_documents,
)

__all__ = [
    "KEY_TYPES",
    "load_json",
    "schema_findings",
    "table_files",
    "validate_documents",
    "validate_templates",
]
