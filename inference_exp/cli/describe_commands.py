"""``inference-exp describe`` and ``inference-exp env``: what a model offers and what this machine can run."""

from __future__ import annotations

import dataclasses
import json

import click

from inference_exp.cli.options import model_selection_options, selection_kwargs


@click.command()
@click.argument("model")
@model_selection_options
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
def describe(model: str, api_key: str | None, backend: tuple[str, ...], device: str | None, as_json: bool) -> None:
    """Every package of MODEL, the one that would be loaded here, and why each other one would not be."""
    from inference_exp import AutoModel
    from inference_exp.runtime import format_environment

    decision = AutoModel.describe_model(model, **selection_kwargs(api_key, backend, device))
    if as_json:
        verdicts = [
            {key: value for key, value in dataclasses.asdict(v).items() if key != "package"} for v in decision.verdicts
        ]
        click.echo(json.dumps({"model_id": decision.model_id, "device": decision.device, "packages": verdicts}, default=str))
        return
    click.echo(decision.describe())
    click.echo("\nThis machine:")
    click.echo(format_environment(decision.environment))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the environment as JSON.")
def env(as_json: bool) -> None:
    """The compute environment as package negotiation sees it, and which extras would unlock more."""
    from inference_exp.runtime import describe_compute_environment, format_environment, missing_runtime_hints

    environment = describe_compute_environment()
    if as_json:
        document = dataclasses.asdict(environment) | {"missing": missing_runtime_hints(environment)}
        click.echo(json.dumps(document, default=str))
        return
    click.echo(format_environment(environment))
