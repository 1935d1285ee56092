"""The ``numnet`` command line."""

import typer

from . import __version__

app = typer.Typer(
    name="numnet",
    help="Neural networks from first principles on NumPy.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool):
    if value:
        typer.echo(f"numnet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
):
    """Neural networks from first principles on NumPy."""


@app.command()
def demo(seed: int = typer.Option(0, help="Seed for the synthetic data.")):
    """Train linear regression, logistic regression and a 2-4-1 ReLU network, showing the math.

    Example: numnet demo
    """
    from .demo import run

    run(echo=typer.echo, seed=seed)


def main():
    """Entry point of the ``numnet`` console script."""
    app()
