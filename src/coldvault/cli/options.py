"""The global options every command takes, before or after its name, as the AWS CLI does.

``--region``, ``--profile``, ``--endpoint-url``, ``--output``, ``--query``, ``--quiet``, ``--verbose``,
``--debug`` and ``--no-color`` are declared once here (:data:`GLOBAL_PARAMETERS`). The root command
takes them (``coldvault --output json plan …``) and :func:`with_global_options` adds the same
declarations to every command (``coldvault plan … --output json``); what is given after the command
wins over what was given before it. They land in one :class:`GlobalOptions`, the root context's
``obj``.

Environment, as the AWS CLI: ``AWS_PROFILE``, ``AWS_REGION``/``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL`` (read by botocore), ``AWS_DEFAULT_OUTPUT`` then the profile's ``output`` setting
for ``--output`` (coldvault's default is ``table``), ``NO_COLOR`` for ``--no-color``.

Every command produces one JSON document and hands it to :meth:`GlobalOptions.emit`, which applies
``--query`` and prints it in the chosen format on stdout. Progress and narration go to
:meth:`GlobalOptions.err` (stderr), which ``--quiet`` silences.
"""

from __future__ import annotations

import enum
import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import jmespath
import jmespath.exceptions
import typer
from rich.console import Console

from coldvault.aws.session import AwsSession
from coldvault.cli import formats, logs
from coldvault.errors import ConfigurationError, UsageError


class OutputFormat(enum.StrEnum):
    json = "json"
    text = "text"
    table = "table"
    yaml = "yaml"
    csv = "csv"


OUTPUT_ENV = "AWS_DEFAULT_OUTPUT"
DEFAULT_OUTPUT = OutputFormat.table
PIPED_WIDTH = 1000  # a table written to a pipe or file is as wide as its content (never cut to 80)
PANEL = "Global options"

RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="AWS Region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile).",
        rich_help_panel=PANEL,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", help="Named profile of ~/.aws/config (default: AWS_PROFILE).", rich_help_panel=PANEL
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="Send AWS calls to this URL (default: AWS_ENDPOINT_URL).",
        rich_help_panel=PANEL,
    ),
]
OutputOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        help="json, text, table, yaml or csv (default: AWS_DEFAULT_OUTPUT, the profile's output, table).",
        rich_help_panel=PANEL,
        case_sensitive=False,
    ),
]
QueryOpt = Annotated[
    str | None,
    typer.Option(
        "--query",
        metavar="JMESPATH",
        help="JMESPath applied to the command's JSON document, e.g. 'candidates[].ami_id'.",
        rich_help_panel=PANEL,
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No progress or messages on stderr (errors only); a table shrinks to its summary line.",
        rich_help_panel=PANEL,
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log every AWS call on stderr.", rich_help_panel=PANEL)
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug", help="Also log botocore's requests and responses on stderr.", rich_help_panel=PANEL
    ),
]
NoColorOpt = Annotated[
    bool, typer.Option("--no-color", help="No colours (also: NO_COLOR set).", rich_help_panel=PANEL)
]

_KW = inspect.Parameter.KEYWORD_ONLY
GLOBAL_PARAMETERS = [
    inspect.Parameter("region", _KW, default=None, annotation=RegionOpt),
    inspect.Parameter("profile", _KW, default=None, annotation=ProfileOpt),
    inspect.Parameter("endpoint_url", _KW, default=None, annotation=EndpointOpt),
    inspect.Parameter("output", _KW, default=None, annotation=OutputOpt),
    inspect.Parameter("query", _KW, default=None, annotation=QueryOpt),
    inspect.Parameter("quiet", _KW, default=False, annotation=QuietOpt),
    inspect.Parameter("verbose", _KW, default=False, annotation=VerboseOpt),
    inspect.Parameter("debug", _KW, default=False, annotation=DebugOpt),
    inspect.Parameter("no_color", _KW, default=False, annotation=NoColorOpt),
]
GLOBAL_NAMES = tuple(p.name for p in GLOBAL_PARAMETERS)


