"""Unit tests of scripts/verify_export.py, against docs/audit-format.md's own rules and examples.

The verifier is loaded from its path (it is a standalone script, not part of the vault).  The
small exports built here are made by following the spec, independently of the vault's code.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "docs" / "audit-format.md"

_spec = importlib.util.spec_from_file_location("verify_export_under_test", ROOT / "scripts" / "verify_export.py")
assert _spec is not None and _spec.loader is not None
ve: Any = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ve
_spec.loader.exec_module(ve)


# ------------------------------------------------------------------------------------------------
# §4 canonical JSON
# ------------------------------------------------------------------------------------------------


def test_spec_example() -> None:
    """§4's example, byte for byte."""
    value = {"name": 'é "q"', "b": [1, 2], "a": None}
    assert ve.canonical_json(value) == '{"a":null,"b":[1,2],"name":"\\u00e9 \\"q\\""}'


@pytest.mark.parametrize(
    ("char", "written"),
    [
        ("a", "a"), (" ", " "), ("~", "~"), ("/", "/"),  # printable ASCII as itself; '/' never escaped
        ('"', '\\"'), ("\\", "\\\\"),
        ("\b", "\\b"), ("\t", "\\t"), ("\n", "\\n"), ("\f", "\\f"), ("\r", "\\r"),
        ("\x00", "\\u0000"), ("\x1f", "\\u001f"), ("\x0b", "\\u000b"), ("\x7f", "\\u007f"),
        ("é", "\\u00e9"), ("\u2028", "\\u2028"), ("\uffff", "\\uffff"), ("\u00ff", "\\u00ff"),
        ("\ud800", "\\ud800"), ("\udfff", "\\udfff"),  # lone surrogates: one character each
        ("😀", "\\ud83d\\ude00"), ("\U0010ffff", "\\udbff\\udfff"), ("\U00010000", "\\ud800\\udc00"),
    ],
)
def test_string_escapes(char: str, written: str) -> None:
    """§4 rule 5, one case per character class."""
    assert ve.canonical_string(char) == f'"{written}"'
    assert ve.canonical_string(char).isascii()


def test_hex_escapes_are_lowercase() -> None:
    assert ve.canonical_string("\u00c9\u00ab\u00fe") == '"\\u00c9\\u00ab\\u00fe"'
    assert re.search(r"\\u[0-9a-f]*[A-F]", ve.canonical_string("".join(map(chr, range(0x80, 0x2000))))) is None


def test_numbers_and_literals() -> None:
    assert ve.canonical_json([0, -1, 2**63 - 1, True, False, None]) == "[0,-1,9223372036854775807,true,false,null]"
    with pytest.raises(TypeError):
        ve.canonical_json(1.0)


def test_keys_sorted_by_code_point() -> None:
    assert ve.canonical_json({"b": 1, "a": {"z": [], "Z": {}}, "_": 0}) == '{"_":0,"a":{"Z":{},"z":[]},"b":1}'


def test_matches_json_dumps_on_random_values() -> None:
    """§4 says the canonical text is what json.dumps(sort_keys, compact, ensure_ascii) writes."""
    rng = random.Random(4)
    alphabet = [chr(c) for c in (*range(0, 0x80), 0xE9, 0x2028, 0xD800, 0xDC00, 0xFFFF, 0x1F600, 0x10FFFF)]

    def value(depth: int) -> Any:
        kind = rng.randrange(6 if depth < 3 else 4)
        if kind == 0:
            return rng.choice([None, True, False])
        if kind == 1:
            return rng.randint(-(2**63), 2**63 - 1)
        if kind in (2, 3):
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
        if kind == 4:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {"".join(rng.choice(alphabet) for _ in range(3)): value(depth + 1) for _ in range(rng.randrange(4))}

    for _ in range(3000):
        v = value(0)
        assert ve.canonical_json(v) == json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


# ------------------------------------------------------------------------------------------------
# Strict parsing (§4 "To check a text", §2 hex)
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a":1,"a":2}', "duplicate key"),
        ('{"a":{"b":1,"b":1}}', "duplicate key"),
        ("[1.0]", "non-integer"),
        ("[1e3]", "non-integer"),
        ("[1E3]", "non-integer"),
        ("[NaN]", "NaN"),
        ("[Infinity]", "Infinity"),
        ("[-Infinity]", "-Infinity"),
        ("[" + "9" * 30 + "]", "out of range"),
    ],
)
def test_parse_refuses(text: str, problem: str) -> None:
    _, found = ve.parse_json(text)
    assert found is not None and problem in found


