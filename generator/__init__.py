"""bbws-gen: one definition in, the BBWS DynamoDB and S3 schema repos out."""


def __getattr__(name: str) -> str:
    # The version is looked up when asked for: importlib.metadata costs 25 ms of every command's start.
    if name != "__version__":
        raise AttributeError(f"module 'generator' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bbws-gen")
    except PackageNotFoundError:  # running from a checkout without installing
        return "0.0.0"
