"""incident-vault's core: an encrypted, need-to-know vault for safeguarding records.

    from vault import open_vault
    session = open_vault(DIR).unlock(USERNAME, PASSWORD)

This package never imports a user-interface library; the CLI and the TUI are
two faces of it.
"""

from vault.errors import VaultError
from vault.session import Session, Vault, open_vault

__all__ = ["Session", "Vault", "VaultError", "open_vault"]
__version__ = "0.1.0"