@pytest.mark.parametrize("text", ["[01]", "{'a':1}", "[1,]", "", "{", "[\"\x01\"]", "[+1]", "[.5]"])
def test_parse_not_json(text: str) -> None:
    with pytest.raises(ValueError):
        ve.parse_json(text)


def test_parse_exact_integers() -> None:
    value, problem = ve.parse_json("[9223372036854775807,-9223372036854775808]")
    assert problem is None and value == [2**63 - 1, -(2**63)]
    assert all(type(v) is int for v in value)


def test_non_canonical_texts_differ() -> None:
    """A text counts only if it is byte for byte the canonical form of its value."""
    for text in ('{"b":1,"a":2}', '{"a": 1}', '{"a":"\\u00E9"}', '{"a":"\\/"}', '{"a":-0}', '{"a":"é"}',
                 '{"a":"\\u0041"}'):
        value, problem = ve.parse_json(text)
        assert problem is None
        assert ve.canonical_json(value) != text


def test_hex_rules() -> None:
    assert ve.is_hex("ab" * 32, 32)
    assert not ve.is_hex("AB" * 32, 32)  # §2: readers must refuse uppercase
    assert not ve.is_hex("ab" * 31, 32)
    assert not ve.is_hex(None, 32)


def test_time_rule() -> None:
    assert ve.is_time("2026-11-21T15:20:00.123456Z")
    for bad in ("2026-11-21T15:20:00.123Z", "2026-11-21 15:20:00.123456Z", "2026-11-21T15:20:00.123456+00:00",
                "2026-11-21T15:20:00.123456z", "２026-11-21T15:20:00.123456Z"):
        assert not ve.is_time(bad)


# ------------------------------------------------------------------------------------------------
# §5 genesis and pre-image
# ------------------------------------------------------------------------------------------------

VAULT_ID = "00112233445566778899aabbccddeeff"
AT = "2026-11-21T15:20:00.123456Z"


def test_genesis() -> None:
    label = b"incident-vault/audit/genesis/v1"
    assert len(label) == 31
    expected = hashlib.sha256(label + bytes.fromhex(VAULT_ID)).digest()
    assert ve.genesis(VAULT_ID) == expected
    assert len(bytes.fromhex(VAULT_ID)) == 16


def test_pre_image_layout_of_worked_example() -> None:
    """§5's worked example: the pre-image of event 1, field by field."""
    props = '{"a":1}'
    image = ve.pre_image(ve.genesis(VAULT_ID), 1, AT, 1, "vault.created", None, None, props)
    expected = (
        bytes.fromhex("4956415544495431") + ve.genesis(VAULT_ID) + bytes.fromhex("0000000000000001")
        + bytes.fromhex("0000001b") + AT.encode() + bytes.fromhex("0000000000000001")
        + bytes.fromhex("0000000d") + b"vault.created" + bytes.fromhex("ffffffff") + bytes.fromhex("ffffffff")
        + len(props).to_bytes(4, "big") + props.encode()
    )
    assert image == expected
    assert len(image) == 8 + 32 + 8 + 4 + 27 + 8 + 4 + 13 + 4 + 4 + 4 + len(props)


def test_pre_image_with_record_and_object() -> None:
    image = ve.pre_image(b"\x00" * 32, 2**40, AT, 7, "a", 5, "IV-é", "{}")
    tail = bytes.fromhex("0000000000000005") + bytes.fromhex("00000005") + "IV-é".encode() + b"\x00\x00\x00\x02{}"
    assert image.endswith(tail)
    assert image[40:48] == (2**40).to_bytes(8, "big")


# ------------------------------------------------------------------------------------------------
# §7 the action table, transcribed: compared with the spec's own table
# ------------------------------------------------------------------------------------------------


