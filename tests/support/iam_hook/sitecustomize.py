"""Test-only: records every boto3 request of a shipped script, with the role it runs as.

Put on PYTHONPATH by the test harness (tests/support/iam_record.py), never shipped. Each request is one
JSON line in $BBWS_IAM_RECORD_FILE: the role tag ($BBWS_IAM_ROLE), service, operation, region and the
request parameters (names and ids only; bodies are left out).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

_FILE = os.environ.get("BBWS_IAM_RECORD_FILE")


def _install(path: str) -> None:
    try:
        import botocore.session
    except ImportError:  # a Python without boto3 (pip's build environments, act's stand-ins) makes no request
        return

    original = botocore.session.Session.__init__

    def keep(params, context, **_):  # type: ignore[no-untyped-def]
        # The API parameters, before they are serialized (before-call sees only the HTTP request).
        context["bbws_iam_params"] = {
            k: v for k, v in params.items() if isinstance(v, (str, int, bool)) and k != "Body"
        }

    def record(model, params, request_signer, **_):  # type: ignore[no-untyped-def]
        kept = params.get("context", {}).get("bbws_iam_params", {})
        now = datetime.now(UTC)
        entry = {
            "time": f"{now:%Y-%m-%dT%H:%M:%S.%f}"[:23] + "Z",
            "role": os.environ.get("BBWS_IAM_ROLE", ""),
            "service": model.service_model.endpoint_prefix,
            "operation": model.name,
            "region": request_signer.region_name,
            "params": kept,
        }
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry, sort_keys=True, default=str) + "\n")

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        self.register("before-parameter-build", keep)
        self.register("before-call", record)

    botocore.session.Session.__init__ = init


if _FILE:
    _install(_FILE)
