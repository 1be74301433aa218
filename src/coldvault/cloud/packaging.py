"""``coldvault package``: a deterministic Lambda zip and the packaged template.

The zip holds the ``coldvault`` package as installed, less what a function never imports (the CLI,
the sandbox, deploying, caches), and the AWS SDK installed beside it (:data:`SDK_PACKAGES`): the
versions the tests ran, not the Lambda runtime's own, which is older and refuses parameters coldvault
sends (botocore 1.35 rejects ``ChecksumType`` on CreateMultipartUpload and ``DeleteAssociatedSnapshots``
on DeregisterImage).
Lambda puts the function's package before its runtime libraries on ``sys.path``, so these shadow the
bundled ones. Of botocore's service models only the newest of each service the functions call
(:data:`SDK_SERVICES`) is carried. awscrt is not (native code, and the one installed here is built for
this machine, not Lambda's arm64): ``verify-content`` is refused in the cloud. Entries are sorted and
carry a fixed timestamp and mode, so the same installed files give the same bytes and the same SHA-256,
which names the artifact key (a changed package is a changed key: CloudFormation updates the
functions; an unchanged one is a no-op).

The packaged template is ``template.yaml`` with each ``"{{coldvault:<name>.asl.json}}"`` placeholder
replaced by that ASL file as one JSON string (the state machines' ``DefinitionString``): the ASL deployed
is exactly the file statelint checks (:func:`rendered_asl` gives it with its substitutions filled).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import re
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import coldvault

ASL_FILE = "archive.asl.json"
ASL_FILES = ("archive.asl.json", "restore.asl.json")
_PLACEHOLDER = re.compile(r'"\{\{coldvault:([a-z_-]+\.asl\.json)\}\}"')
TEMPLATE_FILE = "template.yaml"
EXCLUDED_DIRS = frozenset({"cli", "demo", "sandbox", "__pycache__"})
# Deploying is the operator's machine's business: no function imports these (nor needs their SDK models).
EXCLUDED_FILES = frozenset(
    {
        "__main__.py",
        "cloud/deploy.py",
        "cloud/packaging.py",
        "aws/artifacts.py",
        "aws/cloudformation.py",
        "aws/stepfunctions.py",
    }
)
INCLUDED_SUFFIXES = (".py", ".json", ".yaml", ".typed")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# The AWS SDK the functions run, as installed here (top-level packages / modules).
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
SDK_DATA_PACKAGES = frozenset({"boto3", "botocore"})  # their data/ holds one directory per service
# The services the functions create clients for (tests/cloud/test_packaging.py checks the code's list).
SDK_SERVICES = frozenset({"backup", "ebs", "ec2", "kms", "s3", "sqs", "ssm", "sts"})
ARTIFACT_PREFIX = "coldvault/lambda-"
_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def package_root() -> Path:
    return Path(coldvault.__file__).resolve().parent


def read_cloud_file(name: str) -> str:
    return resources.files("coldvault.cloud").joinpath(name).read_text(encoding="utf-8")


def lambda_files(root: Path | None = None) -> list[tuple[str, Path]]:
    """(archive name, source path) of every file the zip holds, sorted by name."""
    base = root or package_root()
    found: list[tuple[str, Path]] = []
    for path in base.rglob("*"):
        rel = path.relative_to(base)
        if not path.is_file() or any(part in EXCLUDED_DIRS for part in rel.parts):
            continue
        if rel.as_posix() in EXCLUDED_FILES or not path.name.endswith(INCLUDED_SUFFIXES):
            continue
        found.append((f"coldvault/{rel.as_posix()}", path))
    return sorted(found)


def _package_dir(name: str) -> Path | None:
    """Where the installed package ``name`` lives (None for a single-module distribution)."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise RuntimeError(f"{name} is not installed: the Lambda package needs it")
    locations = list(spec.submodule_search_locations or [])
    return Path(locations[0]).resolve() if locations else None


def _model_wanted(parts: tuple[str, ...], newest: dict[str, str]) -> bool:
    """For a file under ``botocore/data`` or ``boto3/data``: whether it is a model to carry."""
    if len(parts) < 3:  # the shared files (endpoints.json, partitions.json, _retry.json, ...)
        return True
    service, version = parts[1], parts[2]
    return service in SDK_SERVICES and (len(parts) == 3 or version == newest.get(service))


