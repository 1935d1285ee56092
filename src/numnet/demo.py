"""``numnet demo``: the three classic models, trained from first principles and explained.

The widely copied versions of these examples are broken (an undefined ``m``, ``max(1, x)`` for
ReLU, backprop that ignores the chain rule); these use numnet's tested layers and losses.
"""

import numpy as np

from ._validation import check_int
from .layers import Dense, ReLU
from .losses import BinaryCrossEntropy, MeanSquaredError
from .network import Sequential
from .optimizers import SGD
from .training import train

LANGS = ("en", "zh")

_TEXT = {
    "en": {
        "a": [
            "(a) Linear regression: y = 3x + 0.5 + noise, full-batch gradient descent",
            "    model      y_hat = x @ W + b                    (one neuron, identity activation)",
            "    loss       L = mean((y_hat - y)^2)              (m = n_samples = 200)",
            "    gradients  dW = 2/m * x.T @ (y_hat - y),  db = 2/m * sum(y_hat - y)",
            "    update     W -= lr * dW,  b -= lr * db          (lr = 0.1, 200 epochs)",
            "    avoids     the classic bugs of docs/tutorial/mistakes.md, sections 1-3:",
            "               an (n, 1) target minus an (n,) prediction broadcasts to (n, n);",
            "               no b forces the line through the origin; m undefined or wrong",
        ],
        "a_result": "    learned    W = {w:.4f} (true 3),  b = {b:.4f} (true 0.5),  "
                    "final MSE = {mse:.5f}\n"
                    "               (the noise variance is 0.01; fitted to these 200 points, "
                    "the training MSE can fall below it)",
        "b": [
            "(b) Logistic regression: label = 1 if x > 0 else 0, full-batch gradient descent",
            "    model      p = sigmoid(x @ W + b) = 1 / (1 + exp(-(x @ W + b)))",
            "    loss       L = mean(log(1 + exp(z)) - y * z),  z = x @ W + b   (cross-entropy)",
            "    gradients  dz = (p - y) / m,  dW = x.T @ dz,  db = sum(dz)   "
            "(m = n_samples = 400;",
            "               sigmoid and cross-entropy fused: the derivative is simply p - y)",
            "    update     W -= lr * dW,  b -= lr * db          (lr = 1.0, 300 epochs)",
            "    avoids     the classic bugs of docs/tutorial/mistakes.md, sections 4-6:",
            "               no sigmoid (a linear model fitted with a classification gradient);",
            "               a gradient that ignores y, e.g. x.T @ (p > 0), zero at W = 0;",
            "               descending the log-likelihood instead of its negative",
        ],
        "b_result": "    learned    W = {w:.3f}, b = {b:.3f};  decision threshold x = -b/W = "
                    "{threshold:.4f} (true 0);  training accuracy = {accuracy:.3f}",
        "c": [
            "(c) A 2-4-1 ReLU network: y = 3 * (x1 + x2) + noise, mini-batch SGD with momentum",
            "    forward    z = X @ W1 + b1,  h = relu(z) = max(0, z),  y_hat = h @ W2 + b2",
            "    backward   d_yhat = 2 (y_hat - y) / m   (m = batch size = 32)",
            "               dW2 = h.T @ d_yhat,  db2 = sum(d_yhat),  dh = d_yhat @ W2.T",
            "               dz = dh * (z > 0),  dW1 = X.T @ dz,  db1 = sum(dz)   (chain rule)",
            "    update     v = 0.9 v + g,  params -= 0.01 v     (for every parameter; 100 epochs)",
            "    avoids     the classic bugs of docs/tutorial/mistakes.md, sections 7-12:",
            "               max(1, z) for ReLU; a sigmoid or tanh on the regression output;",
            "               y_hat in dW2 or h in dW1, or a product in the wrong order;",
            "               db not summed over the batch; dh from a W2 already updated;",
            "               dz without the derivative (z > 0)",
        ],
        "c_curve": "    loss curve ",
        "c_epoch": "epoch {e}: {loss:.4f}",
        "c_result": "    final      test RMSE against the noiseless 3(x1 + x2) = {rmse:.4f} "
                    "(target range [-6, 6])",
        "intro": "numnet demo: three classic models built from numnet's own layers, losses and "
                 "optimizers.\n",
        "outro": "\nEvery gradient above is checked against finite differences in numnet's test "
                 "suite (see numnet.gradcheck.check_gradients).",
        "trace_bugs": [
            "Classic bugs whose cure this trace shows (docs/tutorial/mistakes.md, sections 7 and "
            "9-12):",
            "  ReLU is max(0, z): Y is 0 where z < 0 (max(1, z) would give 1);",
            "  dW = X.T @ dZ with the layer's own input X (for [2] the hidden activation, for [0] "
            "the row),",
            "  in that order: (n_in, n) @ (n, n_out);",
            "  db = dZ.sum(axis=0): summed over the batch, the shape of b;",
            "  dX = dZ @ W.T with W before the update (--step shows before and after);",
            "  ReLU's dX = dY * (Y > 0): the derivative f'(z), so units with z < 0 pass no "
            "gradient back.",
        ],
    },
    "zh": {
        "a": [
            "(a) 线性回归：y = 3x + 0.5 + 噪声，用全批量梯度下降拟合",
            "    模型      y_hat = x @ W + b              （单个神经元，激活函数为恒等函数）",
            "    损失函数  L = mean((y_hat - y)^2)        （均方误差；m 是样本数，这里 m = 200）",
            "    梯度      dW = 2/m * x.T @ (y_hat - y),  db = 2/m * sum(y_hat - y)",
            "    更新      W -= lr * dW,  b -= lr * db    （学习率 lr = 0.1，训练 200 轮）",
            "    经典错误  这里都避开了（见 docs/tutorial/mistakes.zh.md 第 1–3 节）：",
            "              形状为 (n, 1) 的 y 与形状为 (n,) 的预测相减，会广播成 (n, n)；",
            "              缺少偏置 b，直线被迫经过原点；求平均时 m 未定义或用错",
        ],
        "a_result": "    结果      学到 W = {w:.4f}（真实值 3），b = {b:.4f}（真实值 0.5），"
                    "最终 MSE = {mse:.5f}\n"
                    "              （噪声方差为 0.01；模型拟合的正是这 200 个点，"
                    "训练 MSE 也可能低于它）",
        "b": [
            "(b) 逻辑回归：x > 0 时标签为 1，否则为 0，用全批量梯度下降拟合",
            "    模型      p = sigmoid(x @ W + b) = 1 / (1 + exp(-(x @ W + b)))",
            "    损失函数  L = mean(log(1 + exp(z)) - y * z),  z = x @ W + b   （交叉熵）",
            "    梯度      dz = (p - y) / m,  dW = x.T @ dz,  db = sum(dz)   （m = 样本数 = 400；",
            "              sigmoid 与交叉熵合在一起求导，结果就是 p - y，数值上也更稳定）",
            "    更新      W -= lr * dW,  b -= lr * db    （学习率 lr = 1.0，训练 300 轮）",
            "    经典错误  这里都避开了（见 docs/tutorial/mistakes.zh.md 第 4–6 节）：",
            "              漏掉 sigmoid（线性模型配上分类问题的梯度）；",
            "              梯度里没有标签 y，例如 x.T @ (p > 0)，在 W = 0 处恒为零；",
            "              对对数似然做梯度下降，而不是对它的相反数（负对数似然）",
        ],
        "b_result": "    结果      W = {w:.3f}，b = {b:.3f}；决策边界 x = -b/W = {threshold:.4f}"
                    "（真实值 0）；训练集准确率 = {accuracy:.3f}",
        "c": [
            "(c) 2-4-1 的 ReLU 网络：y = 3 * (x1 + x2) + 噪声，用带动量的小批量 SGD 训练",
            "    前向传播  z = X @ W1 + b1,  h = relu(z) = max(0, z),  y_hat = h @ W2 + b2",
            "    反向传播  d_yhat = 2 (y_hat - y) / m   （m = 批大小 = 32）",
            "              dW2 = h.T @ d_yhat,  db2 = sum(d_yhat),  dh = d_yhat @ W2.T",
            "              dz = dh * (z > 0),  dW1 = X.T @ dz,  db1 = sum(dz)   （链式法则）",
            "    更新      v = 0.9 v + g,  params -= 0.01 v   （每个参数都这样更新；训练 100 轮）",
            "    经典错误  这里都避开了（见 docs/tutorial/mistakes.zh.md 第 7–12 节）：",
            "              把 ReLU 写成 max(1, z)；回归输出上套了 sigmoid 或 tanh；",
            "              dW2 里用了 y_hat、dW1 里用了 h，或矩阵乘法顺序写反；db 没有对批次求和；",
            "              dh 用了本步已经更新过的 W2；dz 漏乘导数 (z > 0)",
        ],
        "c_curve": "    损失曲线  ",
        "c_epoch": "第 {e} 轮：{loss:.4f}",
        "c_result": "    结果      在测试集上与无噪声的 3(x1 + x2) 相比，RMSE = {rmse:.4f}"
                    "（目标值范围 [-6, 6]）",
        "intro": "numnet demo：三个经典模型，全部由 numnet 自己的层、损失函数和优化器搭建。\n",
        "outro": "\n以上每一个梯度都在 numnet 的测试中与有限差分的结果核对过"
                 "（见 numnet.gradcheck.check_gradients）。",
        "trace_bugs": [
            "这份追踪展示了以下经典错误的正确做法"
            "（见 docs/tutorial/mistakes.zh.md 第 7、9–12 节）：",
            "  ReLU 是 max(0, z)：z < 0 处 Y 为 0（写成 max(1, z) 会得到 1）；",
            "  dW = X.T @ dZ，用的是该层自己的输入 X"
            "（[2] 层是隐藏层的激活值，[0] 层是这一行输入），",
            "  顺序也不能反：(n_in, n) @ (n, n_out)；",
            "  db = dZ.sum(axis=0)：对批次求和，形状与 b 相同；",
            "  dX = dZ @ W.T，用的是更新前的 W（--step 会显示更新前后的参数）；",
            "  ReLU 的 dX = dY * (Y > 0)：乘上导数 f'(z)，所以 z < 0 的单元不回传梯度。",
        ],
    },
}


