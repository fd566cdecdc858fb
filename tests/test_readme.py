"""The README's Python examples run as written (those that need a dataset file are skipped)."""
import re

import pytest

from tests.conftest import REPO

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code):
    if ".h5" in code:
        pytest.skip("needs a preprocessed dataset file")
    exec(compile(code, "README.md", "exec"), {})
