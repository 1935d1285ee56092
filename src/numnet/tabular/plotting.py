"""Plots of a trained model: loss curves, decision regions, attributions (matplotlib).

matplotlib is an optional dependency (``pip install 'numnet[plot]'``). Figures are drawn with
the object-oriented API on an Agg canvas, never through pyplot's global state.
"""

import io as _io
import textwrap
import warnings
from pathlib import Path

import numpy as np

from ..io import atomic_write
from .reading import DataError

_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
METRIC_NAMES = {"r2": "R²", "accuracy": "accuracy"}
"""How metrics are named in titles, as in the command line's tables."""
_CJK_FONTS = ("Noto Sans CJK", "Noto Serif CJK", "Source Han", "WenQuanYi", "IPAGothic",
              "IPAexGothic", "IPAPGothic", "Droid Sans Fallback", "AR PL", "Unifont",
              "Noto Sans JP", "Noto Sans SC", "Noto Sans TC", "Noto Sans KR", "Microsoft YaHei",
              "SimHei", "MS Gothic", "Hiragino", "PingFang", "Apple SD Gothic", "Malgun")


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise DataError("numnet plot needs matplotlib: pip install 'numnet[plot]'.") from None
    return Figure, FigureCanvasAgg


def model_curves(obj):
    """Per-epoch curves of a pipeline or estimator: (history, val_loss, val_metric, metric_name).

    For a pipeline the validation curves are those of its held-out rows (recorded by
    ``numnet train``); otherwise those in the estimator's history (early stopping).
    """
    estimator = getattr(obj, "estimator", obj)
    history = getattr(estimator, "history_", None)
    if history is None or not history.loss:
        raise DataError(
            f"the model must have a training history to plot, got a {type(obj).__name__} "
            "without one. Plot a model trained with 'numnet train' or a fitted estimator."
        )
    curve = getattr(obj, "info", {}).get("validation_curve") or {}
    if curve.get("val_loss"):
        return history, curve["val_loss"], curve["val_metric"], curve["metric_name"]
    return history, history.val_loss, history.val_metric, history.metric_name


def plot_history(ax, history, val_loss=None, val_metric=None, metric_name=None, *,
                 title_chars=None):
    """Training (and validation) loss per epoch on ``ax``; the kept epoch is marked.

    The title gives the validation metric of the kept parameters: the best epoch's under early
    stopping (the figure the metrics table reports), else the last epoch's.
    """
    if val_loss is None:
        val_loss, val_metric, metric_name = (history.val_loss, history.val_metric,
                                             history.metric_name)
    epochs = np.arange(1, len(history.loss) + 1)
    ax.plot(epochs, history.loss, label="training loss", color="C0")
    if val_loss:
        ax.plot(np.arange(1, len(val_loss) + 1), val_loss, label="validation loss",
                color="C1")
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch, color="0.5", linestyle="--", linewidth=1,
                   label=f"kept epoch {history.best_epoch}")
    values = np.asarray(list(history.loss) + list(val_loss), dtype=float)
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / values.min() > 100:
        ax.set_yscale("log")  # a loss falling by orders of magnitude is unreadable linearly
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    title = "Loss curves"
    if val_metric:
        name = METRIC_NAMES.get(metric_name, metric_name or "metric")
        kept = history.best_epoch if history.best_epoch is not None else len(val_metric)
        kept = min(max(int(kept), 1), len(val_metric))
        which = "kept epoch" if history.best_epoch is not None else "epoch"
        title += f" (validation {name} {val_metric[kept - 1]:.4g} at {which} {kept})"
    if title_chars:
        title = textwrap.fill(title, max(title_chars, 12))
    ax.set_title(title)
    ax.legend()
    ax.grid(True, alpha=0.3)


