"""``inference-exp cache``: list, verify, remove and prune cached models."""

from __future__ import annotations

import click


def human_size(size: int) -> str:
    """``1536`` → ``1.5 KiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@click.group()
def cache() -> None:
    """Inspect and clean the local model cache (INFERENCE_HOME)."""


@cache.command("ls")
def list_command() -> None:
    """Cached models with their packages, sizes and last use."""
    from inference_exp.cache.management import list_models

    models = list_models()
    if not models:
        click.echo("the cache holds no model")
        return
    for model in models:
        used = model.last_used_at.isoformat(timespec="seconds") if model.last_used_at else "-"
        click.echo(f"{model.model_id}  {human_size(model.size_bytes)}  last used {used}")
        for package in model.packages:
            click.echo(f"  {package.package_id}  {package.file_count} file(s)  {human_size(package.size_bytes)}")


@cache.command()
@click.argument("model", required=False)
def verify(model: str | None) -> None:
    """Re-hash every cached file (of MODEL, or of all models); exit code 1 when something is wrong."""
    from inference_exp.cache.management import verify as verify_cache

    report = verify_cache(model)
    for check in report.problems:
        click.echo(f"{check.status}: {check.model_id} {check.package_id} {check.file_handle}")
    click.echo(f"{len(report.checks)} file(s) checked, {len(report.problems)} problem(s)")
    if not report.ok:
        raise click.exceptions.Exit(1)


@cache.command("rm")
@click.argument("model")
def remove(model: str) -> None:
    """Remove MODEL from the cache (shared files other models use are kept)."""
    from inference_exp.cache.management import remove_model

    click.echo(f"removed {model}: {human_size(remove_model(model))} reclaimed")


@cache.command()
def prune() -> None:
    """Delete files no cached package uses, interrupted downloads and stale locks."""
    from inference_exp.cache.management import prune as prune_cache

    click.echo(f"{human_size(prune_cache())} reclaimed")