@dataclass
class GlobalOptions:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    output: OutputFormat | None = None  # None: AWS_DEFAULT_OUTPUT, then the profile, then table
    query: str | None = None
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    no_color: bool = False
    _aws: AwsSession | None = field(default=None, init=False, repr=False)
    _format: OutputFormat | None = field(default=None, init=False, repr=False)

    def given(self, values: dict[str, Any]) -> None:
        """Take the options given at one level of the command line (a flag only when set)."""
        for name, value in values.items():
            if value is not None and value is not False:
                setattr(self, name, value)
        self._format = None

    def start(self) -> None:
        """Before the command runs: check ``--query`` and the output format, set up the logs."""
        if self.query is not None:
            _compiled(self.query)
        _ = self.format
        logs.configure(verbose=self.verbose, debug=self.debug)

    @property
    def aws(self) -> AwsSession:
        if self._aws is None:
            region = self.region or os.environ.get("AWS_REGION") or None
            self._aws = AwsSession(region=region, profile=self.profile, endpoint_url=self.endpoint_url)
        return self._aws

    @property
    def format(self) -> OutputFormat:
        """``--output``, else ``AWS_DEFAULT_OUTPUT``, else the profile's ``output``, else table."""
        if self._format is None:
            self._format = self.output or _configured_output(self)
        return self._format

    @property
    def machine(self) -> bool:
        """A format for programs (anything but ``table``): no human narration on stdout."""
        return self.format is not OutputFormat.table

    def console(self) -> Console:
        """The stdout console for tables: never folds or cuts ids to an assumed width when piped."""
        console = Console(no_color=self.no_color or None, highlight=False)
        if not console.is_terminal:
            console.width = PIPED_WIDTH
        return console

    def err(self) -> Console:
        """The stderr console for progress and messages: silent with ``--quiet``."""
        console = Console(stderr=True, quiet=self.quiet, no_color=self.no_color or None, highlight=False)
        if not console.is_terminal:
            console.width = PIPED_WIDTH
        return console

    def emit(
        self,
        doc: Any,
        *,
        table: Callable[[Console], None] | None = None,
        summary: str | None = None,
        title: str | None = None,
    ) -> None:
        """Print the command's document on stdout in the chosen format, after ``--query``.

        ``table`` is the command's own table view of ``doc`` (used without ``--query``); ``summary``
        the one line ``--quiet`` shrinks a table to.
        """
        data = doc if self.query is None else _compiled(self.query).search(doc)
        fmt = self.format
        if fmt is OutputFormat.table:
            if self.query is None and self.quiet and summary is not None:
                print(summary, flush=True)
            elif self.query is None and table is not None:
                table(self.console())
            else:
                self.console().print(formats.generic_table(data, title=title))
            return
        render = {
            OutputFormat.json: formats.to_json,
            OutputFormat.yaml: formats.to_yaml,
            OutputFormat.text: formats.to_text,
            OutputFormat.csv: formats.to_csv,
        }[fmt]
        sys.stdout.write(render(data))
        sys.stdout.flush()


def _compiled(query: str) -> Any:
    try:
        return jmespath.compile(query)
    except jmespath.exceptions.JMESPathError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(
            f"invalid --query {query!r}: {first}",
            hint="see https://jmespath.org, e.g. --query 'candidates[].ami_id'",
        ) from None


def _configured_output(opts: GlobalOptions) -> OutputFormat:
    value = os.environ.get(OUTPUT_ENV)
    where = OUTPUT_ENV
    if not value:
        try:
            value = opts.aws.config_value("output")
        except ConfigurationError:
            value = None  # a missing profile is reported by the first AWS call, not by the output
        where = "the profile's output setting"
    if not value:
        return DEFAULT_OUTPUT
    try:
        return OutputFormat(value.strip().lower())
    except ValueError:
        raise ConfigurationError(
            f"invalid output format {value!r} in {where}",
            hint=f"use {'|'.join(f.value for f in OutputFormat)}",
        ) from None


def global_options(ctx: typer.Context) -> GlobalOptions:
    """The options of this run (kept on the root context)."""
    root = ctx.find_root()
    if not isinstance(root.obj, GlobalOptions):
        root.obj = GlobalOptions()
    return root.obj


_CTX = "cv_global_ctx"


def with_global_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the global options to a command: parsed by click like its own, merged into
    :class:`GlobalOptions`, checked, and logging set up before the command runs."""
    signature = inspect.signature(func, eval_str=True)
    hints = typing.get_type_hints(func, include_extras=True)  # a set __signature__ keeps strings
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation)) if isinstance(p.annotation, str) else p
        for p in signature.parameters.values()
    ]
    ctx_name = next((p.name for p in params if p.annotation is typer.Context), None)
    extra = [] if ctx_name else [inspect.Parameter(_CTX, _KW, annotation=typer.Context)]

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs[ctx_name] if ctx_name else kwargs.pop(_CTX)
        opts = global_options(ctx)
        opts.given({name: kwargs.pop(name) for name in GLOBAL_NAMES})
        opts.start()
        return func(*args, **kwargs)

    every = [*params, *extra, *GLOBAL_PARAMETERS]
    command.__signature__ = signature.replace(parameters=every)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in every}
    return command


def example(*lines: str) -> str:
    """A command's ``--help`` epilog: its examples, one per line."""
    return "Examples:\n\n" + "\n\n".join(f"  {line}" for line in lines)
