"""The fsctl command line: thin click commands and the one error boundary.

Exit codes (DESIGN.md): 0 success; 2 ``plan --detailed-exitcode`` found
changes; 1 a problem the user can fix (definitions, flags, input files, a
blocked plan, a registry that moved); 3 an internal error. Known errors print
one message and no traceback unless ``--debug`` (or ``FSCTL_DEBUG=1``).

click (not Typer): Typer 0.29 builds pydantic type adapters for every option of every
run, about 0.1 s before any command starts; a cron job or a CI step pays that each time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from fsctl.cli.output import err

# Command name -> "module:attribute" under fsctl.cli. A command's module is imported only
# when that command runs (or when help lists them all), so `fsctl materialize` from cron
# does not load the code of the others.
COMMANDS = {
    "init": "commands_repo:init",
    "validate": "commands_repo:validate",
    "plan": "commands_repo:plan",
    "apply": "commands_repo:apply",
    "teardown": "commands_repo:teardown",
    "codeowners": "commands_repo:codeowners_cmd",
    "list": "commands_browse:list_cmd",
    "describe": "commands_browse:describe",
    "registry": "commands_browse:registry_group",
    "lineage": "commands_browse:lineage",
    "historical": "commands_data:historical",
    "score": "commands_score:score",
    "materialize": "commands_data:materialize_cmd",
    "materialize-incremental": "commands_data:materialize_incremental",
    "check": "commands_check:check",
    "status": "commands_status:status_cmd",
    "online": "commands_online:online",
    "serve": "commands_online:serve",
    "stats": "commands_stats:stats",
    "ui": "commands_ui:ui",
}


class LazyGroup(click.Group):
    """The root group: subcommands from :data:`COMMANDS`, imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        import importlib

        module, _, attribute = target.partition(":")
        command: click.Command = getattr(importlib.import_module(f"fsctl.cli.{module}"), attribute)
        return command


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        from fsctl.registry.document import FORMAT_VERSION
        from fsctl.version import __version__

        click.echo(f"fsctl {__version__} (registry format {FORMAT_VERSION})")
        ctx.exit()


@click.group(
    name="fsctl",
    cls=LazyGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version", is_flag=True, callback=_version, expose_value=False, is_eager=True, help="Show the version and exit."
)
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
def app(debug: bool) -> None:
    """Declarative feature repos: validate, plan and apply definitions; browse the registry."""



def _debug_requested(args: Sequence[str]) -> bool:
    return "--debug" in args or os.environ.get("FSCTL_DEBUG", "") not in ("", "0", "false")


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; the single place errors become exit codes."""
    from click.exceptions import Abort, ClickException, Exit

    from fsctl.errors import DefinitionErrors, FsctlError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        result = app.main(args=args, prog_name="fsctl", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except Exit as exc:
        return int(exc.exit_code or 0)
    except Abort:
        err("Aborted.")
        return 1
    except ClickException as exc:  # bad flags and arguments
        if debug:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `fsctl` or `fsctl registry` alone: the help
            err(exc.format_message())
            return 1
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        ctx = getattr(exc, "ctx", None)
        usage = f"{ctx.get_usage()}\n" if ctx is not None else ""
        err(f"{usage}error: {message}")
        return 1
    except FsctlError as exc:
        if debug:
            if isinstance(exc, DefinitionErrors):
                for problem in exc.problems:
                    if problem.detail:
                        err(problem.detail)
            raise
        err(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        err("Interrupted.")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if debug:
            raise
        err(f"internal error: {type(exc).__name__}: {exc}")
        err("This is a bug in fsctl. Re-run with --debug for the full traceback, and report it.")
        return 3


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script. A command is a short-lived process whose objects mostly die with
    it: the cyclic garbage collector is off while it runs (``fsctl serve`` turns it back on)
    and every object is frozen before exit, so the interpreter does not spend 35-100 ms
    collecting module-level cycles at shutdown. Reference counting still frees everything
    else as usual; files, connections and the workspace are closed by ``run`` before."""
    import gc

    gc.disable()
    code = run(argv)
    gc.freeze()
    sys.exit(code)
