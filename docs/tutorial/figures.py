"""Draw the tutorial's figures: python docs/tutorial/figures.py (or make docs); deterministic.

Writes into docs/tutorial/images/: the training loss for four learning rates
(learning-rates.png), the logistic regression's decision boundary (logistic-boundary.png) and
the MLP's fit of sin(3x) (mlp-fit.png). The data, seeds and settings are the tutorial's own
(docs/tutorial/en.md, sections 6, 9 and 10), drawn in the same order from the same generator.
"""

from pathlib import Path

import numpy as np

import numnet as nn

OUT = Path(__file__).parent / "images"


def data():
    """The tutorial's data sets, drawn from one generator in the tutorial's order."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 1))
    y = 3 * X[:, 0] + 0.5 + rng.normal(0, 0.1, size=40)
    rng.normal(size=(60, 8))  # section 7's eight features
    rng.normal(0, 0.1, size=60)  # the noise of section 7's eight-feature target
    Xc = np.vstack([rng.normal(-1, 1, size=(50, 2)), rng.normal(1, 1, size=(50, 2))])
    yc = np.repeat([0, 1], 50)
    return X, y, Xc, yc


def save(fig, name):
    """A PNG without the metadata that changes between matplotlib versions."""
    fig.tight_layout()
    fig.savefig(OUT / name, dpi=100, metadata={"Software": None})


def learning_rates(plt, X, y):
    """Section 6: the training loss per epoch for learning rates 0.01, 0.1, 0.5 and 1.5."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for lr in (0.01, 0.1, 0.5, 1.5):
        model = nn.Sequential([nn.Dense(1)]).build(1, random_state=0)
        history = nn.train(model, nn.MeanSquaredError(), nn.SGD(learning_rate=lr), X, y,
                           batch_size=None, max_epochs=30)
        ax.plot(range(1, 31), history.loss, marker=".", label=f"learning rate {lr}")
    ax.set(yscale="log", xlabel="epoch", ylabel="training MSE (log scale)",
           title="Gradient descent on y = 3x + 0.5 + noise")
    ax.legend()
    save(fig, "learning-rates.png")


def logistic_boundary(plt, Xc, yc):
    """Section 9: the two clouds, the probability p and the line z = 0."""
    clf = nn.LogisticRegression().fit(Xc, yc)
    (w1, w2), b = clf.coef_[0], clf.intercept_[0]
    fig, ax = plt.subplots(figsize=(5, 4.5))
    grid = np.linspace(-4, 4, 200)
    xx, yy = np.meshgrid(grid, grid)
    proba = clf.predict_proba(np.column_stack([xx.ravel(), yy.ravel()]))[:, 1]
    ax.contourf(xx, yy, proba.reshape(xx.shape), levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                alpha=0.35)
    for label, marker in ((0, "o"), (1, "^")):
        ax.scatter(*Xc[yc == label].T, marker=marker, edgecolor="k", linewidth=0.5,
                   label=f"class {label}")
    ax.plot(grid, -(w1 * grid + b) / w2, "k-", label="boundary: z = 0, p = 0.5")
    ax.set(xlim=(-4, 4), ylim=(-4, 4), xlabel="x1", ylabel="x2",
           title="Logistic regression: p = sigmoid(x @ w + b)")
    ax.legend(loc="upper left")
    save(fig, "logistic-boundary.png")


def mlp_fit(plt):
    """Section 10: the 1-16-1 ReLU MLP against sin(3x), and its loss curve."""
    Xs = np.linspace(-1, 1, 64)[:, None]
    ys = np.sin(3 * Xs[:, 0])
    mlp = nn.Sequential([nn.Dense(16), nn.ReLU(), nn.Dense(1)]).build(1, random_state=0)
    history = nn.train(mlp, nn.MeanSquaredError(), nn.Adam(learning_rate=0.02), Xs, ys,
                       batch_size=None, max_epochs=500)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    dense = np.linspace(-1, 1, 400)[:, None]
    left.plot(dense[:, 0], np.sin(3 * dense[:, 0]), "k--", label="sin(3x)")
    left.plot(dense[:, 0], mlp.forward(dense)[:, 0], label="1-16-1 ReLU MLP")
    left.scatter(Xs[:, 0], ys, s=10, color="k", label="training points")
    left.set(xlabel="x", ylabel="y", title="The MLP's fit: piecewise linear")
    left.legend()
    right.plot(range(1, len(history.loss) + 1), history.loss)
    right.set(yscale="log", xlabel="epoch", ylabel="training MSE (log scale)",
              title="Loss curve (Adam, learning rate 0.02)")
    save(fig, "mlp-fit.png")


def main():
    """Draw the three figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    OUT.mkdir(exist_ok=True)
    X, y, Xc, yc = data()
    learning_rates(plt, X, y)
    logistic_boundary(plt, Xc, yc)
    mlp_fit(plt)
    for name in ("learning-rates.png", "logistic-boundary.png", "mlp-fit.png"):
        print(OUT / name)


if __name__ == "__main__":
    main()
