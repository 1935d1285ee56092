"""The readable tables of a trace and a step, in English or Chinese.

Wide arrays are abbreviated to their first and last few entries and their norm, so a
784-feature row fits on one line.
"""

import unicodedata

import numpy as np

LANGS = ("en", "zh")

_TEXT = {
    "en": {
        "title": "numnet trace: {arch}, {n} sample(s)",
        "pre": "Preprocessing of the row (the encoded vector is what predict uses)",
        "missing": "missing",
        "imputed": "imputed ({rule})",
        "onehot": "one-hot",
        "unseen": "not seen in training: all zeros",
        "own": "missing, a category of its own",
        "missing_zeros": "missing: all zeros",
        "robust": "median, quartile spread",
        "clip": "smooth clip",
        "indicator": "missing indicator",
        "forward": "Forward pass: each layer maps its input X to its output (Z for Dense, Y for "
                   "an activation)",
        "x": "input a (the row)",
        "W": "weights",
        "b": "biases",
        "z": "pre-activation z",
        "a": "activation a",
        "raw": "network output (raw)",
        "loss": "Loss: ",
        "y": "target y",
        "L": "loss value",
        "backward": "Backward pass: the chain rule from the loss down (dA = ∂L/∂A)",
        "d_raw": "∂L/∂raw, where backward starts",
        "dZ": "δ = ∂L/∂z",
        "dW": "∂L/∂W",
        "db": "∂L/∂b",
        "dX": "∂L/∂a, passed to the layer below",
        "dX_act": "∂L/∂z = ∂L/∂a * f'(z)",
        "no_y": "(no target: forward pass only; give y for the loss and the gradients)",
        "norm": "norm",
        "step": "One update with {optimizer}, learning rate {lr:g}",
        "before": "before",
        "grad": "gradient",
        "after": "after",
        "loss_change": "loss: {before:.6g} -> {after:.6g}",
    },
    "zh": {
        "title": "numnet 追踪：{arch}，{n} 个样本",
        "pre": "该行数据的预处理（编码后的向量正是 predict 使用的输入）",
        "missing": "缺失",
        "imputed": "填补（{rule}）",
        "onehot": "独热编码",
        "unseen": "训练中未出现：全为 0",
        "own": "缺失，作为单独的类别",
        "missing_zeros": "缺失：全为 0",
        "robust": "中位数、四分位距",
        "clip": "平滑截断",
        "indicator": "缺失指示",
        "forward": "前向传播：每一层把输入 X 变为输出（全连接层为 Z，激活层为 Y）",
        "x": "输入 a（这一行）",
        "W": "权重",
        "b": "偏置",
        "z": "预激活值 z",
        "a": "激活值 a",
        "raw": "原始输出（未经连接函数）",
        "loss": "损失：",
        "y": "目标值 y",
        "L": "损失值",
        "backward": "反向传播：从损失出发，逐层应用链式法则（dA = ∂L/∂A）",
        "d_raw": "∂L/∂raw，反向传播的起点",
        "dZ": "δ = ∂L/∂z",
        "dW": "∂L/∂W",
        "db": "∂L/∂b",
        "dX": "∂L/∂a，传给下一层（更靠近输入的一层）",
        "dX_act": "∂L/∂z = ∂L/∂a * f'(z)",
        "no_y": "（没有目标值：只做前向传播；给出 y 才能计算损失和梯度）",
        "norm": "范数",
        "step": "用 {optimizer} 更新一步，学习率 {lr:g}",
        "before": "更新前",
        "grad": "梯度",
        "after": "更新后",
        "loss_change": "损失：{before:.6g} -> {after:.6g}",
    },
}


def _number(value):
    text = f"{float(value):.4g}"
    return "0" if text == "-0" else text


def vector(values, *, width=8, norm_label="norm"):
    """``[v1, v2, v3, ..., v_n]`` with at most ``width`` entries (8), and the norm when cut.

    Examples
    --------
    >>> vector(np.arange(784.0))
    '[0, 1, 2, 3, ..., 780, 781, 782, 783]  norm 1.266e+04'
    >>> vector(np.array([[0.5, -0.25]]))
    '[0.5, -0.25]'
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size <= width:
        return "[" + ", ".join(_number(v) for v in flat) + "]"
    head, tail = flat[:(width + 1) // 2], flat[flat.size - width // 2:]
    return ("[" + ", ".join(_number(v) for v in head) + ", ..., "
            + ", ".join(_number(v) for v in tail) + f"]  {norm_label} "
            + _number(np.linalg.norm(flat)))


def display_width(text):
    """Columns ``text`` takes on a terminal: 2 for a wide or full-width character (CJK), else 1.

    Examples
    --------
    >>> display_width("gradient"), display_width("更新前"), display_width("梯度")
    (8, 6, 4)
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text, width):
    """``text`` followed by spaces up to ``width`` display columns.

    ``f"{text:<width}"`` counts characters, so a Chinese label would end one column short per
    character.

    Examples
    --------
    >>> pad("梯度", 8) + "|", pad("gradient", 8) + "|"
    ('梯度    |', 'gradient|')
    """
    return text + " " * max(width - display_width(text), 0)


def _line(symbol, values, note, text, width):
    shape = str(tuple(np.shape(values)))
    return f"      {symbol:<4} {shape:<8} {vector(values, width=width, norm_label=text['norm'])}" \
           f"   {note}"


