"""``numnet demo``: the three classic models, trained from first principles and explained.

The widely copied versions of these examples are broken (an undefined ``m``, ``max(1, x)`` for
ReLU, backprop that ignores the chain rule); these use numnet's tested layers and losses.
"""

import numpy as np

from .layers import Dense, ReLU
from .losses import BinaryCrossEntropy, MeanSquaredError
from .network import Sequential
from .optimizers import SGD
from .training import train


def linear_regression(rng, echo):
    """Fit y = 3x + noise by full-batch gradient descent on the mean squared error."""
    echo("(a) Linear regression: y = 3x + 0.5 + noise, full-batch gradient descent")
    echo("    model      y_hat = x @ W + b                    (one neuron, identity activation)")
    echo("    loss       L = mean((y_hat - y)^2)              (m = n_samples = 200)")
    echo("    gradients  dW = 2/m * x.T @ (y_hat - y),  db = 2/m * sum(y_hat - y)")
    echo("    update     W -= lr * dW,  b -= lr * db          (lr = 0.1, 200 epochs)")
    x = rng.uniform(-1, 1, size=(200, 1))
    y = 3 * x[:, 0] + 0.5 + rng.normal(0, 0.1, size=200)
    net = Sequential([Dense(1)]).build(1, random_state=0)
    history = train(net, MeanSquaredError(), SGD(learning_rate=0.1), x, y,
                    batch_size=None, max_epochs=200)
    w, b = float(net[0].params["W"][0, 0]), float(net[0].params["b"][0])
    echo(f"    learned    W = {w:.4f} (true 3),  b = {b:.4f} (true 0.5),  "
         f"final MSE = {history.loss[-1]:.5f} (noise variance 0.01)")
    return w, b


def logistic_regression(rng, echo):
    """Fit labels sign(x) by full-batch gradient descent on the binary cross-entropy."""
    echo("(b) Logistic regression: label = 1 if x > 0 else 0, full-batch gradient descent")
    echo("    model      p = sigmoid(x @ W + b) = 1 / (1 + exp(-(x @ W + b)))")
    echo("    loss       L = mean(log(1 + exp(z)) - y * z),  z = x @ W + b   (cross-entropy)")
    echo("    gradients  dz = (p - y) / m,  dW = x.T @ dz,  db = sum(dz)   (m = n_samples = 400;")
    echo("               sigmoid and cross-entropy fused: the derivative is simply p - y)")
    echo("    update     W -= lr * dW,  b -= lr * db          (lr = 1.0, 300 epochs)")
    x = rng.normal(0, 1, size=(400, 1))
    y = (x[:, 0] > 0).astype(float)
    net = Sequential([Dense(1)]).build(1, random_state=0)
    loss = BinaryCrossEntropy()
    train(net, loss, SGD(learning_rate=1.0), x, y, batch_size=None, max_epochs=300)
    w, b = float(net[0].params["W"][0, 0]), float(net[0].params["b"][0])
    accuracy = float(np.mean((net.forward(x)[:, 0] > 0) == (y > 0.5)))
    threshold = -b / w
    echo(f"    learned    W = {w:.3f}, b = {b:.3f};  decision threshold x = -b/W = "
         f"{threshold:.4f} (true 0);  training accuracy = {accuracy:.3f}")
    return accuracy, threshold


TRACE_SAMPLE = ([0.5, 0.5], [3.0])
"""The row ``numnet trace --demo`` follows: x = (0.5, 0.5), y = 3 (x1 + x2) = 3."""


def relu_network_model(random_state=0):
    """The untrained 2-4-1 ReLU network of example (c), its loss and its optimizer."""
    net = Sequential([Dense(4), ReLU(), Dense(1)]).build(2, random_state=random_state)
    return net, MeanSquaredError(), SGD(learning_rate=0.01, momentum=0.9)


def relu_network(rng, echo):
    """A 2-4-1 ReLU network on y = 3(x1 + x2) + noise, trained with momentum SGD."""
    echo("(c) A 2-4-1 ReLU network: y = 3 * (x1 + x2) + noise, mini-batch SGD with momentum")
    echo("    forward    z = X @ W1 + b1,  h = relu(z) = max(0, z),  y_hat = h @ W2 + b2")
    echo("    backward   d_yhat = 2 (y_hat - y) / m   (m = batch size = 32)")
    echo("               dW2 = h.T @ d_yhat,  db2 = sum(d_yhat),  dh = d_yhat @ W2.T")
    echo("               dz = dh * (z > 0),  dW1 = X.T @ dz,  db1 = sum(dz)   (chain rule)")
    echo("    update     v = 0.9 v + g,  params -= 0.01 v     (for every parameter; 100 epochs)")
    X = rng.uniform(-1, 1, size=(500, 2))
    y = 3 * (X[:, 0] + X[:, 1]) + rng.normal(0, 0.1, size=500)
    net, loss, optimizer = relu_network_model()
    history = train(net, loss, optimizer, X, y, batch_size=32, max_epochs=100, random_state=0)
    curve = history.loss
    marks = [1, 10, 25, 50, 100]
    echo("    loss curve " + ",  ".join(f"epoch {e}: {curve[e - 1]:.4f}" for e in marks))
    X_test = rng.uniform(-1, 1, size=(200, 2))
    y_test = 3 * (X_test[:, 0] + X_test[:, 1])
    rmse = float(np.sqrt(np.mean((net.forward(X_test)[:, 0] - y_test) ** 2)))
    echo(f"    final      test RMSE against the noiseless 3(x1 + x2) = {rmse:.4f} "
         f"(target range [-6, 6])")
    return rmse


def run(echo=print, seed=0):
    """Run the three examples, printing the formulas and the results; returns the key figures."""
    rng = np.random.default_rng(seed)
    echo("numnet demo: three classic models built from numnet's own layers, losses and "
         "optimizers.\n")
    w, b = linear_regression(rng, echo)
    echo("")
    accuracy, threshold = logistic_regression(rng, echo)
    echo("")
    rmse = relu_network(rng, echo)
    echo("\nEvery gradient above is checked against finite differences in numnet's test suite "
         "(see numnet.gradcheck.check_gradients).")
    return {"weight": w, "bias": b, "accuracy": accuracy, "threshold": threshold, "rmse": rmse}