def trace_bugs(lang="en"):
    """The classic bugs whose cure ``numnet trace --demo`` shows, and the chapter that runs them.

    Examples
    --------
    >>> print(trace_bugs().splitlines()[0])
    Classic bugs whose cure this trace shows (docs/tutorial/mistakes.md, sections 7 and 9-12):
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}.")
    return "\n".join(_TEXT[lang]["trace_bugs"])


def linear_regression(rng, echo, text=_TEXT["en"]):
    """Fit y = 3x + noise by full-batch gradient descent on the mean squared error."""
    for line in text["a"]:
        echo(line)
    x = rng.uniform(-1, 1, size=(200, 1))
    y = 3 * x[:, 0] + 0.5 + rng.normal(0, 0.1, size=200)
    net = Sequential([Dense(1)]).build(1, random_state=0)
    history = train(net, MeanSquaredError(), SGD(learning_rate=0.1), x, y,
                    batch_size=None, max_epochs=200)
    w, b = float(net[0].params["W"][0, 0]), float(net[0].params["b"][0])
    echo(text["a_result"].format(w=w, b=b, mse=history.loss[-1]))
    return w, b


def logistic_regression(rng, echo, text=_TEXT["en"]):
    """Fit labels sign(x) by full-batch gradient descent on the binary cross-entropy."""
    for line in text["b"]:
        echo(line)
    x = rng.normal(0, 1, size=(400, 1))
    y = (x[:, 0] > 0).astype(float)
    net = Sequential([Dense(1)]).build(1, random_state=0)
    loss = BinaryCrossEntropy()
    train(net, loss, SGD(learning_rate=1.0), x, y, batch_size=None, max_epochs=300)
    w, b = float(net[0].params["W"][0, 0]), float(net[0].params["b"][0])
    accuracy = float(np.mean((net.forward(x)[:, 0] > 0) == (y > 0.5)))
    threshold = -b / w
    echo(text["b_result"].format(w=w, b=b, threshold=threshold, accuracy=accuracy))
    return accuracy, threshold


TRACE_SAMPLE = ([0.5, 0.5], [3.0])
"""The row ``numnet trace --demo`` follows: x = (0.5, 0.5), y = 3 (x1 + x2) = 3."""


def relu_network_model(random_state=0):
    """The untrained 2-4-1 ReLU network of example (c), its loss and its optimizer."""
    net = Sequential([Dense(4), ReLU(), Dense(1)]).build(2, random_state=random_state)
    return net, MeanSquaredError(), SGD(learning_rate=0.01, momentum=0.9)


def relu_network(rng, echo, text=_TEXT["en"]):
    """A 2-4-1 ReLU network on y = 3(x1 + x2) + noise, trained with momentum SGD."""
    for line in text["c"]:
        echo(line)
    X = rng.uniform(-1, 1, size=(500, 2))
    y = 3 * (X[:, 0] + X[:, 1]) + rng.normal(0, 0.1, size=500)
    net, loss, optimizer = relu_network_model()
    history = train(net, loss, optimizer, X, y, batch_size=32, max_epochs=100, random_state=0)
    curve = history.loss
    marks = [1, 10, 25, 50, 100]
    sep = "，" if text is _TEXT["zh"] else ",  "
    echo(text["c_curve"] + sep.join(text["c_epoch"].format(e=e, loss=curve[e - 1])
                                    for e in marks))
    X_test = rng.uniform(-1, 1, size=(200, 2))
    y_test = 3 * (X_test[:, 0] + X_test[:, 1])
    rmse = float(np.sqrt(np.mean((net.forward(X_test)[:, 0] - y_test) ** 2)))
    echo(text["c_result"].format(rmse=rmse))
    return rmse


def run(echo=print, seed=0, lang="en"):
    """Run the three examples, printing the formulas and the results; returns the key figures.

    ``lang`` is the language of the explanations: ``"en"`` or ``"zh"`` (Chinese); the numbers
    are the same.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}.")
    seed = check_int(seed, "seed", min_value=0)
    text = _TEXT[lang]
    rng = np.random.default_rng(seed)
    echo(text["intro"])
    w, b = linear_regression(rng, echo, text)
    echo("")
    accuracy, threshold = logistic_regression(rng, echo, text)
    echo("")
    rmse = relu_network(rng, echo, text)
    echo(text["outro"])
    return {"weight": w, "bias": b, "accuracy": accuracy, "threshold": threshold, "rmse": rmse}
