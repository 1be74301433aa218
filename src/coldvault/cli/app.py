"""The ``coldvault`` command: global options, subcommand registration, error to exit code."""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer
import typer.exceptions
from rich.console import Console

from coldvault import __version__
from coldvault.cli.options import GlobalOptions, OutputFormat
from coldvault.errors import ColdvaultError

app = typer.Typer(
    name="coldvault",
    help="Move EC2 recovery points from AWS Backup into S3 Glacier classes, verified, and restore them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_err = Console(stderr=True, soft_wrap=True)  # an error stays on one line


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coldvault {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    region: Annotated[
        str | None, typer.Option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], help="AWS Region.")
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", envvar="AWS_PROFILE", help="Named AWS profile.")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="Send AWS calls to this endpoint."),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--output", help="Output format.")] = OutputFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and the final result.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every AWS step.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    ctx.obj = GlobalOptions(
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        output=output,
        quiet=quiet,
        verbose=verbose,
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning coldvault errors into one line and an exit code."""
    try:
        # Without standalone mode click returns a command's ``typer.Exit(code)`` instead of exiting.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except (click.exceptions.Abort, typer.Abort):
        _err.print("aborted")
        sys.exit(1)
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    except (click.ClickException, typer.exceptions.TyperException) as exc:
        # Usage errors (unknown option, bad choice): click's one-line message, exit 2.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _err.print(f"coldvault: error: {exc}", markup=False, highlight=False)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except ColdvaultError as exc:
        _err.print(f"coldvault: error: {exc.one_line()}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)
