"""Lambda in the sandbox: a function's real code runs when it is invoked (moto's simple backend only echoes).

``LambdaSimpleBackend.invoke`` is replaced by :func:`invoke`, which runs the function's ``Handler``
from its package with its environment, the variables Lambda itself sets (Region, credentials,
function name) and ``AWS_ENDPOINT_URL`` pointing at the sandbox (unless the function sets its own),
so the function's AWS calls reach the sandbox on whatever port it listens.

The package carries coldvault and the AWS SDK it was tested with (:mod:`coldvault.cloud.packaging`),
and the function must run that SDK, not whatever this process has. Two ways to run, chosen per package:

- **in process**, when every file of the zip, coldvault's and the SDK's (boto3, botocore, s3transfer,
  …), is byte-identical to the file this process imports for that name (the usual case: ``coldvault
  deploy`` packaged this very environment), so the code that runs is the package's, byte for byte. The
  handler is imported from the installed packages and called in the request's thread with the
  function's environment set through :func:`coldvault.cloud.runtime.function_environment`. (The zip
  carries botocore's models of the services the functions call only; a test checks that list against
  the clients the packaged code creates, and the subprocess mode runs the whole state machine.)
- **in a subprocess** otherwise (or when the function sets ``COLDVAULT_LAMBDA_SUBPROCESS=1``): the zip
  is extracted, and ``python -I -S`` runs the handler with the package first on its path and then the
  host's SDK standing for the Lambda runtime's own libraries, as Lambda orders ``/var/task`` before
  ``/var/runtime``: the package's SDK shadows the runtime's. About 1.5 s more per invocation.

A handler that raises gives ``x-amz-function-error: Unhandled`` and ``{"errorType": <class name>,
"errorMessage": …}``, which Step Functions matches in ``Retry``/``Catch``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from pathlib import Path
from typing import Any

RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
_lock = threading.Lock()
_code_dirs: dict[str, Path] = {}
_same_as_installed: dict[tuple[str, str], bool] = {}
FORCE_SUBPROCESS_ENV = "COLDVAULT_LAMBDA_SUBPROCESS"  # a function env var: always run from its zip
# A function env var a test sets: the seconds its handler's context says are left (in process; the
# handler is not stopped then). How a test gives the copy step a short invocation without a slow S3.
CONTEXT_SECONDS_ENV = "COLDVAULT_SANDBOX_CONTEXT_SECONDS"


class LambdaContext:
    """The handler's ``context``: name, ARN, request id and the time left before the timeout."""

    def __init__(self, name: str, arn: str, memory: int, timeout: float) -> None:
        self.function_name = name
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _sandbox_endpoint() -> str:
    return f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}"


def function_env(fn: Any) -> dict[str, str]:
    """What the function sees: Lambda's own variables, then its configured ones."""
    env = {
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_SESSION_TOKEN": "sandbox",
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_ENDPOINT_URL": _sandbox_endpoint(),
        "_HANDLER": fn.handler or "",
    }
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    return env


def _digest(code: bytes) -> str:
    return hashlib.sha256(code).hexdigest()


def _installed_path(name: str) -> Path | None:
    """The file this process would import for the zip entry ``name`` (None: no such package here)."""
    top, _, rest = name.partition("/")
    try:
        spec = importlib.util.find_spec(top.removesuffix(".py"))
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if not rest:  # a single-module distribution (six.py)
        return Path(spec.origin).resolve() if spec.origin else None
    locations = list(spec.submodule_search_locations or [])
    return Path(locations[0]).resolve() / rest if locations else None


def same_as_installed(code: bytes, top_package: str) -> bool:
    """Whether the zip holds ``top_package`` and every file of the zip, whatever its package (the
    handler's and the SDK's), equals the one this process imports."""
    key = (_digest(code), top_package)
    if key not in _same_as_installed:
        same = True
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            for name in names:
                installed = _installed_path(name)
                if (
                    installed is None
                    or not installed.is_file()
                    or installed.read_bytes() != archive.read(name)
                ):
                    same = False
                    break
        _same_as_installed[key] = same and any(n.startswith(f"{top_package}/") for n in names)
    return _same_as_installed[key]


def _error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(getattr(exc, "message", "") or exc),
        "stackTrace": traceback.format_exception(exc)[-5:],
    }


