"""Options every command shares (DESIGN.md section 2): --repo, --registry, --format, --debug,
as click decorators. Metavars follow one style: ``<path>``, ``<str>``, ``<a|b|c>``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

DATA_FORMATS = ("text", "json")
PLAN_FORMATS = ("text", "json", "markdown")
LINEAGE_FORMATS = ("text", "json", "mermaid", "svg")


def repo_option(f: F) -> F:
    return click.option(
        "--repo",
        type=click.Path(path_type=Path),
        default=None,
        metavar="<path>",
        help="The feature repo (default: the nearest folder upwards holding fsctl.yaml).",
    )(f)


def registry_option(f: F) -> F:
    return click.option(
        "--registry",
        envvar="FSCTL_REGISTRY",
        show_envvar=True,
        default=None,
        metavar="<str>",
        help="Registry URI to use instead of fsctl.yaml's (local path or s3://bucket/key).",
    )(f)


def debug_option(f: F) -> F:
    return click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")(f)


def format_option(formats: tuple[str, ...] = DATA_FORMATS) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(formats),
            default="text",
            show_default=True,
            metavar=f"<{'|'.join(formats)}>",
            help="Output format.",
        )(f)

    return decorate


def repo_options(f: F) -> F:
    """--repo and --registry."""
    return repo_option(registry_option(f))


def text_option(name: str, help: str, metavar: str = "<str>", **kwargs: Any) -> Callable[[F], F]:
    """An optional text option."""
    return click.option(name, default=None, metavar=metavar, help=help, **kwargs)


def path_option(name: str, help: str, *, dest: str | None = None, required: bool = False) -> Callable[[F], F]:
    names = [name, dest] if dest else [name]
    return click.option(
        *names, type=click.Path(path_type=Path), required=required, default=None, metavar="<path>", help=help
    )


def override_options(f: F) -> F:
    """``--allow-breaking OBJECT --reason TEXT``, repeatable and paired in order."""
    f = click.option(
        "--reason",
        "reasons",
        multiple=True,
        metavar="<text>",
        help="Why the matching --allow-breaking is needed (kept in the registry's history).",
    )(f)
    return click.option(
        "--allow-breaking",
        "allow_breaking",
        multiple=True,
        metavar="<object>",
        help="Let a change through that a guard rail blocks: Kind/name, name, or '*'. Needs --reason.",
    )(f)


def overrides_of(allow_breaking: tuple[str, ...], reasons: tuple[str, ...]) -> tuple[Any, ...]:
    """The paired --allow-breaking / --reason options as plan overrides."""
    from fsctl.diff.plan import Override
    from fsctl.errors import UsageError

    if len(allow_breaking) != len(reasons):
        raise UsageError(
            f"give one --reason for each --allow-breaking (got {len(allow_breaking)} and {len(reasons)})",
            hint="e.g. --allow-breaking Model/churn --reason 'retired after the Q3 review'",
        )
    blank = [o for o, r in zip(allow_breaking, reasons, strict=True) if not r.strip() or not o.strip()]
    if blank:
        raise UsageError(f"--allow-breaking {blank[0]!r}: the object and its --reason must not be empty")
    return tuple(Override(o.strip(), r.strip()) for o, r in zip(allow_breaking, reasons, strict=True))


def strict_gates_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--strict-gates``: a promotion gate that cannot be checked (unknown) fails."""
    return click.option(
        "--strict-gates",
        is_flag=True,
        help="A promotion gate that cannot be checked (unknown: state or online store out of reach) fails.",
    )(fn)
