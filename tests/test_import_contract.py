"""The import contract: which room of reportgen may import which (docs/architecture.md).

Every `import reportgen.x` and `from reportgen.x import …` in the package, at module level or inside
a function, is checked against ALLOWED; rooms must form no cycle, and the CLI commands never import
one another (what several share lives in `reportgen.commands` itself).

Files must form no cycle either, inside a room as between rooms (`base.py` ↔ `integrated_gradients.py` was one
that the rooms alone could not see). A file's imports are every `import reportgen.x.y` and `from reportgen.x.y
import …`, at module level, inside a function, and under `if TYPE_CHECKING:` (a type-only import still ties
the two files: each must be read to understand the other, and removing the guard brings the circle back at run
time). `from reportgen.x import y` names the file `y` where it is one, else the package `x` (its `__init__`).
Not counted: the package `__init__` files Python runs on the way to a submodule (a package importing its own
submodules is no circle), a file importing a package it sits in (`import reportgen` for the version: Python
has begun that package before the file), and modules named in strings (`importlib.import_module`, the method
registry).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reportgen"
BASE = {"errors", "choices"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "choices": set(),
    "methods": {"errors"},  # a method list's check (`check_methods`), which the CLI and every options dataclass call
    "option_spec": {"errors"},  # each option declared on its dataclass's field; a value of the wrong type refused
    "validation": {"errors", "choices"},
    "results": BASE | {"validation"},
    "words": {"results"},
    "comparison": set(),
    "stopwatch": set(),
    "progress": set(),
    "output": {"errors"},
    "batching": BASE,
    "loading": BASE | {"option_spec", "results"},
    "distributed": {"errors", "loading"},
    "inference": {"batching", "loading"},
    "perturbation": {"batching", "loading"},
    "attribution": BASE | {"option_spec", "batching", "loading", "methods", "perturbation", "words"},
    "faithfulness": {"errors", "loading", "methods", "perturbation", "results"},
    "plausibility": {"errors", "results", "words"},  # numbers only: human rationales → masks → ERASER's measures
    "rendering": BASE | {"comparison", "corpus", "faithfulness", "methods", "option_spec", "output", "results",
                         "words"},
    # corpus: the corpus page's view (rendering/views/corpus.py) reads its aggregates and facts, torch-free files
    "targets": BASE,
    "provenance": {"reportgen", "results"},
    "explain_options": {"attribution", "choices", "methods", "option_spec"},  # torch-free: the CLI builds them
    "explainer": BASE | {"attribution", "explain_options", "faithfulness", "loading", "methods", "progress",
                         "results", "stopwatch"},
    "pipeline": BASE | {"attribution", "batching", "comparison", "explainer", "faithfulness", "inference", "loading",
                        "methods", "plausibility", "progress", "provenance", "results", "stopwatch", "targets",
                        "words"},  # never rendering
    "scan": {"errors", "choices", "reportgen", "inference", "loading", "output"},
    "corpus": BASE | {"reportgen", "attribution", "batching", "inference", "loading", "methods", "option_spec",
                      "output", "plausibility", "results", "scan", "validation", "words"},
    "demo": {"errors", "loading", "output", "scan"},
    "api": BASE | {"explain_options", "loading", "methods", "option_spec", "output", "pipeline", "plausibility",
                   "rendering", "results", "scan"},
    "commands": BASE | {"api", "batching", "corpus", "demo", "distributed", "loading", "output", "pipeline",
                        "plausibility", "provenance", "rendering", "results", "scan", "targets"},
    "cli_options": BASE | {"corpus", "explain_options", "loading", "option_spec", "rendering", "scan"},
    # cli_options: the torch-free options dataclasses of those rooms only
    "cli": BASE | {"reportgen", "api", "attribution", "cli_options", "commands", "corpus", "demo", "loading", "methods",
                   "pipeline", "rendering", "scan"},
    # attribution, loading: the options dataclasses (torch-free), checked before any heavy import
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


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """reportgen.attribution.base for attribution/base.py; reportgen.attribution for its __init__.py."""
    parts = path.relative_to(package).with_suffix("").parts
    return ".".join((package.name, *(parts[:-1] if parts[-1] == "__init__" else parts)))


def module_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """File → the files it imports (see the module docstring for what counts), by module name."""
    paths = sorted(p for p in package.rglob("*.py") if "data" not in p.relative_to(package).parts)
    known = {module_name(p, package) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        source = module_name(path, package)
        targets = graph.setdefault(source, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                         for alias in node.names]
            for name in names:
                while name not in known and "." in name:  # `import reportgen.x.y.z` where z is no file
                    name = name.rpartition(".")[0]
                if name in known and name != source and not source.startswith(f"{name}."):
                    targets.add(name)
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (its first node repeated at the end), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            found = visit(target, path + [node])
            if found:
                return found
        done.add(node)
        return None

    for node in sorted(graph):
        found = visit(node, [])
        if found:
            return found
    return None


def test_the_files_form_no_cycle():
    found = cycle_in(module_graph())
    assert found is None, "import cycle between files: " + " → ".join(found or [])


def test_the_file_check_sees_a_type_only_cycle_inside_a_folder(tmp_path):
    """The check itself works: two files of one folder importing each other, one only for its type hints."""
    fake = tmp_path / "reportgen"
    (fake / "attribution").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "attribution" / "__init__.py").write_text("from reportgen.attribution.base import Attributor\n")
    (fake / "attribution" / "base.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from reportgen.attribution.ig import Steps\n")
    (fake / "attribution" / "ig.py").write_text("def f():\n    from reportgen.attribution import base\n")
    (fake / "attribution" / "other.py").write_text("import reportgen.attribution.base\n")
    found = cycle_in(module_graph(fake))
    assert found is not None and set(found) == {"reportgen.attribution.base", "reportgen.attribution.ig"}
    (fake / "attribution" / "base.py").write_text("")
    assert cycle_in(module_graph(fake)) is None  # a package importing its own files is no cycle


COMPUTATION = "reportgen.pipeline"
"""The computation behind every report (`reportgen.explain`, `report`, `demo`): it never calls presentation, nor
does any file it imports (the explainer, target choice, provenance, …)."""


def reached(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every file `start` imports, directly or through others."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_computation_and_all_it_imports_never_import_rendering():
    """Neither the pipeline nor any file it imports, however indirectly, reads `reportgen.rendering`: the data
    model holds numbers, and every sentence a page shows is made when it is rendered."""
    graph = module_graph()
    computation = {name for name in graph if name == COMPUTATION or name.startswith(f"{COMPUTATION}.")}
    assert computation, COMPUTATION
    for start in sorted(computation):
        presentation = sorted(name for name in reached(graph, start) if name.startswith("reportgen.rendering"))
        assert not presentation, f"{start} imports {', '.join(presentation)}"
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {COMPUTATION}; print(sorted(m for m in sys.modules "
         "if m.startswith('reportgen.rendering')))"],
        capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert loaded.stdout.strip() == "[]", loaded.stdout


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


def test_rendering_loads_no_torch():
    """rendering may read the corpus's data files for the corpus page, never what runs the models: importing
    every view (and the report's and corpus page's renderers) leaves torch and transformers unloaded."""
    import subprocess
    import sys

    code = ("import sys, reportgen.rendering.views.corpus, reportgen.rendering.html, "
            "reportgen.rendering.markdown_report; "
            "print(sorted({'torch', 'transformers'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=PACKAGE.parent).stdout.strip()
    assert loaded == "[]", loaded
