"""Run the Python examples of the tutorials, the READMEs and two docs as tests.

The files: docs/tutorial/*.md, README.md, README.zh.md, docs/explain.md, docs/privacy.md and
their Chinese twins (docs/explain.zh.md, docs/privacy.zh.md).

Sybil collects each ```python block of these Markdown files: a block that starts with ``>>>``
is a doctest whose shown output is compared with the real one (NORMALIZE_WHITESPACE and NUMBER,
as for the doctests in src/), any other block must run without error. The blocks of one file
share a namespace and run in order, each in a fresh temporary working directory.
``<!-- skip: next "reason" -->`` before a block skips it (with the reason shown).
"""

from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

import pytest
from sybil import Sybil
from sybil.evaluators.doctest import NUMBER
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser


@pytest.fixture
def _markdown_workdir(tmp_path, monkeypatch):
    """Each example runs in its own empty folder, so files it writes go nowhere else."""
    monkeypatch.chdir(tmp_path)


pytest_collect_file = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=NORMALIZE_WHITESPACE | NUMBER | ELLIPSIS),
        SkipParser(),
    ],
    patterns=["README.md", "README.zh.md", "docs/tutorial/*.md", "docs/explain*.md",
              "docs/privacy*.md"],
    fixtures=["_markdown_workdir"],
).pytest()
