"""``numnet demo``: the three classic models learn what they should, via typer and the script."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from numnet.demo import run


def figures(output):
    """The learned weight, the accuracy and the RMSE, read from the demo's printed report."""
    weight = re.search(r"learned\s+W = (-?[\d.]+) \(true 3\)", output)
    accuracy = re.search(r"training accuracy = ([\d.]+)", output)
    rmse = re.search(r"test RMSE against the noiseless 3\(x1 \+ x2\) = ([\d.]+)", output)
    assert weight and accuracy and rmse, output
    return float(weight.group(1)), float(accuracy.group(1)), float(rmse.group(1))


def assert_learned(weight, accuracy, rmse):
    assert abs(weight - 3) < 0.05
    assert accuracy > 0.95
    assert rmse < 0.2


def test_demo_run_returns_the_learned_figures():
    lines = []
    result = run(echo=lines.append, seed=0)
    assert_learned(result["weight"], result["accuracy"], result["rmse"])
    assert abs(result["bias"] - 0.5) < 0.05
    assert abs(result["threshold"]) < 0.1
    output = "\n".join(lines)
    assert "relu(z) = max(0, z)" in output  # the corrected formula, not max(1, z)
    assert figures(output) == pytest.approx(
        (result["weight"], result["accuracy"], result["rmse"]), abs=5e-4)


def test_demo_through_typer():
    from numnet.cli import app  # imported here: a broken CLI must not hide the demo's own test

    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert_learned(*figures(result.output))


def test_demo_seed_option_changes_the_data():
    from numnet.cli import app

    first = CliRunner().invoke(app, ["demo", "--seed", "1"])
    assert first.exit_code == 0, first.output
    assert_learned(*figures(first.output))
    assert first.output != CliRunner().invoke(app, ["demo"]).output


def test_demo_through_the_installed_console_script():
    script = Path(sys.executable).parent / "numnet"
    if not script.exists():
        pytest.skip("the numnet console script is not installed next to this Python")
    completed = subprocess.run([str(script), "demo"], capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert_learned(*figures(completed.stdout))


def test_demo_in_chinese_explains_the_same_numbers():
    from numnet.cli import app

    english = run(echo=lambda line: None, seed=0)
    lines = []
    chinese = run(echo=lines.append, seed=0, lang="zh")
    assert chinese == english
    output = "\n".join(lines)
    for term in ("线性回归", "逻辑回归", "损失函数", "梯度", "学习率", "反向传播", "链式法则",
                 "relu(z) = max(0, z)", f"W = {english['weight']:.4f}（真实值 3）",
                 f"训练集准确率 = {english['accuracy']:.3f}", f"RMSE = {english['rmse']:.4f}"):
        assert term in output, term
    result = CliRunner().invoke(app, ["demo", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert result.output == output + "\n"


def test_demo_cli_refuses_an_unknown_language_in_one_line(capsys):
    from numnet.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["demo", "--lang", "fr"])
    assert (stop.value.code, capsys.readouterr().err) == (
        2, "error: --lang must be one of {'en', 'zh'}, got 'fr'.\n")


def test_demo_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="lang must be one of"):
        run(echo=lambda line: None, lang="fr")