def _spec_type(text: str) -> Any:
    """Parse one type of §7's table into the verifier's T."""
    nullable = text.endswith(" or null")
    text = text.removesuffix(" or null")
    if text == "id":
        t = ve.ID
    elif text == "count":
        t = ve.COUNT
    elif text == "bool":
        t = ve.BOOL
    elif text == "roles":
        t = ve.ROLES_T
    elif text == "filter":
        t = ve.FILTER_T
    elif m := re.fullmatch(r"int (\d+)\.\.(\d+)", text):
        t = ve.INT(int(m[1]), int(m[2]))
    elif m := re.fullmatch(r"text ≤ ([\d,]+)", text):
        t = ve.TEXT(int(m[1].replace(",", "")))
    elif m := re.fullmatch(r"list of ≤ ([\d,]+) ids", text):
        t = ve.T("ids", int(m[1].replace(",", "")))
    elif m := re.fullmatch(r"`/(.*)/`", text):
        t = ve.RX(m[1].replace("\\|", "|"))
    else:
        values = re.findall(r'`"([^"`]*)"`', text)
        assert values and " \\| ".join(f'`"{v}"`' for v in values) == text, text
        t = ve.ONE_OF(*values)
    return t.or_null() if nullable else t


def _spec_table() -> dict[str, tuple[tuple[str, ...], dict[str, tuple[Any, bool]]]]:
    doc = SPEC.read_text(encoding="utf-8")
    block = doc.split("<!-- actions:begin -->")[1].split("<!-- actions:end -->")[0]
    table = {}
    for line in block.strip().splitlines()[2:]:
        cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        action, who, props = (c.strip() for c in cells)
        name = action.strip("`")
        roles = () if who.startswith("event 1 only") else tuple(r.strip() for r in who.split(","))
        parsed: dict[str, tuple[Any, bool]] = {}
        if props != "(none: `{}`)":
            for part in props.split("; "):
                m = re.fullmatch(r"`(\w+)`(\?)?: (.*)", part)
                assert m, part
                parsed[m[1]] = (_spec_type(m[3]), m[2] == "?")
        table[name] = (roles, parsed)
    return table


def test_action_table_equals_spec() -> None:
    spec = _spec_table()
    assert sorted(spec) == sorted(ve.ACTIONS)
    for name, (roles, props) in spec.items():
        assert ve.ACTIONS[name].roles == roles, name
        assert ve.ACTIONS[name].props == props, name


def test_types() -> None:
    err = ve.type_error
    assert err(1, ve.ID) is None and err(0, ve.ID) and err(True, ve.ID) and err(2**63, ve.ID)
    assert err(0, ve.COUNT) is None and err(-1, ve.COUNT)
    assert err(18, ve.INT(18, 100)) is None and err(17, ve.INT(18, 100)) and err(101, ve.INT(18, 100))
    assert err(False, ve.BOOL) is None and err(0, ve.BOOL)
    assert err("😀" * 200, ve.TEXT(200)) is None and err("a" * 201, ve.TEXT(200))
    assert err("\ud83d" * 200, ve.TEXT(200)) is None  # a lone surrogate counts as one character
    assert err("CASE-2026-0001", ve.CASE) is None and err("CASE-2026-001", ve.CASE) and err("xCASE-2026-0001", ve.CASE)
    assert err("CASE-2026-0001\n", ve.CASE)  # entirely: no trailing newline sneaks past
    assert err("CASE-٢٠٢٦-0001", ve.CASE)  # ASCII digits only
    assert err("a" * 64, ve.HPKE_PUBLIC) is None and err("a" * 2432, ve.HPKE_PUBLIC) is None
    assert err("a" * 65, ve.HPKE_PUBLIC)
    assert err([1, 1, 2], ve.IDS) is None and err([0], ve.IDS) and err([1] * 10_001, ve.IDS) and err([True], ve.IDS)
    assert err(["admin", "auditor"], ve.ROLES_T) is None
    assert err([], ve.ROLES_T) and err(["auditor", "admin"], ve.ROLES_T) and err(["admin", "admin"], ve.ROLES_T)
    assert err(["root"], ve.ROLES_T)
    assert err({}, ve.FILTER_T) is None and err({"since": AT, "actor_id": 3}, ve.FILTER_T) is None
    assert err({"who": 1}, ve.FILTER_T) and err({"since": "yesterday"}, ve.FILTER_T)
    assert err(None, ve.USERNAME) and err(None, ve.USERNAME.or_null()) is None
    assert err("user", ve.ONE_OF("user", "unknown user")) is None and err("User", ve.ONE_OF("user"))


