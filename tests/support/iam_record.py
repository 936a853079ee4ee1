"""Recording the AWS requests the pipelines make on the emulator, each tagged with the role that made it.

Client side, so it works wherever terraform and the shipped scripts run (the e2e tests today, the act
rehearsal later): terraform writes its debug log (``TF_LOG=DEBUG``: the AWS provider and the S3 backend log
every SDK call with service, operation, region, URL and a head of the body) to a file named after the role
tag; the shipped scripts get a ``sitecustomize`` (``tests/support/iam_hook``, test-only) that appends each
boto3 request to a JSON-lines file. A tag is ``<repo>~<env>~<plan|apply>``: on the emulator every request
uses moto's dummy credentials, so the test names the role of the phase it runs (the plan job's or the apply
job's role); a rehearsal with assumed roles can set the same tag from the role it assumed.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

HOOK_DIR = Path(__file__).parent / "iam_hook"
_RECORD_START = re.compile(r"\n(?=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z \[)")
_ATTRIBUTE = re.compile(r'([\w.@]+)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\S*)')


def tag(repo: str, env: str, role: str) -> str:
    """The role tag of ``role`` ("plan" or "apply") of ``repo`` in ``env``."""
    return f"{repo}~{env}~{role}"


def recording_env(record_dir: Path, role_tag: str) -> dict[str, str]:
    """Environment that makes terraform and the shipped scripts record their requests under ``role_tag``."""
    name = f"{role_tag}~{uuid.uuid4().hex}"
    return {
        "TF_LOG": "DEBUG",
        "TF_LOG_PATH": str(record_dir / f"{name}.tflog"),
        "BBWS_IAM_RECORD_FILE": str(record_dir / f"{name}.jsonl"),
        "BBWS_IAM_ROLE": role_tag,
        "PYTHONPATH": str(HOOK_DIR),
    }


@dataclass
class Request:
    """One AWS request as the client sent it."""

    role: str
    service: str
    operation: str
    region: str
    params: dict[str, str] = field(default_factory=dict)
    body: str = ""
    response: str = ""
    group: str = ""  # terraform's tf_req_id: the requests of one resource operation
    source: str = ""
    time: str = ""  # ISO 8601 UTC, to put the files of parallel runs in the order the requests were made


def _attributes(record: str) -> tuple[dict[str, str], str]:
    """The key=value attributes of one log record, and its body (the lines after ``...body=``)."""
    head: list[str] = []
    body: list[str] = []
    for line in record.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("| "):
            body.append(stripped[2:])
        elif stripped != "| [truncated...]":
            head.append(line)
    values = {}
    for key, value in _ATTRIBUTE.findall(" ".join(head)):
        values[key] = value[1:-1] if value.startswith('"') else value
    return values, "\n".join(b for b in body if b != "[truncated...]")


def _s3_params(url: str) -> dict[str, str]:
    """Bucket, key and query of a path-style S3 URL (the emulator is path-style)."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    bucket, _, key = path.partition("/")
    params = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    query = {"Query." + k: v for k, v in params.items()}
    found = {"Bucket": unquote(bucket), **query}
    if key:
        found["Key"] = unquote(key)
    if "versionId" in params:
        found["VersionId"] = params["versionId"]
    return found


def _rest_params(url: str) -> dict[str, str]:
    """The names REST-style APIs (AWS Backup) carry in the URL path instead of the body."""
    parts = [unquote(p) for p in urlsplit(url).path.strip("/").split("/")]
    found = {}
    if len(parts) >= 2 and parts[0] == "backup-vaults":
        found["BackupVaultName"] = parts[1]
    elif len(parts) >= 3 and parts[:2] == ["backup", "plans"]:
        found["BackupPlanId"] = parts[2]
    elif len(parts) >= 2 and parts[0] in ("tags", "untag"):
        found["ResourceArn"] = "/".join(parts[1:])
    return found


def _json_params(body: str) -> dict[str, str]:
    """Top-level string fields of a JSON body, or of a form-encoded (IAM) body; what fits in the head."""
    text = body.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError:
            return {k: v for k, v in re.findall(r'"(\w+)":"((?:[^"\\]|\\.)*)"', text)}
        return {k: v for k, v in loaded.items() if isinstance(v, str)}
    if "=" in text and "<" not in text[:1]:
        return dict(parse_qsl(text))
    return {}


def parse_tf_log(path: Path, role_tag: str) -> list[Request]:
    """Every request terraform (provider and S3 backend) logged in ``path``, with its response body."""
    requests: list[Request] = []
    last: dict[tuple[str, str], Request] = {}
    for record in _RECORD_START.split(path.read_text(errors="replace")):
        sent = "HTTP Request Sent" in record.split("\n", 1)[0] or "HTTP Request Sent:" in record[:400]
        received = "HTTP Response Received" in record[:400]
        if not (sent or received):
            continue
        values, body = _attributes(record)
        method, service = values.get("rpc.method", ""), values.get("rpc.service", "").lower()
        if not method or not service:
            continue
        group = values.get("tf_req_id") or values.get("tf_backend.req_id", "")
        if received:
            previous = last.get((group, method))
            if previous is not None and not previous.response:
                previous.response = body
            continue
        url = values.get("http.url", "")
        params = _s3_params(url) if service == "s3" else {**_json_params(body), **_rest_params(url)}
        request = Request(
            role_tag, service, method, values.get("aws.region", ""), params, body, "", group, path.name, record[:24]
        )
        last[(group, method)] = request
        requests.append(request)
    return requests


def parse_hook_file(path: Path) -> list[Request]:
    """Every request the boto3 hook recorded in ``path``."""
    requests = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        params = {k: str(v) for k, v in entry["params"].items()}
        requests.append(
            Request(
                entry["role"],
                entry["service"],
                entry["operation"],
                entry["region"],
                params,
                source=path.name,
                time=entry["time"],
            )
        )
    return requests


def read_recording(record_dir: Path) -> list[Request]:
    """Every request recorded in ``record_dir``, in the order they were made."""
    found: list[Request] = []
    for path in sorted(record_dir.iterdir()):
        role_tag = path.name.rsplit("~", 1)[0]
        if path.suffix == ".tflog":
            found += parse_tf_log(path, role_tag)
        elif path.suffix == ".jsonl":
            found += parse_hook_file(path)
    return sorted(found, key=lambda r: r.time)