def run_in_process(handler: str, event: Any, env: dict[str, str], context: LambdaContext) -> tuple[bool, Any]:
    from coldvault.cloud.runtime import function_environment

    module_name, _, function_name = handler.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        with function_environment(env):
            return True, function(event, context)
    except Exception as exc:  # noqa: BLE001 - any failure of the function is returned, as Lambda does
        return False, _error_payload(exc)


def _runtime_path() -> Path:
    """A directory standing for the Lambda Python runtime's own libraries (links into this environment);
    on the path after the package, whose SDK shadows them."""
    import botocore

    site = Path(botocore.__file__).resolve().parent.parent
    target = Path(tempfile.gettempdir()) / f"coldvault-lambda-runtime-{os.getpid()}"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix="coldvault-lambda-runtime-"))
        for name in RUNTIME_LIBRARIES:
            for candidate in (site / name, site / f"{name}.py"):
                if candidate.exists():
                    (staging / candidate.name).symlink_to(candidate)
        with contextlib.suppress(OSError):  # another thread made it first
            staging.rename(target)
    return target


def _code_dir(code: bytes) -> Path:
    digest = _digest(code)
    with _lock:
        if digest not in _code_dirs:
            target = Path(tempfile.mkdtemp(prefix=f"coldvault-lambda-{digest[:12]}-"))
            with zipfile.ZipFile(io.BytesIO(code)) as archive:
                archive.extractall(target)
            _code_dirs[digest] = target
        return _code_dirs[digest]


BOOTSTRAP = """
import json, sys, time, traceback
sys.path[:0] = [sys.argv[1], sys.argv[2]]
handler, deadline = sys.argv[3], time.monotonic() + float(sys.argv[4])
class Context:
    function_name = sys.argv[5]
    aws_request_id = sys.argv[6]
    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))
event = json.loads(sys.stdin.read())
module_name, _, name = handler.rpartition(".")
try:
    module = __import__(module_name, fromlist=[name])
    result = {"ok": True, "value": getattr(module, name)(event, Context())}
except Exception as exc:
    result = {"ok": False, "value": {"errorType": type(exc).__name__,
              "errorMessage": str(getattr(exc, "message", "") or exc),
              "stackTrace": traceback.format_exception(exc)[-5:]}}
sys.stdout.write("\\n@@coldvault-result@@" + json.dumps(result, default=str))
"""


def run_from_zip(
    code: bytes, handler: str, event: Any, env: dict[str, str], context: LambdaContext
) -> tuple[bool, Any]:
    """Run the handler from the extracted zip in a clean interpreter (only the zip and the runtime)."""
    timeout = context.get_remaining_time_in_millis() / 1000
    args = [
        sys.executable,
        "-I",
        "-S",
        "-c",
        BOOTSTRAP,
        str(_code_dir(code)),
        str(_runtime_path()),
        handler,
        str(timeout),
        context.function_name,
        context.aws_request_id,
    ]
    # Bytecode is cached in the extracted package (a private temporary directory): the SDK is compiled
    # once per package, not at every invocation, like a warm Lambda container would keep it.
    child_env = {**env, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        done = subprocess.run(
            args,
            input=json.dumps(event),
            capture_output=True,
            text=True,
            env=child_env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"Task timed out after {timeout:.0f} seconds",
        }
    _, marker, tail = done.stdout.rpartition("@@coldvault-result@@")
    if not marker:
        message = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return False, {"errorType": "Runtime.ExitError", "errorMessage": message[0]}
    result = json.loads(tail)
    return bool(result["ok"]), result["value"]


def invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    """``LambdaSimpleBackend.invoke`` running the function's real code."""
    fn = self.get_function(function_name, qualifier)
    raw = body.decode() if isinstance(body, bytes) else (body or "")
    event = json.loads(raw) if raw.strip() else {}
    env = function_env(fn)
    seconds = float(env.get(CONTEXT_SECONDS_ENV) or fn.timeout or 3)
    context = LambdaContext(fn.function_name, fn.function_arn, int(fn.memory_size), seconds)
    handler = str(fn.handler or "")
    code: bytes = fn.code_bytes or b""
    top = handler.split(".", 1)[0]
    if env.get(FORCE_SUBPROCESS_ENV) != "1" and same_as_installed(code, top):
        ok, value = run_in_process(handler, event, env, context)
    else:
        ok, value = run_from_zip(code, handler, event, env, context)
    if not ok:
        response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps(value, default=str).encode()


def install() -> None:
    """Idempotent: make the sandbox's Lambda run real code."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    with _lock:
        LambdaSimpleBackend.invoke = invoke