def test_shape() -> None:
    props = ve.ACTIONS["record.viewed"].props
    assert ve.shape_error({"reference": "IV-2026-0001"}, props) is None
    assert ve.shape_error({"reference": "IV-2026-0001", "case": "CASE-2026-0001"}, props) is None
    assert ve.shape_error({}, props)
    assert ve.shape_error({"reference": "IV-2026-0001", "note": "x"}, props)
    assert ve.shape_error([], props)
    assert ve.shape_error({}, ve.ACTIONS["lock"].props) is None


# ------------------------------------------------------------------------------------------------
# File reading (§9)
# ------------------------------------------------------------------------------------------------


def _lines(text: str) -> Any:
    it = iter(text.splitlines(keepends=True))
    return lambda: next(it, None)


def test_csv_record() -> None:
    assert ve.parse_csv_record("a,,b\n", _lines("")) == ["a", "", "b"]
    assert ve.parse_csv_record('"a,b","x""y",\n', _lines("")) == ["a,b", 'x"y', ""]
    assert ve.parse_csv_record('1,"two\n', _lines('lines",3\n')) == ["1", "two\nlines", "3"]
    assert ve.parse_csv_record('"cr\r",x\n', _lines("")) == ["cr\r", "x"]
    for bad in ('a"b,c\n', '"a"b,c\n', "a,b\r\n"):
        with pytest.raises(ValueError):
            ve.parse_csv_record(bad, _lines(""))
    with pytest.raises(ValueError):
        ve.parse_csv_record('"open\n', _lines(""))


def test_last_line(tmp_path: Path) -> None:
    path = tmp_path / "f"
    for content, last in ((b"", None), (b"a\n", b"a"), (b"a\nbc\n", b"bc"), (b"a\nbc", b"bc"), (b"x" * 200000 + b"\n",
                                                                                                  b"x" * 200000)):
        path.write_bytes(content)
        with path.open("rb") as handle:
            assert ve.read_last_line(handle) == last


# ------------------------------------------------------------------------------------------------
# Whole exports, built here by following the spec
# ------------------------------------------------------------------------------------------------


