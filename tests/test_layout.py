"""The layout rule of docs/architecture.md: packages import only those below them.

The rule is read from the document itself (its ``may import`` block), so the picture a
newcomer reads and the rule the suite enforces cannot drift apart. Imports inside
functions count: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
RULE = re.compile(r"^(\w+)\s+may import:\s*(.*)$")


def declared() -> dict[str, set[str]]:
    """``package may import: a, b, c`` lines of the document's rule block."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("```rule", 1)[1].split("```", 1)[0]
    rules = {}
    for line in block.strip().splitlines():
        found = RULE.match(line.strip())
        assert found, f"docs/architecture.md: not a rule line: {line!r}"
        names = found.group(2).strip()
        rules[found.group(1)] = set() if names in ("", "nothing") else set(re.split(r",\s*", names))
    return rules


def packages() -> list[str]:
    return sorted(
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").is_file() and p.name not in ("tests", "benchmarks")
    )


def imports(package: str) -> dict[str, set[str]]:
    """Top-level packages of this project that ``package`` imports, with the files that do."""
    mine = set(packages())
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in mine and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_package_has_a_rule_and_every_rule_a_package():
    assert set(declared()) == set(packages())


@pytest.mark.parametrize("package", packages())
def test_a_package_imports_only_what_the_architecture_allows(package):
    allowed = declared()[package]
    wrong = {top: sorted(files) for top, files in imports(package).items() if top not in allowed}
    assert wrong == {}, f"{package} may not import these (docs/architecture.md): {wrong}"


def test_the_allowed_imports_have_no_cycle():
    rules = declared()

    def reaches(start: str, goal: str, seen: frozenset = frozenset()) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
            for nxt in rules.get(start, ())
        )

    assert [p for p in rules if reaches(p, p)] == []
