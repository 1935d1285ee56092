"""``numnet demo``: the three classic models with their formulas."""


import typer


def demo(seed: int = typer.Option(0, help="Seed for the synthetic data.")):
    """Train linear regression, logistic regression and a 2-4-1 ReLU network, showing the math.

    Example:

        numnet demo
    """
    from ..demo import run

    run(echo=typer.echo, seed=seed)