def sdk_files() -> list[tuple[str, Path]]:
    """(archive name, source path) of the SDK files the zip carries, sorted by name."""
    found: list[tuple[str, Path]] = []
    for name in SDK_PACKAGES:
        base = _package_dir(name)
        if base is None:
            spec = importlib.util.find_spec(name)
            origin = Path(spec.origin if spec and spec.origin else "").resolve()
            found.append((origin.name, origin))
            continue
        newest: dict[str, str] = {}
        data = base / "data"
        if name in SDK_DATA_PACKAGES and data.is_dir():
            for service in data.iterdir():
                versions = sorted(v.name for v in service.iterdir() if v.is_dir()) if service.is_dir() else []
                if versions:
                    newest[service.name] = versions[-1]
        for path in base.rglob("*"):
            rel = path.relative_to(base)
            if not path.is_file() or "__pycache__" in rel.parts or path.suffix == ".pyc":
                continue
            if name in SDK_DATA_PACKAGES and rel.parts[0] == "data" and not _model_wanted(rel.parts, newest):
                continue
            found.append((f"{name}/{rel.as_posix()}", path))
    return sorted(found)


def build_zip(root: Path | None = None) -> bytes:
    """The Lambda package's bytes (deterministic): coldvault and the SDK."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in sorted([*lambda_files(root), *sdk_files()]):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def artifact_key(zip_bytes: bytes) -> str:
    return f"{ARTIFACT_PREFIX}{hashlib.sha256(zip_bytes).hexdigest()[:16]}.zip"


def compact_asl(asl_text: str) -> str:
    return json.dumps(json.loads(asl_text), separators=(",", ":"), ensure_ascii=False)


def placeholder(asl_file: str) -> str:
    return f'"{{{{coldvault:{asl_file}}}}}"'


def packaged_template(template_text: str | None = None, asl_text: str | None = None) -> str:
    """``template.yaml`` with each state machine's ASL file inlined as its ``DefinitionString``.

    ``asl_text``, when given, stands in for ``archive.asl.json`` (tests).
    """
    template = template_text if template_text is not None else read_cloud_file(TEMPLATE_FILE)
    if template.count(placeholder(ASL_FILE)) != 1:
        raise ValueError(f"the template must hold {placeholder(ASL_FILE)} exactly once")

    def inline(match: re.Match[str]) -> str:
        name = match.group(1)
        text = asl_text if asl_text is not None and name == ASL_FILE else read_cloud_file(name)
        return json.dumps(compact_asl(text), ensure_ascii=True)  # a JSON string is a YAML scalar

    return _PLACEHOLDER.sub(inline, template)


def substitution_names(asl_text: str) -> set[str]:
    return set(_SUBSTITUTION.findall(asl_text))


def rendered_asl(
    asl_text: str | None = None, values: dict[str, str] | None = None, name: str = ASL_FILE
) -> str:
    """The ASL as CloudFormation deploys it, every ``${Name}`` replaced (sample ARNs by default)."""
    asl = asl_text if asl_text is not None else read_cloud_file(name)
    given = values or {}

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in given:
            return given[key]
        if key.endswith("TopicArn"):
            return f"arn:aws:sns:us-east-1:123456789012:{key[: -len('TopicArn')]}"
        return f"arn:aws:lambda:us-east-1:123456789012:function:{key.removesuffix('Arn')}"

    return _SUBSTITUTION.sub(value, asl)


@dataclass(frozen=True)
class Package:
    zip_path: Path
    template_path: Path
    artifact_key: str
    sha256: str


def write_package(out_dir: Path) -> Package:
    """Write the zip and the packaged template into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = build_zip()
    key = artifact_key(data)
    zip_path = out_dir / Path(key).name
    zip_path.write_bytes(data)
    template_path = out_dir / "template.packaged.yaml"
    template_path.write_text(packaged_template(), encoding="utf-8")
    return Package(zip_path, template_path, key, hashlib.sha256(data).hexdigest())


def main(argv: list[str] | None = None) -> int:
    """``python -m coldvault.cloud.packaging template OUT`` / ``render-asl OUT_DIR``: files for the linters
    (the packaged template; every ASL file as deployed, substitutions filled)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in {"render-asl", "template"}:
        print("usage: python -m coldvault.cloud.packaging template OUT | render-asl OUT_DIR", file=sys.stderr)
        return 2
    out = Path(args[1])
    if args[0] == "template":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(packaged_template(), encoding="utf-8")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name in ASL_FILES:
        (out / name).write_text(rendered_asl(name=name), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
