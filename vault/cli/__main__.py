"""``python -m vault.cli``: the same as the ``incident-vault`` command."""

from vault.cli import run

if __name__ == "__main__":  # importing it (pkgutil.walk_packages does) runs nothing
    run()
