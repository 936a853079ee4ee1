"""Findings and the helpers that point into a file: a JSON pointer, or a line of a YAML/JSON document.

The generator owns these; the shipped scripts keep their own copies, because they run standalone in the
generated repos.
"""

from __future__ import annotations

# Stub: re-exported while the boundary work moves the definitions here (issue 14, part 1).
from generator.shipped.validate_schemas import Document, Finding, LineIndex, pointer_of

__all__ = ["Document", "Finding", "LineIndex", "pointer_of"]
