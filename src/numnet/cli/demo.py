"""``numnet demo``: the three classic models with their formulas."""


import json

import typer

from .common import _JSON, _QUIET, _check_choice, _check_range, _silence_warnings


def demo(seed: int = typer.Option(0, help="Seed for the synthetic data."),
         lang: str = typer.Option("en", "--lang", help="Language of the explanations: en or zh "
                                  "(Chinese).", metavar="LANG"),
         quiet: bool = _QUIET,
         as_json: bool = _JSON):
    """Train linear regression, logistic regression and a 2-4-1 ReLU network, showing the math.

    With --json, the key figures (the fitted weight and bias, the accuracy and threshold, the
    network's test RMSE) instead of the explanations.

    Example:

        numnet demo

        numnet demo --lang zh
    """
    from ..demo import run

    _silence_warnings(quiet)
    _check_choice(lang, "--lang", {"en", "zh"})
    _check_range(seed, "--seed", "an integer >= 0", lambda v: v >= 0)
    figures = run(echo=(lambda line: None) if quiet or as_json else typer.echo, seed=seed,
                  lang=lang)
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