class Log:
    """A tiny log written per §3–§8, to check the verifier end to end."""

    def __init__(self) -> None:
        self.keys: dict[int, Ed25519PrivateKey] = {}
        self.names: dict[int, str] = {}
        self.events: list[dict[str, Any]] = []
        self.vault_id = VAULT_ID
        self.clock = 0

    def _time(self) -> str:
        self.clock += 1
        return f"2026-11-21T15:20:{self.clock:02d}.000000Z"

    def new_key(self, uid: int) -> str:
        self.keys[uid] = Ed25519PrivateKey.generate()
        return self.keys[uid].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def add(self, actor: int, action: str, props: dict[str, Any], record_id: int | None = None,
            obj: str | None = None, key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
        seq = len(self.events) + 1
        prev = ve.genesis(self.vault_id) if seq == 1 else bytes.fromhex(self.events[-1]["hash"])
        at = self._time()
        text = json.dumps(props, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(ve.pre_image(prev, seq, at, actor, action, record_id, obj, text)).digest()
        signature = (key or self.keys[actor]).sign(digest)
        event = {"seq": seq, "at": at, "actor": self.names.get(actor), "actor_id": actor, "action": action,
                 "record_id": record_id, "object": obj, "properties": props, "prev_hash": prev.hex(),
                 "hash": digest.hex(), "signature": signature.hex()}
        self.events.append(event)
        return event

    def user(self, actor: int, uid: int, name: str, roles: list[str]) -> None:
        props = {"user_id": uid, "username": name, "roles": roles, "sign_public": self.new_key(uid),
                 "hpke_suite": "x25519", "hpke_public": "ab" * 32}
        if not self.events:
            self.names[uid] = name
            props.update(vault_id=self.vault_id, recovery_public="cd" * 32)
            self.add(uid, "vault.created", props)
        else:
            self.add(actor, "user.added", props)
            self.names[uid] = name

    def checkpoint(self, signer: int, seq: int | None = None, export: dict[str, Any] | None = None) -> dict[str, Any]:
        seq = seq or len(self.events)
        cp: dict[str, Any] = {"version": 2, "vault_id": self.vault_id, "anchor": self.events[0]["hash"], "seq": seq,
                              "head": self.events[seq - 1]["hash"], "at": self._time(), "signer_id": signer,
                              "signer": self.names[signer]}
        if export is not None:
            cp["export"] = export
        body = json.dumps(cp, sort_keys=True, separators=(",", ":")).encode()
        cp["signature"] = self.keys[signer].sign(b"IVCHECKPOINT2" + body).hex()
        return cp

    def export(self, signer: int, fmt: str = "jsonl", flt: dict[str, Any] | None = None) -> str:
        flt = flt or {}
        self.add(signer, "audit.exported", {"filter": flt, "format": fmt})
        seq = len(self.events)
        kept = [e for e in self.events if not flt or e["seq"] == seq
                or e["action"] in ("vault.created", "user.added", "user.rotated", "user.disabled")
                or all(e[k] == v for k, v in flt.items())]
        digest = hashlib.sha256(b"".join(bytes.fromhex(e["hash"]) for e in kept)).hexdigest()
        cp = self.checkpoint(signer, seq, {"format": fmt, "filter": flt, "events": len(kept), "digest": digest})
        if fmt == "jsonl":
            lines = [json.dumps(e, separators=(",", ":")) for e in kept] + [json.dumps({"checkpoint": cp})]
            return "".join(line + "\n" for line in lines)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ve.CSV_COLUMNS)
        for e in kept:
            writer.writerow([e["seq"], e["at"], e["actor"] or "", e["actor_id"], e["action"],
                             "" if e["record_id"] is None else e["record_id"], e["object"] or "",
                             json.dumps(e["properties"], sort_keys=True, separators=(",", ":")), e["prev_hash"],
                             e["hash"], e["signature"], ""])
        writer.writerow(["checkpoint", cp["at"], "", "", "", "", "", json.dumps(cp, sort_keys=True,
                         separators=(",", ":")), "", cp["head"], "", ""])
        return out.getvalue()


def small_log() -> Log:
    log = Log()
    log.user(1, 1, "alice", ["admin"])
    log.user(1, 2, "olga", ["auditor"])
    log.user(1, 3, "sam", ["staff"])
    log.add(3, "record.created", {"category": "other", "protected": False, "reference": "IV-2026-0001",
                                  "status": "draft", "urgency": "urgent"}, record_id=1, obj="IV-2026-0001")
    log.add(3, "record.viewed", {"reference": "IV-2026-0001"}, record_id=1, obj="IV-2026-0001")
    log.add(1, "contact.saved", {"contact_id": 4, "name": "Ré, \"the\" office\n😀"}, obj="c,4")
    return log


def run(tmp_path: Path, text: str, *args: str) -> Any:
    path = tmp_path / "export"
    path.write_bytes(text.encode("latin-1") if text.isascii() else text.encode())
    return ve.verify(str(path), list(args[1:]) if args else [], args[0] if args else None)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_honest_export_verifies(tmp_path: Path, fmt: str) -> None:
    log = small_log()
    result = run(tmp_path, log.export(2, fmt))
    assert result.ok, result.reason
    assert result.events == 7 and not result.filtered
    assert "only against itself" in result.reason
    result = run(tmp_path, log.export(2, fmt), log.events[0]["hash"])
    assert result.ok and "anchor" in result.reason


def test_filtered_export(tmp_path: Path) -> None:
    log = small_log()
    text = log.export(2, "jsonl", {"actor_id": 3})
    result = run(tmp_path, text)
    assert result.ok, result.reason
    assert result.filtered and result.events == 6


def test_tampering(tmp_path: Path) -> None:
    log = small_log()
    lines = log.export(2).splitlines(keepends=True)

    def verdict(new_lines: list[str]) -> tuple[bool, int | None]:
        r = run(tmp_path, "".join(new_lines))
        assert r.reason.count(".") >= 1 and "\n" not in r.reason
        return r.ok, r.first_bad_seq

    assert verdict(lines) == (True, None)
    assert verdict(lines[:4] + lines[5:]) == (False, 5)  # a deleted event 5
    assert verdict(lines[:4] + [lines[5], lines[4]] + lines[6:]) == (False, 5)  # 5 and 6 swapped
    assert verdict(lines[:5] + [lines[4]] + lines[5:]) == (False, 6)  # 5 twice
    assert verdict(lines[:-1]) == (False, None)  # no checkpoint
    assert verdict(lines + ["{}\n"]) == (False, None)  # something after it
    assert verdict(lines[:3] + [lines[3].replace('"IV-2026-0001"', '"IV-2026-0002"')] + lines[4:]) == (False, 4)
    marked = json.loads(lines[3])
    marked["malformed"] = True
    marked["properties"] = json.dumps(marked["properties"], sort_keys=True, separators=(",", ":"))
    assert verdict(lines[:3] + [json.dumps(marked) + "\n"] + lines[4:]) == (False, 4)  # hash holds; step 4 fails
    assert verdict(lines[:3] + [lines[3].replace('"actor":"sam"', '"actor":"alice"')] + lines[4:]) == (False, 4)
    upper = json.loads(lines[2])
    upper["hash"] = upper["hash"].upper()
    # A line not of the form §9 gives is a failure about the file: no event number.
    assert verdict(lines[:2] + [json.dumps(upper) + "\n"] + lines[3:]) == (False, None)
    assert verdict([]) == (False, None)
    assert verdict(["\x00\x01junk\n"]) == (False, None)
    assert verdict([lines[0][:40]]) == (False, None)  # truncated
    assert verdict([line.replace("\n", "\r\n") for line in lines])[0] is False


def test_reordered_members_and_escapes_are_values_only(tmp_path: Path) -> None:
    """§9: not the order of members, nor spaces, nor how a JSON string is escaped."""
    log = small_log()
    lines = log.export(2).splitlines(keepends=True)
    changed = []
    for line in lines:
        value = json.loads(line)
        changed.append(json.dumps(dict(reversed(list(value.items()))), indent=None, separators=(", ", ": ")) + "\n")
    assert run(tmp_path, "".join(changed)).ok


def test_role_rotation_disable(tmp_path: Path) -> None:
    log = small_log()
    # staff may not save contacts
    bad = Log()
    bad.user(1, 1, "alice", ["admin"])
    bad.user(1, 2, "olga", ["auditor"])
    bad.user(1, 3, "sam", ["staff"])
    bad.add(3, "contact.saved", {"contact_id": 1, "name": "x"})
    r = run(tmp_path, bad.export(2))
    assert (r.ok, r.first_bad_seq) == (False, 4)
    # alice rotates her own key: that event is signed with her old key, later ones with the new
    old = log.keys[1]
    props = {"user_id": 1, "username": "alice", "sign_public": log.new_key(1), "hpke_suite": "x25519",
             "hpke_public": "ab" * 32}
    log.add(1, "user.rotated", props, key=old)
    log.add(1, "lock", {})
    assert run(tmp_path, log.export(2)).ok
    log.add(1, "lock", {}, key=old)
    r = run(tmp_path, log.export(2))
    assert (r.ok, r.first_bad_seq) == (False, len(log.events) - 1)


def test_disabled_user(tmp_path: Path) -> None:
    log = small_log()
    log.add(1, "user.disabled", {"user_id": 3, "username": "sam"})
    log.add(3, "lock", {})
    r = run(tmp_path, log.export(2))
    assert (r.ok, r.first_bad_seq) == (False, len(log.events) - 1)


def test_kept_checkpoints(tmp_path: Path) -> None:
    log = small_log()
    kept = tmp_path / "kept"
    kept.write_text(json.dumps(log.checkpoint(2, 4)) + "\n")
    text = log.export(2)
    assert run(tmp_path, text, log.events[0]["hash"], str(kept)).ok
    # rolled back: the export ends before the kept checkpoint
    log.add(1, "lock", {})
    kept.write_text(json.dumps(log.checkpoint(2, len(log.events))) + "\n")
    r = run(tmp_path, text, log.events[0]["hash"], str(kept))
    assert (r.ok, r.first_bad_seq) == (False, None) and "cut back" in r.reason
    # a kept checkpoint of another head at seq 4
    other = log.checkpoint(2, 4)
    other["head"] = "00" * 32
    kept.write_text(json.dumps(other) + "\n")
    r = run(tmp_path, text, log.events[0]["hash"], str(kept))
    assert not r.ok  # the signature no longer holds or the head differs
    v1 = {"vault_id": log.vault_id, "seq": 4, "head": "00" * 32, "at": AT}
    kept.write_text(json.dumps(v1) + "\n")
    r = run(tmp_path, text, log.events[0]["hash"], str(kept))
    assert (r.ok, r.first_bad_seq) == (False, 4)
    kept.write_text(text)  # an export file as a kept checkpoint
    assert run(tmp_path, text, log.events[0]["hash"], str(kept)).ok
    r = run(tmp_path, text, "ff" * 32)
    assert (r.ok, r.first_bad_seq) == (False, 1)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = small_log()
    path = tmp_path / "e.jsonl"
    path.write_text(log.export(2))
    assert ve.main([str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and out["first_bad_seq"] is None and out["events"] == 7 and out["filtered"] is False
    assert ve.main([str(tmp_path / "missing")]) == 2
    assert ve.main([str(path), "--anchor", "AB" * 32]) == 2
    assert ve.main([]) == 2
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_filtered_export_with_an_event_the_filter_excludes(tmp_path: Path) -> None:
    """Step 11: an event the filter does not admit, though signed into the count and digest."""
    log = small_log()
    text = log.export(2, "jsonl", {"action": "record.viewed"})
    lines = text.splitlines(keepends=True)
    assert run(tmp_path, text).ok
    # rebuild the same export with record.created (seq 4) slipped in and re-signed by the auditor
    cp = json.loads(lines[-1])["checkpoint"]
    events = [json.loads(line) for line in lines[:-1]]
    events.insert(3, log.events[3])
    hashes = b"".join(bytes.fromhex(e["hash"]) for e in events)
    export = dict(cp["export"], events=len(events), digest=hashlib.sha256(hashes).hexdigest())
    new_cp = log.checkpoint(2, cp["seq"], export)
    body = "".join(json.dumps(e) + "\n" for e in events) + json.dumps({"checkpoint": new_cp}) + "\n"
    r = run(tmp_path, body)
    assert (r.ok, r.first_bad_seq) == (False, 4) and r.filtered


def test_csv_layout_details(tmp_path: Path) -> None:
    log = small_log()
    text = log.export(2, "csv")
    assert text.startswith(ve.CSV_HEADER + "\n")
    assert run(tmp_path, text).ok
    head, *rows = text.splitlines(keepends=True)
    r = run(tmp_path, head + "".join(rows[:-1]) + rows[-1].replace("checkpoint,", "checkpoint,x", 1))
    assert not r.ok and r.first_bad_seq is None
    r = run(tmp_path, text.replace("IV-2026-0001,", "IV-2026-0001 ,", 1))  # the object column
    assert (r.ok, r.first_bad_seq) == (False, 4)


@pytest.mark.parametrize("content", [b"", b"\n", b"\x89PNG\r\n\x1a\n\x00\x00", b"seq,at\n", b'{"seq":1}\n',
                                     b'{"checkpoint":{}}\n', b"[1]\n", b"{" * 100000 + b"\n", b"\xff\xfe{}\n"])
def test_junk_never_raises(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk"
    path.write_bytes(content)
    r = ve.verify(str(path), [], None)
    assert not r.ok and r.reason.endswith(".") and "\n" not in r.reason


# ------------------------------------------------------------------------------------------------
# §13 test vectors, when present: the pre-images, and every verdict
# ------------------------------------------------------------------------------------------------

VECTORS = ROOT / "tests" / "vectors" / "audit"
needs_vectors = pytest.mark.skipif(not (VECTORS / "verdicts.json").exists(), reason="no test vectors")


@needs_vectors
def test_vector_pre_images() -> None:
    events = {e["seq"]: e for e in json.loads((VECTORS / "events.json").read_text())}
    lines = [json.loads(line) for line in (VECTORS / "export.jsonl").read_text().splitlines()[:-1]]
    for line in lines:
        text = ve.canonical_json(line["properties"])
        image = ve.pre_image(bytes.fromhex(line["prev_hash"]), line["seq"], line["at"], line["actor_id"],
                             line["action"], line["record_id"], line["object"], text)
        expected = events[line["seq"]]
        assert text == expected["properties"]
        assert image.hex() == expected["pre_image"]
        assert hashlib.sha256(image).hexdigest() == expected["hash"] == line["hash"]


@needs_vectors
def test_vector_verdicts() -> None:
    verdicts = json.loads((VECTORS / "verdicts.json").read_text())
    for name, v in verdicts.items():
        kept = [str(VECTORS / c) for c in v.get("checkpoints", [])]
        result = ve.verify(str(VECTORS / v["file"]), kept, v.get("anchor"))
        assert (result.ok, result.first_bad_seq) == (v["ok"], v["first_bad_seq"]), (name, result.reason)
