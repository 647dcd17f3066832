"""The import contract: which room of reportgen may import which (docs/architecture.md).

Every `import reportgen.x` and `from reportgen.x import …` in the package, at module level or inside
a function, is checked against ALLOWED; rooms must form no cycle, and the CLI commands never import
one another (what several share lives in `reportgen.commands` itself).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reportgen"
BASE = {"errors", "choices"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "choices": set(),
    "methods": set(),
    "validation": {"errors", "choices"},
    "results": BASE | {"validation"},
    "words": {"results"},
    "comparison": set(),
    "stopwatch": set(),
    "output": {"errors"},
    "batching": BASE,
    "loading": BASE | {"results"},
    "distributed": {"errors", "loading"},
    "inference": {"batching", "loading"},
    "perturbation": {"batching", "loading"},
    "attribution": BASE | {"batching", "loading", "methods", "perturbation", "words"},
    "faithfulness": {"errors", "loading", "methods", "perturbation", "results"},
    "rendering": BASE | {"comparison", "faithfulness", "methods", "output", "results", "words"},
    "pipeline": BASE | {"reportgen", "attribution", "batching", "comparison", "faithfulness", "inference", "loading",
                        "methods", "rendering", "results", "stopwatch", "words"},
    "scan": {"errors", "choices", "reportgen", "inference", "loading", "output"},
    "corpus": BASE | {"reportgen", "attribution", "batching", "inference", "loading", "methods", "output", "rendering",
                      "results", "scan", "validation", "words"},
    "demo": {"errors", "loading", "output", "scan"},
    "api": BASE | {"loading", "output", "pipeline", "rendering", "results", "scan"},
    "commands": BASE | {"api", "batching", "corpus", "demo", "distributed", "loading", "output", "pipeline",
                        "rendering", "results", "scan"},
    "cli": BASE | {"reportgen", "api", "commands", "corpus", "demo", "loading", "methods", "pipeline", "rendering",
                   "scan"},  # loading: its torch-free checks (a model file exists) before any heavy import
    "__main__": {"cli"},
    "reportgen": {"reportgen", "api"},  # the package's own __init__: the version, and `explain` on first use
}
"""Room → the rooms it may import (its own modules always). "reportgen" is the package itself (its version)."""


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import of reportgen in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "reportgen" and node.level == 0:
            # `from reportgen import distributed` imports the room; `from reportgen import __version__` the package
            found += [(node.lineno, f"reportgen.{alias.name}" if (PACKAGE / alias.name).exists()
                       or (PACKAGE / f"{alias.name}.py").exists() else "reportgen") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "relative import"))
    return [(line, name) for line, name in found if name == "reportgen" or name.startswith("reportgen.")
            or name == "relative import"]


def room_of(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package).with_suffix("").parts
    return "reportgen" if parts == ("__init__",) else parts[0]


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "data" not in p.relative_to(PACKAGE).parts)


def room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in modules():
        room = room_of(path)
        for _, name in imports(path):
            target = "reportgen" if name == "reportgen" else name.split(".")[1]
            if target != room:
                graph.setdefault(room, set()).add(target)
    return graph


def test_every_room_is_in_the_contract():
    assert {room_of(p) for p in modules()} <= set(ALLOWED)


def violations(path: Path, package: Path = PACKAGE) -> list[str]:
    """What in one module breaks the contract, one line each."""
    room = room_of(path, package)
    wrong = []
    for line, name in imports(path):
        if name == "relative import":
            wrong.append(f"line {line}: a relative import (reportgen imports absolutely)")
            continue
        target = "reportgen" if name == "reportgen" else name.split(".")[1]
        if target != room and target not in ALLOWED[room]:
            wrong.append(f"line {line}: {name} ({room} may import {', '.join(sorted(ALLOWED[room])) or 'nothing'})")
        if room == "commands" and target == "commands" and name != "reportgen.commands" \
                and path.name != "__init__.py":
            wrong.append(f"line {line}: {name} (a command never imports another; share it in reportgen.commands)")
    return wrong


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_what_its_room_may(path):
    wrong = violations(path)
    assert not wrong, "\n".join(wrong)


def test_the_rooms_form_no_cycle():
    graph = room_graph()
    done: set[str] = set()

    def visit(room: str, path: list[str]) -> None:
        if room in path:
            raise AssertionError("import cycle: " + " → ".join(path[path.index(room):] + [room]))
        if room in done:
            return
        for target in sorted(graph.get(room, ())):
            if target != "reportgen":  # the package's own __init__ (its version) sits above nothing
                visit(target, path + [room])
        done.add(room)

    for room in sorted(graph):
        visit(room, [])


def test_the_contract_catches_forbidden_imports(tmp_path):
    """The check itself works: rendering importing the pipeline, and one command importing another."""
    fake = tmp_path / "reportgen"
    for room in ("rendering", "commands"):
        (fake / room).mkdir(parents=True)
    bad_view = fake / "rendering" / "bad.py"
    bad_view.write_text("def f():\n    from reportgen.pipeline import explain\n")
    bad_command = fake / "commands" / "scan.py"
    bad_command.write_text("from reportgen.commands.report import run_report\n")
    assert ["pipeline" in line for line in violations(bad_view, fake)] == [True]
    assert any("never imports another" in line for line in violations(bad_command, fake))
