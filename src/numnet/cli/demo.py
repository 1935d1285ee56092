"""``numnet demo``: the three classic models with their formulas."""


import typer

from .common import _check_choice, _check_range


def demo(seed: int = typer.Option(0, help="Seed for the synthetic data."),
         lang: str = typer.Option("en", "--lang", help="Language of the explanations: en or zh "
                                  "(Chinese).", metavar="LANG")):
    """Train linear regression, logistic regression and a 2-4-1 ReLU network, showing the math.

    Example:

        numnet demo

        numnet demo --lang zh
    """
    from ..demo import run

    _check_choice(lang, "--lang", {"en", "zh"})
    _check_range(seed, "--seed", "an integer >= 0", lambda v: v >= 0)
    run(echo=typer.echo, seed=seed, lang=lang)
