"""How the commands print figures for reading: metrics, and a confusion matrix that fits.

Text output is for reading (``--json`` keeps every figure at full precision): a metric has
four decimals where that reads well and four significant digits otherwise
(``R² -1.129e+06``, not ``-1129344.0079``), and a confusion matrix wider than the terminal
numbers its columns, or, when even that does not fit, becomes a table of one line per class.
"""

import math
import shutil


def number(value):
    """A metric as text: ``0.9512``, ``1.204e+10``, ``-1.129e+06``, ``3.2e-05``, ``nan``."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    if not math.isfinite(value):
        return str(float(value))
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4f}"
    return f"{value:.4g}"


def terminal_width():
    """The terminal's width in characters ($COLUMNS, else the terminal's, else 80)."""
    return shutil.get_terminal_size(fallback=(80, 24)).columns


def _cut(text, width):
    return text if len(text) <= width else text[:max(width - 1, 1)] + "…"


def confusion_lines(labels, matrix, width=None):
    """The confusion matrix as lines of at most ``width`` characters (the terminal's).

    ``labels`` are the classes as printable text (escaped by the caller).

    The full matrix when it fits; else its columns are numbered as the rows (labels cut
    to fit); else one line per class: its rows, the share found (recall), the share of its
    predictions that were right (precision), and what it was most often taken for.
    """
    width = terminal_width() if width is None else width
    counts = [str(n) for row in matrix for n in row]
    cell = max(6, *(len(label) for label in labels), *(len(c) for c in counts))
    if 2 + cell + len(labels) * (cell + 1) <= width:
        return ["Confusion matrix (rows: true label, columns: predicted):",
                " " * (cell + 2) + " ".join(f"{label:>{cell}}" for label in labels),
                *(f"  {label:>{cell}}" + "".join(f" {n:>{cell}}" for n in row)
                  for label, row in zip(labels, matrix, strict=True))]
    keys = [str(i + 1) for i in range(len(labels))]
    cell = max(*(len(k) for k in keys), *(len(c) for c in counts))
    room = width - 2 - (len(keys[-1]) + 1) - len(labels) * (cell + 1)
    if room >= 8:
        name = min(room, max(len(label) for label in labels))
        lead = len(keys[-1]) + 1 + name
        return ["Confusion matrix (rows: true label, columns: predicted, numbered as the "
                "rows):",
                " " * (lead + 2) + " ".join(f"{k:>{cell}}" for k in keys),
                *(f"  {k:>{len(keys[-1])}} {_cut(label, name):<{name}}"
                  + "".join(f" {n:>{cell}}" for n in row)
                  for k, label, row in zip(keys, labels, matrix, strict=True))]
    return _per_class(labels, matrix, width)


def _per_class(labels, matrix, width):
    """One line per class, for a matrix too wide to print even with numbered columns."""
    found = [sum(row) for row in matrix]
    predicted = [sum(row[j] for row in matrix) for j in range(len(labels))]
    name = max(5, min(max(len(label) for label in labels), max(width - 60, 12)))
    lines = ["Per class (the confusion matrix is too wide for the terminal; --json has it):",
             f"  {'class':<{name}} {'rows':>7} {'recall':>7} {'precision':>9}  most often "
             "taken for"]
    for i, (label, row) in enumerate(zip(labels, matrix, strict=True)):
        recall = f"{row[i] / found[i]:.3f}" if found[i] else "-"
        precision = f"{row[i] / predicted[i]:.3f}" if predicted[i] else "-"
        wrong = [(n, j) for j, n in enumerate(row) if j != i and n]
        if wrong:
            n, j = max(wrong, key=lambda pair: (pair[0], -pair[1]))
            taken = f"{_cut(labels[j], name)} ({n})"
        else:
            taken = "-"
        lines.append(f"  {_cut(label, name):<{name}} {found[i]:>7} {recall:>7} "
                     f"{precision:>9}  {taken}")
    return lines