def _short(record):
    """``Dense(4)``, ``ReLU``, ``Dropout(0.5)``: the layer and its first setting."""
    first = record.layer[len(record.kind) + 1:-1].split(",")[0].split("=")[-1]
    return f"{record.kind}({first})" if first else record.kind


def _architecture(trace):
    names = [_short(record) for record in trace.layers]
    return " -> ".join([str(trace.x.shape[1]), *names])


def render_trace(trace, *, lang="en", width=8):
    """The text of ``str(trace)``."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {set(LANGS)}, got {lang!r}.")
    text = _TEXT[lang]
    lines = [text["title"].format(arch=_architecture(trace), n=trace.x.shape[0])]
    if trace.preprocessing:
        lines += ["", text["pre"], *_preprocessing(trace.preprocessing, text)]
    lines += ["", text["forward"]]
    last = len(trace.layers) - 1
    for record in trace.layers:
        lines.append(f"  [{record.index}] {_short(record):<12} {'   '.join(record.forward)}")
        dense = "W" in record.params
        if record.index == 0:
            lines.append(_line("X", record.input, text["x"], text, width))
        for name, values in record.params.items():
            lines.append(_line(name, values, text.get(name, ""), text, width))
        symbol = record.forward[0].split("=")[0].strip()[:1] if record.forward else "Y"
        note = text["z"] if dense else text["a"]
        if record.index == last:
            note = text["raw"]
        lines.append(_line(symbol, record.output, note, text, width))
    lines += ["", f"{text['loss']}{trace.loss_name or '-'}"]
    if trace.loss is None:
        lines.append("  " + text["no_y"])
        return "\n".join(lines)
    lines += [f"      {formula}" for formula in trace.loss_forward]
    lines.append(_line("y", trace.y, text["y"], text, width))
    lines.append(f"      L    = {trace.loss:.6g}   {text['L']}")
    lines += ["", text["backward"]]
    lines += [f"      {formula}" for formula in trace.loss_backward]
    lines.append(_line("draw", trace.grad_raw, text["d_raw"], text, width))
    for record in reversed(trace.layers):
        lines.append(f"  [{record.index}] {_short(record):<12} {'   '.join(record.backward)}")
        if "W" in record.params:
            lines.append(_line("dZ", record.grad_output, text["dZ"], text, width))
            for name, values in record.grads.items():
                lines.append(_line("d" + name, values, text["d" + name], text, width))
            lines.append(_line("dX", record.grad_input, text["dX"], text, width))
        else:
            lines.append(_line("dX", record.grad_input, text["dX_act"], text, width))
    return "\n".join(lines)


def _preprocessing(columns, text):
    lines = []
    name_width = min(max(display_width(str(c["column"])[:24]) for c in columns), 48)
    for column in columns:
        raw = text["missing"] if column["missing"] else _value(column["raw"])
        steps = [raw]
        own = column["kind"] == "categorical" and column["impute"] == "indicator"
        if column["missing"] and own:
            steps[0] = text["own"]
        elif column["missing"]:
            steps.append(f"{text['imputed'].format(rule=column['impute'])} "
                         f"{_value(column['filled'])}")
        if column["kind"] == "numeric":
            steps.extend(_numeric_steps(column, text))
        elif column["kind"] == "categorical":
            hot = [f for f, v in zip(column["features"], column["encoded"], strict=True) if v]
            none = text["missing_zeros"] if column["missing"] else text["unseen"]
            steps.append(f"{text['onehot']} ({len(column['features'])}): "
                         + (f"{hot[0]} = 1" if hot else none))
        else:
            steps.append(" ".join(f"{f}={_number(v)}" for f, v in zip(
                column["features"], column["encoded"], strict=True)))
        lines.append(f"  {pad(str(column['column'])[:24], name_width)}  {column['kind']:<11} "
                     + " -> ".join(steps))
    return lines


def _numeric_steps(column, text):
    """``(x - mean) / scale = z``, then the smooth clip and the missing indicator, if any."""
    mean = column["mean"]
    shift = f"- {_number(mean)}" if mean >= 0 else f"+ {_number(-mean)}"
    scaled = column.get("scaled", column["encoded"][0])
    steps = [f"({_number(column['filled'])} {shift}) / {_number(column['scale'])} = "
             f"{_number(scaled)}"]
    if "clip" in column:
        steps[0] += f" ({text['robust']})"
        clip = _number(column["clip"])
        steps.append(f"{text['clip']} {_number(scaled)} / sqrt(1 + ({_number(scaled)} / {clip})²)"
                     f" = {_number(column['encoded'][0])}")
    if "indicator" in column:
        steps.append(f"{text['indicator']} {column['features'][-1]} = "
                     f"{_number(column['indicator'])}")
    return steps


def _value(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value)
    return repr(value)


def render_step(step, *, lang="en", width=8):
    """The text of ``str(step)``."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {set(LANGS)}, got {lang!r}.")
    text = _TEXT[lang]
    lines = [text["step"].format(optimizer=step.optimizer, lr=step.learning_rate)]
    for name in step.names:
        lines.append(f"  {name}")
        for label, values in ((text["before"], step.params_before[name]),
                              (text["grad"], step.gradient[name]),
                              (text["after"], step.params_after[name])):
            lines.append(f"      {pad(label, 8)} "
                         f"{vector(values, width=width, norm_label=text['norm'])}")
    lines.append("  " + text["loss_change"].format(before=step.loss_before,
                                                   after=step.loss_after))
    return "\n".join(lines)
