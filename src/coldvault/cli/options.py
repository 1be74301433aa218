"""Global options shared by every command (AWS CLI conventions)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import typer

from coldvault.aws.session import AwsSession


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"


@dataclass
class GlobalOptions:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    output: OutputFormat = OutputFormat.table
    quiet: bool = False
    verbose: bool = False
    _aws: AwsSession | None = field(default=None, init=False, repr=False)

    @property
    def aws(self) -> AwsSession:
        if self._aws is None:
            self._aws = AwsSession(region=self.region, profile=self.profile, endpoint_url=self.endpoint_url)
        return self._aws


def global_options(ctx: typer.Context) -> GlobalOptions:
    """The root command's options, for a subcommand."""
    obj = ctx.find_root().obj
    if not isinstance(obj, GlobalOptions):
        obj = GlobalOptions()
        ctx.find_root().obj = obj
    return obj
