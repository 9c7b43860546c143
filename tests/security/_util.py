"""Helpers shared by the adversarial tests: file snapshots, template vaults, error checks."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN, ADMIN_PW, CHEAP, Built, FakeClock
from vault import audit, keyslots
from vault.errors import VaultError
from vault.session import Session, Vault, open_vault

BOB = "bob"
CAROL = "carol"


def snapshot(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory`` (relative path -> hex digest)."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def all_bytes(roots: Iterable[Path]) -> dict[Path, bytes]:
    """Every file under each root (recursively), read whole."""
    out: dict[Path, bytes] = {}
    for root in roots:
        if root.is_file():
            out[root] = root.read_bytes()
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file():
                out[p] = p.read_bytes()
    return out


def forms(secret: str) -> list[bytes]:
    """The byte patterns a leaked secret could take: UTF-8 and UTF-16-LE, and for
    dashed codes also the form without dashes (what the keyring normalises to)."""
    texts = {secret}
    if "-" in secret:
        texts.add(secret.replace("-", ""))
    out = []
    for text in sorted(texts):
        out.append(text.encode("utf-8"))
        out.append(text.encode("utf-16-le"))
        escaped = json.dumps(text)[1:-1]  # as JSON writes it by default: \\uXXXX for non-ASCII
        if escaped != text:
            out.append(escaped.encode("ascii"))
    return out


def hits(files: dict[Path, bytes], secret: str) -> list[str]:
    """Where any form of ``secret`` occurs (empty list: nowhere)."""
    found = []
    for path, data in files.items():
        for pattern in forms(secret):
            if pattern in data:
                found.append(f"{path} contains {pattern!r}")
    return found


def key_material(session: Session) -> list[str]:
    """Texts of a session's secrets as they could appear in an error message."""
    s = session.secrets
    out = []
    for raw in (s.db_key, s.hpke_private, s.sign_private):
        out += [raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode()]
    return out


def assert_one_sentence(exc: BaseException, secrets: Iterable[str] = ()) -> None:
    """A user-facing error: one line, one plain sentence, no traceback, SQL or secret."""
    text = str(exc)
    assert text.strip(), "empty message"
    assert "\n" not in text and "\r" not in text, text
    assert text.rstrip().endswith("."), text
    for marker in ("Traceback", 'File "', "[SQL", "SELECT ", "PRAGMA", "sqlalche.me", "sqlcipher3."):
        assert marker not in text, text
    for secret in secrets:
        for form in {secret, secret.replace("-", "")}:
            assert form not in text, f"the message carries a secret: {text}"


def keys_doc(directory: Path) -> dict[str, Any]:
    return json.loads((directory / keyslots.KEYS_NAME).read_bytes())


def write_keys_doc(directory: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` as vault.keys with the checksum recomputed exactly as
    :meth:`vault.keyslots.Keyring._write` does (an editor who knows the format)."""
    body = {k: v for k, v in doc.items() if k != "checksum"}
    body["checksum"] = hashlib.sha256(keyslots._canonical(body)).hexdigest()
    ordered = {"format": keyslots.FORMAT, **{k: v for k, v in body.items() if k != "format"}}
    (directory / keyslots.KEYS_NAME).write_bytes(json.dumps(ordered, indent=2).encode("ascii") + b"\n")


@dataclass
class Template:
    """A closed vault built once per module, copied for each test."""

    directory: Path
    recovery_code: str
    passwords: dict[str, str]
    key_texts: list[str] = field(default_factory=list)
    db_key: bytes = b""

    def copy_to(self, target: Path) -> Path:
        shutil.copytree(self.directory, target)
        return target

    def vault(self, directory: Path, clock: FakeClock | None = None) -> Vault:
        return open_vault(directory, argon2=CHEAP, clock=clock or FakeClock())

    def unlock(self, directory: Path, user: str = ADMIN) -> Session:
        return self.vault(directory).unlock(user, self.passwords[user])

    def secrets(self) -> list[str]:
        return [*self.passwords.values(), self.recovery_code, *self.key_texts]


def people_template(directory: Path, people: Iterable[tuple[str, str]], *, disabled: Iterable[str] = ()) -> Template:
    """A closed vault with alice (admin) and ``people`` (name, role), each with a permanent
    password; ``disabled`` of them disabled afterwards."""
    vault, code = Vault.init(directory, ADMIN, ADMIN_PW, argon2=CHEAP, clock=FakeClock())
    built = Built(vault, code, {ADMIN: ADMIN_PW})
    for name, role in people:
        built.add(name, role)
    with built.unlock() as admin:
        for name in disabled:
            admin.disable_user(name)
    return Template(directory, code, dict(built.passwords))


def built_from(template: Template, directory: Path, clock: FakeClock | None = None) -> Built:
    """A copy of ``template`` at ``directory``, opened as a :class:`Built` vault."""
    template.copy_to(directory)
    return Built(template.vault(directory, clock), template.recovery_code, dict(template.passwords))


def build_template(directory: Path, *, notes: int = 0, pad: int = 0) -> Template:
    """A vault with alice (admin), bob (staff) and carol (auditor), and ``notes``
    extra test events (each with ``pad`` bytes of filler) alternating alice/bob."""
    vault, code = Vault.init(directory, ADMIN, ADMIN_PW, argon2=CHEAP, clock=FakeClock())
    built = Built(vault, code, {ADMIN: ADMIN_PW})
    built.add(BOB, "staff")
    built.add(CAROL, "auditor")
    if notes:
        with built.unlock(ADMIN) as alice, built.unlock(BOB) as bob:
            for i in range(notes):
                s = alice if i % 2 == 0 else bob
                with s.write() as conn:
                    s.append(conn, [audit.Event("test.note", properties={"i": i, "pad": "x" * pad})])
    with built.unlock(ADMIN) as alice:
        key_texts = key_material(alice)
        db_key = alice.secrets.db_key
    return Template(directory, code, dict(built.passwords), key_texts, db_key)


def unlock_error(vault_dir: Path, user: str = ADMIN, password: str = ADMIN_PW) -> VaultError:
    """The VaultError that unlocking raises (any other exception propagates and fails the test)."""
    try:
        session = open_vault(vault_dir, argon2=CHEAP, clock=FakeClock()).unlock(user, password)
    except VaultError as exc:
        return exc
    session.lock()
    raise AssertionError(f"unlocking {vault_dir} succeeded")


@contextmanager
def unlocked(v: Built, *names: str) -> Iterator[dict[str, Session]]:
    """Sessions of ``names`` at once, each locked on the way out."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(v.unlock(name)) for name in names}


def vault_fixtures(people: tuple[tuple[str, str], ...], label: str) -> tuple[Any, Any]:
    """The two fixtures of a test module whose vault has ``people``: ``template`` (built once per
    module) and ``v`` (a copy of it for each test). Assign them to those names in the module."""
    @pytest.fixture(scope="module")
    def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
        return people_template(tmp_path_factory.mktemp(label) / "vault", people)

    @pytest.fixture
    def v(template: Template, tmp_path: Path, clock: FakeClock) -> Built:
        return built_from(template, tmp_path / "vault", clock)

    return template, v
