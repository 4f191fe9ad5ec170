"""docs/reliability.md stays true: every test it names exists, every fault test is named, every message matches."""
import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).parent.parent
DOC = (ROOT / "docs" / "reliability.md").read_text()


def _test_names(path):
    tree = ast.parse((ROOT / path).read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_test_named_in_the_doc_exists():
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", DOC)
    assert len(named) >= 15
    for path, name in named:
        assert name in _test_names(path), f"{path}::{name} is named in docs/reliability.md but does not exist"


def test_every_fault_test_is_in_the_doc():
    for name in _test_names("tests/test_reliability.py"):
        assert f"tests/test_reliability.py::{name}" in DOC, f"{name} is missing from docs/reliability.md"


def test_every_bad_input_message_checked_by_the_tests_is_in_the_doc():
    from test_tune_magic import ERRORS

    for _line, _cell, words in ERRORS:
        assert words in DOC, f"the message {words!r} is tested but not listed in docs/reliability.md"
