"""The root `conveyor` command: global options, sub-command groups, and error rendering."""

from __future__ import annotations

import sys
import time

import typer

from conveyor._version import __version__
from conveyor.entrypoints.cli import datasets, demo, models, predict, serve, train
from conveyor.entrypoints.cli import deploy as deploy_cli
from conveyor.entrypoints.cli import deployments as deployments_cli
from conveyor.entrypoints.cli import export as export_cli
from conveyor.entrypoints.cli import recipes as recipes_cli
from conveyor.errors import ConveyorError

app = typer.Typer(
    name="conveyor",
    help="Conveyor: raw table in, tracked, registered and served model out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(datasets.app, name="datasets")
app.add_typer(models.app, name="models")
app.add_typer(recipes_cli.app, name="recipes")
app.command("train")(train.train)
app.command("predict")(predict.predict)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("deploy")(deploy_cli.deploy)
app.add_typer(deployments_cli.app, name="deployments")
app.command("export")(export_cli.export)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"conveyor {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Conveyor: raw table in, tracked, registered and served model out."""


def main() -> None:
    """Run the CLI; user errors print their message and hint, and exit with status 1."""
    import os

    # MLflow's INFO lines (schema creation, pickling notes) are noise in a terminal; the user's own choice wins.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # The training budget is a promise about the whole command, so its clock starts before
    # any heavy library is imported; commands read it from the context.
    started_at = time.monotonic()
    try:
        app(standalone_mode=False, obj={"started_at": started_at})
    except ConveyorError as error:
        from conveyor.entrypoints.cli.render import print_error

        print_error(error)
        sys.exit(1)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.TyperException as error:
        # A usage error (an unknown command, a missing argument): Typer's Click copy says which and how to get help.
        # Its exceptions derive from TyperException, not from the `click` package's ClickException.
        error.show()  # type: ignore[attr-defined]
        sys.exit(error.exit_code)
    finally:
        _release_at_exit()


def _release_at_exit() -> None:
    # The database is closed here, as the collections at exit would have; frozen at exit, the objects of SQLAlchemy,
    # numpy and pydantic are then left to the operating system instead of those collections (0.2-0.25 s of a 4 s
    # ingest). Registered once however many commands one process runs (the tests run many).
    import atexit
    import gc

    from conveyor.entrypoints.cli.context import close_services

    close_services()
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
