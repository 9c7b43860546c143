"""The core knows no screen: importing every vault module loads neither textual nor rich. And its
modules import one another without a cycle."""

from __future__ import annotations

import subprocess
import sys

import grimp

PROBE = """
import pkgutil, importlib, sys, vault
for info in pkgutil.walk_packages(vault.__path__, "vault."):
    importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich"))
print(",".join(loaded))
"""


def test_vault_never_imports_textual_or_rich() -> None:
    import textual  # noqa: F401  -- installed, so the probe below could find it if imported

    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def import_cycles(graph: grimp.ImportGraph, package: str) -> list[tuple[str, ...]]:
    """Each import ``a -> b`` between ``package``'s modules from which ``b`` leads back to ``a``,
    as the cycle it closes: ``(a, b, …, a)``."""
    ours = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    cycles = []
    for importer in sorted(ours):
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & ours):
            back = graph.find_shortest_chain(importer=imported, imported=importer, as_packages=False)
            if back is not None:
                cycles.append((importer, *back))
    return cycles


def test_no_import_cycles_in_vault() -> None:
    """No module of vault imports, at run time, one that imports it back, directly or through
    others (docs/integrity.md §8). Imports under ``if TYPE_CHECKING:`` never run and are left out,
    as the layers contract in pyproject.toml leaves them out."""
    graph = grimp.build_graph("vault", exclude_type_checking_imports=True)
    cycles = import_cycles(graph, "vault")
    assert not cycles, "import cycles in vault: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_a_cycle_is_named() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in (("vault.a", "vault.b"), ("vault.b", "vault.c"), ("vault.c", "vault.a"),
                               ("vault.c", "vault.d"), ("vault.e", "vault.a")):
        graph.add_import(importer=importer, imported=imported)
    cycles = import_cycles(graph, "vault")
    assert ("vault.a", "vault.b", "vault.c", "vault.a") in cycles
    assert all("vault.d" not in cycle and "vault.e" not in cycle for cycle in cycles)
