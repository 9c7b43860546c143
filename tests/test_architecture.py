"""The core knows no screen: importing every vault module loads neither textual nor rich."""

from __future__ import annotations

import subprocess
import sys

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
