"""Pseudonyms: keyed, stable, case-insensitive, and unlinkable across a key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscope.collector.pseudonymize import (
    KEY_ENV,
    Pseudonymizer,
    load_or_create_key,
    rotate_key,
)


def test_key_is_generated_once_with_private_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    first = load_or_create_key(tmp_path)
    assert load_or_create_key(tmp_path) == first
    assert (tmp_path / "keys" / "pseudonym.key").stat().st_mode & 0o777 == 0o600


def test_same_person_same_pseudonym_and_key_never_shown() -> None:
    pseudonym_of = Pseudonymizer(bytes(range(32)))
    assert pseudonym_of("Ada@Lab.org ") == pseudonym_of("ada@lab.org")
    assert pseudonym_of("ada@lab.org") != pseudonym_of("alan@lab.org")
    assert pseudonym_of("ada@lab.org").startswith(pseudonym_of.key_id + ":")
    assert bytes(range(32)).hex() not in repr(pseudonym_of)
    # a pseudonym of this key passes through unchanged (quarantine replays)
    assert pseudonym_of(pseudonym_of("ada@lab.org")) == pseudonym_of("ada@lab.org")


def test_rotation_changes_pseudonyms_and_retires_the_old_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    old = Pseudonymizer(load_or_create_key(tmp_path))
    old_id, new_id = rotate_key(tmp_path)
    new = Pseudonymizer(load_or_create_key(tmp_path))
    assert (old_id, new_id) == (old.key_id, new.key_id) and old_id != new_id
    assert old("ada@lab.org") != new("ada@lab.org")
    retired_key = (tmp_path / "keys" / "retired" / f"{old_id}.key").read_text()
    retired = Pseudonymizer(bytes.fromhex(retired_key))
    assert retired("ada@lab.org") == old("ada@lab.org"), "whoever holds both keys can link"


def test_key_from_environment_must_be_hex(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "not-hex")
    with pytest.raises(ValueError, match="must be hex"):
        load_or_create_key(tmp_path)


def test_collect_refuses_to_start_without_the_labs_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several collectors each generating a key would give one person several pseudonyms."""
    from autoscope.cli import main

    monkeypatch.delenv("AUTOSCOPE_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("AUTOSCOPE_PSEUDONYM_KEY_FILE", raising=False)
    assert main(["collect", "--data-dir", str(tmp_path), "--kafka-bootstrap", "127.0.0.1:9"]) == 2
    assert "needs the lab's pseudonym key" in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "keys").exists(), "no key of its own was made"
