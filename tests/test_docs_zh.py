"""The Chinese README and docs stay in step with the English ones (issue 27).

What "in step" means, precisely:

- README.zh.md covers three sections of README.md (set-up, the ten lines, the command line)
  plus links. Its fenced code blocks, in order, are exactly the fenced blocks of those three
  English sections, in order: a change to one of those English blocks fails here until the
  Chinese README follows, and the Chinese README shows no code the English one lacks. Every
  command it names in its prose (`numnet ...`, `make ...`, `pip install ...`, `python ...`)
  appears verbatim in README.md.
- docs/explain.zh.md and docs/privacy.zh.md have the same fenced code blocks as their English
  twins, in the same order and in the same sections (the same number of ``##`` sections with
  the same number of blocks each).
- The Python blocks of all of these run, with their output checked, through sybil (conftest.py
  at the repository root; pyproject's testpaths), as the English README's do; every Python
  block of the two English docs is a doctest, so the shared code is checked output and all.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
CODE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
TWINS = [("docs/explain.md", "docs/explain.zh.md"), ("docs/privacy.md", "docs/privacy.zh.md")]
# The English README's sections that README.zh.md covers, by the Chinese heading covering each.
README_SECTIONS = {"安装与上手": "Set up", "十行代码": "Ten lines", "命令行": "The command line"}
COMMAND = re.compile(r"`((?:numnet|make|pip install|python) [^`]*)`")


def read(path):
    return (ROOT / path).read_text(encoding="utf-8")


def sections(text):
    """``{heading: body}`` for each ``## heading``, headings read outside code blocks."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def blocks_per_section(text):
    return [len(CODE.findall(part)) for part in re.split(r"^## .*$", text, flags=re.M)]


def test_the_chinese_readme_has_exactly_the_code_of_the_english_sections_it_covers():
    english, chinese = sections(read("README.md")), sections(read("README.zh.md"))
    assert list(chinese) == [*README_SECTIONS, "延伸阅读"]
    for zh_heading, en_heading in README_SECTIONS.items():
        assert CODE.findall(chinese[zh_heading]) == CODE.findall(english[en_heading]), zh_heading
        assert CODE.findall(english[en_heading])  # each covered section has code to keep in step
    assert not CODE.findall(chinese["延伸阅读"])
    expected = [block for heading in README_SECTIONS.values()
                for block in CODE.findall(english[heading])]
    assert CODE.findall(read("README.zh.md")) == expected


def test_every_command_the_chinese_readme_names_is_in_the_english_one():
    english = read("README.md")
    commands = COMMAND.findall(CODE.sub("", read("README.zh.md")))
    assert {"make demo", "make test", "numnet demo --lang zh", "numnet trace --demo",
            "numnet playground", "pip install ."} <= set(commands)
    for command in commands:
        assert command in english, command


def test_the_readmes_link_each_other_at_the_top():
    assert "[中文](README.zh.md)" in "\n".join(read("README.md").splitlines()[:5])
    assert "[English](README.md)" in "\n".join(read("README.zh.md").splitlines()[:5])


@pytest.mark.parametrize(("english", "chinese"), TWINS)
def test_the_chinese_docs_have_the_same_code_in_the_same_sections(english, chinese):
    en_text, zh_text = read(english), read(chinese)
    assert CODE.findall(zh_text) == CODE.findall(en_text)
    assert blocks_per_section(zh_text) == blocks_per_section(en_text)
    python = [code for lang, code in CODE.findall(en_text) if lang == "python"]
    assert python and all(code.startswith(">>> ") for code in python)  # doctests: output checked
    name = Path(chinese).name
    assert f"English · [中文]({name})" in "\n".join(en_text.splitlines()[:4])
    assert f"[English]({Path(english).name}) · 中文" in "\n".join(zh_text.splitlines()[:4])


def test_the_python_examples_of_the_chinese_files_run_in_the_test_suite():
    conftest, pyproject = read("conftest.py"), read("pyproject.toml")
    testpaths = re.search(r"^testpaths = \[(.*?)\]", pyproject, re.S | re.M).group(1)
    for path in ("README.md", "README.zh.md", *(p for pair in TWINS for p in pair)):
        assert f'"{path}"' in testpaths, path
    patterns = re.search(r"patterns=\[(.*?)\]", conftest, re.S).group(1)
    assert {"README.md", "README.zh.md", "docs/explain*.md", "docs/privacy*.md"} <= set(
        re.findall(r'"([^"]+)"', patterns))


@pytest.mark.parametrize("path", ["README.zh.md", *(pair[1] for pair in TWINS)])
def test_the_links_of_the_chinese_files_point_to_files_that_exist(path):
    targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", CODE.sub("", read(path)))
    assert targets
    for target in targets:
        assert ((ROOT / path).parent / target).exists(), target


@pytest.mark.parametrize(("path", "terms"), [
    ("docs/explain.zh.md", ["积分梯度", "归因", "基线", "完备性", "期望梯度", "显著性",
                            "排列重要性", "实现不变性", "高斯-勒让德"]),
    ("docs/privacy.zh.md", ["差分隐私", "梯度裁剪", "隐私预算", "噪声乘子", "采样率", "隐私核算器",
                            "泊松", "相邻数据集"]),
    ("README.zh.md", ["神经网络", "反向传播", "梯度裁剪", "独热编码", "标签平滑", "积分梯度",
                      "差分隐私"]),
])
def test_the_chinese_files_use_the_standard_terms(path, terms):
    text = read(path)
    for term in terms:
        assert term in text, term
