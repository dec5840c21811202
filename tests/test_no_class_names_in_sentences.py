"""No exception class name in a sentence a person reads ("The connection failed (AttributeError)"): a class
name goes to the log, the screen and the terminal get words."""

from __future__ import annotations

import ast
from pathlib import Path

from calle_tui.core.session.connection import classify

PACKAGE = Path(__file__).parents[1] / "calle_tui"
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}


def _class_name_of_value(node: ast.AST) -> bool:
    """`type(x).__name__` or `x.__class__.__name__`."""
    if not (isinstance(node, ast.Attribute) and node.attr == "__name__"):
        return False
    inner = node.value
    is_type_call = isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "type"
    return is_type_call or (isinstance(inner, ast.Attribute) and inner.attr == "__class__")


def sentences_with_class_names() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        logged: set[int] = set()
        for node in ast.walk(tree):  # arguments of log calls may name classes: the log is for developers
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOG_METHODS:
                logged.update(id(child) for arg in node.args for child in ast.walk(arg))
        for node in ast.walk(tree):
            if id(node) in logged:
                continue
            if isinstance(node, ast.JoinedStr) and any(_class_name_of_value(child) for child in ast.walk(node)):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
            if isinstance(node, ast.BoolOp) and any(_class_name_of_value(value) for value in node.values):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")  # `str(exc) or type(exc).__name__`
    return found


def test_no_sentence_is_built_from_an_exception_class_name():
    # The sandbox's own error text names its input models (a developer-facing server); contract.py names a
    # JSON type ("got list"), not an exception.
    allowed = {"calle_tui/core/wire/contract.py"}
    assert [where for where in sentences_with_class_names() if where.split(":")[0] not in allowed] == []


def test_an_unexpected_failure_is_described_without_its_class_name():
    error = classify(AttributeError("'NoneType' object has no attribute 'get_tokens'"))
    assert error.message == "The connection failed unexpectedly."
    assert "AttributeError" not in error.message
