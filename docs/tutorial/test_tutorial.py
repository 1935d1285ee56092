"""The English and Chinese tutorials teach the same thing: same sections, same code.

Two pairs: the tutorial (en.md, zh.md) and the chapter on classic bugs (mistakes.md,
mistakes.zh.md).

The code blocks themselves run, with their output checked, through sybil (conftest.py at the
repository root).
"""

import re
from pathlib import Path

HERE = Path(__file__).parent
CODE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def read(lang):
    return (HERE / f"{lang}.md").read_text(encoding="utf-8")


MISTAKES = {"en": "mistakes", "zh": "mistakes.zh"}


def sections(text):
    """The numbers of the ``## N. ...`` headings, outside code blocks."""
    prose = CODE.sub("", text)
    return [int(n) for n in re.findall(r"^## (\d+)\. ", prose, re.M)]


def test_same_code_blocks_in_the_same_order():
    english, chinese = CODE.findall(read("en")), CODE.findall(read("zh"))
    assert len(english) >= 20
    assert [lang for lang, _ in english] == ["python"] * len(english)
    assert chinese == english


def test_same_sections():
    english, chinese = sections(read("en")), sections(read("zh"))
    assert english == list(range(1, 12))
    assert chinese == english


def test_the_code_sits_in_the_same_section_in_both():
    def blocks_per_section(text):
        prose_and_code = re.split(r"^## \d+\. .*$", text, flags=re.M)
        return [len(CODE.findall(part)) for part in prose_and_code]

    assert blocks_per_section(read("zh")) == blocks_per_section(read("en"))


def test_the_chinese_tutorial_uses_the_standard_terms():
    chinese = read("zh")
    for term in ("神经元", "权重", "偏置", "激活函数", "前向传播", "反向传播", "链式法则",
                 "损失函数", "梯度下降", "学习率", "正则化", "过拟合", "早停", "交叉熵",
                 "输入层", "输出层", "隐藏层", "对数似然", "最大似然估计"):
        assert term in chinese, term


def test_the_mistakes_chapter_has_the_same_code_and_sections_in_both_languages():
    english, chinese = read(MISTAKES["en"]), read(MISTAKES["zh"])
    assert CODE.findall(chinese) == CODE.findall(english)
    assert sections(english) == list(range(1, 14))  # the 12 bugs, then the corrected network
    assert sections(chinese) == sections(english)

    def blocks_per_section(text):
        return [len(CODE.findall(part)) for part in re.split(r"^## \d+\. .*$", text, flags=re.M)]

    assert blocks_per_section(chinese) == blocks_per_section(english)
    assert all(n >= 1 for n in blocks_per_section(english))  # every bug runs in a checked block


def test_the_tutorial_links_the_mistakes_chapter_in_its_language():
    assert "(mistakes.md)" in read("en")
    assert "(mistakes.zh.md)" in read("zh")


def test_the_links_point_to_files_that_exist():
    for lang in ("en", "zh", *MISTAKES.values()):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", CODE.sub("", read(lang))):
            assert (HERE / target).exists(), (lang, target)


def test_the_native_readers_corrections_stay():
    # issue 27: the logistic gradient has the form of linear regression's, not the same
    # constant (1/m against 2/m); the early-stopping network is too large for 40 samples
    chinese, english = read("zh"), read("en")
    assert "一模一样" not in chinese and "大得多" not in chinese
    assert "相对 40 个带噪样本明显过大的网络" in chinese
    assert "系数是 $1/m$ 而不是 $2/m$" in chinese
    assert "$1/m$ in place of $2/m$" in english