def plot_decision_regions(ax, pipeline, frame, *, resolution=200):
    """Predicted class over a grid spanning ``frame``'s two features, with the data on top.

    The model needs exactly two numeric columns; a missing-value indicator of one of them
    (``--impute indicator``) is 0 over the grid, so the regions are those of rows with both
    values, and a row with a missing value is not drawn.
    """
    if pipeline.task != "classification":
        raise DataError(
            "--data draws decision regions, which need a classifier, but this model does "
            "regression."
        )
    columns = pipeline.preprocessor.columns_
    if len(columns) != 2 or any(column["kind"] != "numeric" for column in columns):
        described = ", ".join(f"{c['name']!r} ({c['kind']})" for c in columns)
        raise DataError(
            "decision regions need a model with exactly 2 numeric features, got "
            f"{len(columns)}: {described}."
        )
    import pandas as pd
    from matplotlib.colors import ListedColormap

    names = [column["name"] for column in columns]
    X = pipeline.transform(frame)  # validates the columns and values
    raw = {name: frame[name].to_numpy(dtype=float, na_value=np.nan) for name in names}
    spans = []
    for name in names:
        values = raw[name][np.isfinite(raw[name])]
        low, high = float(values.min()), float(values.max())
        pad = 0.05 * (high - low) if high > low else 1.0
        spans.append(np.linspace(low - pad, high + pad, resolution))
    grid_x, grid_y = np.meshgrid(*spans)
    grid = pd.DataFrame({names[0]: grid_x.ravel(), names[1]: grid_y.ravel()})
    classes = pipeline.classes_
    region = pipeline.predict_proba(grid).argmax(axis=1).reshape(grid_x.shape)
    colors = [f"C{i % 10}" for i in range(len(classes))]
    ax.contourf(grid_x, grid_y, region, levels=np.arange(len(classes) + 1) - 0.5,
                cmap=ListedColormap(colors), alpha=0.3)

    lookup = {str(c): i for i, c in enumerate(classes)}
    labels = None
    if pipeline.target in frame.columns and frame[pipeline.target].notna().all():
        labels = np.array([lookup.get(str(v), -1) for v in frame[pipeline.target]])
        if (labels < 0).any():
            labels = None
    marker = "true class"
    if labels is None:
        labels = pipeline.estimator.predict_proba(X).argmax(axis=1)
        marker = "predicted class"
    for index, label in enumerate(classes):
        chosen = labels == index
        ax.scatter(raw[names[0]][chosen], raw[names[1]][chosen], s=12, color=colors[index],
                   edgecolors="k", linewidths=0.3,
                   label=str(label.item() if hasattr(label, "item") else label))
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(f"Decision regions (points: {marker})")
    ax.legend(title=pipeline.target, fontsize="small")


def plot_model(obj, path, *, frame=None, width=900, height=450, dpi=100):
    """Write the loss curves of ``obj`` (and decision regions over ``frame``) to an image.

    The image is exactly ``width`` x ``height`` pixels (PNG) and is written atomically.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise DataError(f"--output must end in .png, .svg or .pdf, got {str(path)!r}.")
    Figure, FigureCanvasAgg = _matplotlib()
    import matplotlib

    curves = model_curves(obj)
    panels = 1 if frame is None else 2
    texts = []
    if frame is not None:
        texts = [str(c) for c in getattr(obj, "classes_", [])] + [str(c) for c in frame.columns]
    # Small images get smaller fonts (10 points at 450 pixels per panel), so that titles fit.
    scale = min(1.0, width / panels / 450, height / 300)
    font = max(4.0, 10 * scale)
    with matplotlib.rc_context({"font.size": font, "font.family": _font_family(texts)}):
        figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        FigureCanvasAgg(figure)
        # a title wraps at 3/4 of its panel's width (a character is about 0.6 font sizes wide;
        # titles are 1.2 font sizes)
        chars = int(0.75 * width / panels / (font * 1.2 * dpi / 72 * 0.6))
        plot_history(figure.add_subplot(1, panels, 1), *curves, title_chars=chars)
        if frame is not None:
            ax = figure.add_subplot(1, panels, 2)
            plot_decision_regions(ax, obj, frame)
            ax.set_title(textwrap.fill(ax.get_title(), max(chars, 12)))
        _write(figure, path, suffix, dpi, scale)
    return figure


def _write(figure, path, suffix, dpi, scale):
    """Lay out ``figure`` and write it to ``path`` atomically, at its exact pixel size."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tight_layout on tiny figures
        figure.tight_layout(pad=0.4 if scale < 1 else 1.08)
    buffer = _io.BytesIO()
    # no bbox_inches="tight": it would change the pixel size
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Glyph .* missing from font")
        figure.savefig(buffer, format=_FORMATS[suffix], dpi=dpi)
    atomic_write(path, buffer.getvalue())


