"""Reading and validating the definition folder (platform file, table files, template catalog)."""

from generator.definition.load import RawDefinition, load_definition

__all__ = ["RawDefinition", "load_definition"]
