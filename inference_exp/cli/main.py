"""Entry point of the ``inference-exp`` console script."""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from inference_exp import __version__
from inference_exp.cli.batch_command import batch
from inference_exp.cli.cache_commands import cache
from inference_exp.cli.describe_commands import describe, env
from inference_exp.cli.predict_command import predict
from inference_exp.errors import InferenceExpError

EXIT_LIBRARY_ERROR = 1


def one_line(error: BaseException) -> str:
    """The error's text on one line (multi-line details joined with ``; ``)."""
    lines = [line.strip(" *\t") for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines) or type(error).__name__


class _Cli(click.Group):
    """A group that turns library errors into one clear line and a non-zero exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (InferenceExpError, OSError) as error:
            if ctx.meta.get("inference_exp.debug"):
                traceback.print_exc()
            click.echo(f"error: {type(error).__name__}: {one_line(error)}", err=True)
            ctx.exit(EXIT_LIBRARY_ERROR)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="inference-exp")
@click.option("--debug", is_flag=True, help="Show the full traceback when a command fails.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Load computer-vision models by id or path and run them on the fastest backend of this machine."""
    ctx.meta["inference_exp.debug"] = debug


cli.add_command(predict)
cli.add_command(describe)
cli.add_command(env)
cli.add_command(cache)
cli.add_command(batch)


def main() -> None:
    """Run the CLI (the ``inference-exp`` console script)."""
    cli.main(prog_name="inference-exp")


if __name__ == "__main__":
    sys.exit(main())
