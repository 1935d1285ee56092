"""Draw the figures of the explanations docs: python docs/explain_figures.py (deterministic).

Trains numnet's MLP on scikit-learn's breast cancer table through the command line's pipeline
(the same code as ``numnet train``), explains the first test tumours with integrated gradients
and writes docs/images/explain-breast-cancer.png: mean |attribution| per column over the test
rows, and the waterfall of one row.
"""

import warnings
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from numnet.tabular import explain_table, train_pipeline
from numnet.tabular.plotting import plot_attributions

OUT = Path(__file__).parent / "images"


def main():
    """Train, explain, draw."""
    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = data.target_names[frame["diagnosis"]]
    train, test = train_test_split(frame, stratify=frame["diagnosis"], random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline, report = train_pipeline(
            pd.DataFrame(train), target="diagnosis",
            params={"hidden_layer_sizes": (32,), "activation": "tanh", "random_state": 0},
            random_state=0)
    result = explain_table(pipeline, test, background=train)
    OUT.mkdir(exist_ok=True)
    plot_attributions(result, OUT / "explain-breast-cancer.png", width=900, height=500)
    one = explain_table(pipeline, test.iloc[:1], background=train)
    plot_attributions(one, OUT / "explain-breast-cancer-row.png", rows={0: 1}, width=900,
                      height=420)
    print(f"held-out accuracy {report['metrics']['accuracy']:.3f}; largest |delta| "
          f"{abs(result.delta).max():.1e}; wrote {OUT}")


if __name__ == "__main__":
    main()
