"""The ``coldvault`` command: global options, subcommand registration, error to exit code."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import click
import typer
import typer.core
import typer.exceptions
import typer.main
from rich.console import Console

from coldvault import __version__
from coldvault.aws import errors as aws_errors
from coldvault.cli.options import (
    DebugOpt,
    EndpointOpt,
    NoColorOpt,
    OutputOpt,
    ProfileOpt,
    QueryOpt,
    QuietOpt,
    RegionOpt,
    VerboseOpt,
    example,
    global_options,
)
from coldvault.errors import ColdvaultError

app = typer.Typer(
    name="coldvault",
    help="Move EC2 recovery points from AWS Backup into S3 Glacier classes, verified, and restore them.",
    epilog=example(
        "coldvault plan --vault prod-vault --older-than 90 --bucket my-archive --output json",
        "coldvault --install-completion   (then restart the shell: Tab completes commands and options)",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

_err = Console(stderr=True, soft_wrap=True)  # an error stays on one line


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coldvault {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    region: RegionOpt = None,
    profile: ProfileOpt = None,
    endpoint_url: EndpointOpt = None,
    output: OutputOpt = None,
    query: QueryOpt = None,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
    no_color: NoColorOpt = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """The global options go before or after the command (after wins); see each command's --help."""
    global_options(ctx).given(
        {
            "region": region,
            "profile": profile,
            "endpoint_url": endpoint_url,
            "output": output,
            "query": query,
            "quiet": quiet,
            "verbose": verbose,
            "debug": debug,
            "no_color": no_color,
        }
    )


def _register_commands() -> None:
    """Each command module adds its commands (imported here, after ``app`` exists)."""
    from coldvault.cli import (
        archive_cmd,
        audit_cmd,
        catalog_cmd,
        cloud_cmd,
        demo_cmd,
        leases_cmd,
        report_cmd,
        restore_cmd,
        restore_test_cmd,
        sandbox_cmd,
    )

    for module in (
        sandbox_cmd,
        demo_cmd,
        archive_cmd,
        catalog_cmd,
        audit_cmd,
        restore_cmd,
        restore_test_cmd,
        cloud_cmd,
        report_cmd,
        leases_cmd,
    ):
        module.register(app)


_register_commands()


def command() -> typer.core.TyperGroup:
    """The app as a click command. Flags take no value, so ``--help`` shows none for them (Typer
    would print ``<bool>``)."""
    root = typer.main.get_command(app)
    assert isinstance(root, typer.core.TyperGroup)
    commands: list[Any] = [root]
    for cmd in commands:  # grows as groups (``leases``) add their commands
        commands.extend(getattr(cmd, "commands", {}).values())
    for cmd in commands:
        for param in [*cmd.params, cmd.get_help_option(typer.Context(cmd))]:
            if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
    return root


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning coldvault errors into one line and an exit code."""
    try:
        # Without standalone mode click returns a command's ``typer.Exit(code)`` instead of exiting.
        code = command().main(args=argv, prog_name="coldvault", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except (click.exceptions.Abort, typer.Abort):
        _err.print("aborted")
        sys.exit(1)
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    except (click.ClickException, typer.exceptions.TyperException) as exc:
        code = int(getattr(exc, "exit_code", 2))
        if type(exc).__name__ == "NoArgsIsHelpError":  # ``coldvault`` alone: the help
            exc.show()  # type: ignore[union-attr]
            sys.exit(code)
        # Usage errors (unknown option, bad choice): one line naming the fix, exit 2.
        format_message = getattr(exc, "format_message", None)
        message = " ".join(str(format_message() if callable(format_message) else exc).split())
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _err.print(f"coldvault: error: {message}{hint}", markup=False, highlight=False)
        sys.exit(code)
    except ColdvaultError as exc:
        _err.print(f"coldvault: error: {exc.one_line()}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        error = aws_errors.named(exc)  # an AWS failure no adapter named: still one line, not a traceback
        if error is None:
            raise
        _err.print(f"coldvault: error: {error.one_line()}", markup=False, highlight=False)
        sys.exit(error.exit_code)
