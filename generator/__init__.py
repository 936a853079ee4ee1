"""bbws-gen: one definition in, the BBWS DynamoDB and S3 schema repos out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bbws-gen")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0"
