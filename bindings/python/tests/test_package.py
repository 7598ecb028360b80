"""The package as a user meets it: every public name documented, the type stubs in step with the
extension module, and the stubs shipped (``py.typed``)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import lienthong
from lienthong import _internal

STUBS = Path(lienthong.__file__).parent / "_internal.pyi"


def stub_names() -> dict[str, set[str]]:
    """Top-level names of the stub file, and the members each stubbed class declares."""
    tree = ast.parse(STUBS.read_text())
    names: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {
                n.name if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) else n.target.id
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                or (isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name))
            }
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = set()
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = set()
    return names


def test_the_stubs_declare_what_the_extension_has():
    stubs = stub_names()
    public = {name for name in dir(_internal) if not name.startswith("__") or name == "__version__"}
    assert public == set(stubs), (public ^ set(stubs))
    for name, members in stubs.items():
        value = getattr(_internal, name)
        if inspect.isclass(value) and not issubclass(value, BaseException):
            actual = {m for m in dir(value) if not m.startswith("_") or m.startswith("__arrow")}
            assert members == actual, (name, members ^ actual)


def test_every_public_name_is_documented_and_typed():
    assert (Path(lienthong.__file__).parent / "py.typed").exists()
    for name in lienthong.__all__:
        value = getattr(lienthong, name)
        if name == "__version__":
            assert value == _internal.__version__
            continue
        assert inspect.getdoc(value), name
        if inspect.isclass(value) and not issubclass(value, BaseException):
            for member, attribute in vars(value).items():
                if not member.startswith("_") and (callable(attribute) or isinstance(attribute, property)):
                    assert inspect.getdoc(attribute), f"{name}.{member}"