def plot_attributions(result, path, *, rows=None, width=900, height=450, dpi=100,
                      max_features=15):
    """Write a chart of an explanation (:class:`numnet.explain.Attributions`) to an image.

    Without ``rows``: one bar per feature, the mean absolute attribution over all rows (the
    ``max_features`` largest). With ``rows``, a dict ``{position in result: row label}``: a
    waterfall per row, from the baseline's output F(x') through each feature's attribution
    (largest first; the rest in one bar) to F(x). Written atomically, exactly ``width`` x
    ``height`` pixels.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise DataError(f"--plot must end in .png, .svg or .pdf, got {str(path)!r}.")
    Figure, FigureCanvasAgg = _matplotlib()
    import matplotlib

    names = [str(n) for n in result.feature_names]
    panels = 1 if not rows else len(rows)
    scale = min(1.0, width / 450, height / panels / 300)
    font = max(4.0, 10 * scale)
    with matplotlib.rc_context({"font.size": font, "font.family": _font_family(names)}):
        figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        FigureCanvasAgg(figure)
        if not rows:
            ax = figure.add_subplot(1, 1, 1)
            mean = np.abs(result.values).mean(axis=0)
            order = np.argsort(-mean)[:max_features][::-1]
            ax.barh([names[i] for i in order], mean[order], color="tab:blue")
            ax.set_xlabel("mean |attribution|")
            ax.set_title(f"{_METHOD_TITLES.get(result.method, result.method)}: mean |attribution| "
                         f"over {len(result.values)} rows")
        else:
            for panel, (position, label) in enumerate(rows.items(), start=1):
                _waterfall(figure.add_subplot(panels, 1, panel), result, position, label, names,
                           max_features)
        _write(figure, path, suffix, dpi, scale)
    return figure


_METHOD_TITLES = {"integrated_gradients": "Integrated gradients",
                  "gradient_x_input": "Gradient x input",
                  "expected_gradients": "Expected gradients", "saliency": "Saliency",
                  "smoothgrad": "SmoothGrad"}


def _waterfall(ax, result, position, label, names, max_features):
    """F(x') at the left, then one step per feature (largest first), ending at F(x)."""
    values = result.values[position]
    order = np.argsort(-np.abs(values))
    shown, rest = order[:max_features], order[max_features:]
    steps = [(names[i], values[i]) for i in shown]
    if len(rest):
        steps.append((f"{len(rest)} other features", values[rest].sum()))
    start = 0.0 if result.baseline_output is None else float(result.baseline_output[position])
    level = start
    for index, (_, value) in enumerate(steps):
        ax.barh(index, value, left=level, color="tab:red" if value > 0 else "tab:blue")
        level += value
    ax.set_yticks(range(len(steps)), [name for name, _ in steps])
    ax.invert_yaxis()
    ax.axvline(start, color="gray", linewidth=0.8, linestyle="--")
    ax.axvline(float(result.output[position]), color="black", linewidth=0.8)
    ax.margins(x=0.05)
    ax.set_title(f"row {label}, target {result.target[position]}: F(x') = {start:.4g} -> "
                 f"F(x) = {float(result.output[position]):.4g}")


def _is_cjk(char):
    code = ord(char)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x2FA1F)


def _font_family(texts):
    """Fonts for the labels: an installed CJK font first when a label needs one (else warn)."""
    import matplotlib
    from matplotlib import font_manager

    family = list(matplotlib.rcParams["font.family"])
    sample = next((c for text in texts for c in text if _is_cjk(c)), None)
    if sample is None:
        return family
    names = sorted({f.name for f in font_manager.fontManager.ttflist})
    found = [name for name in names if name.startswith(_CJK_FONTS)]
    if found:
        return [found[0], "DejaVu Sans"]
    warnings.warn(
        f"labels contain characters (e.g. {sample!r}) that no installed font can draw, so they "
        "show as boxes. Install a CJK font, e.g. Noto Sans CJK (package fonts-noto-cjk).",
        UserWarning, stacklevel=3,
    )
    return family
