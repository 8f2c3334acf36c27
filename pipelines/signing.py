"""The lab's release key: Ed25519 signatures on export manifests (the ``cryptography`` package).

A manifest lists every exported file's SHA-256, so it proves a set of files is the one it
describes — but anyone who changes a file can recompute the manifest. The signature closes
that gap: ``manifest.sig`` beside ``manifest.json`` holds an Ed25519 signature over the exact
bytes of ``manifest.json``, made with the lab's release key, and ``autoscope export verify DIR
--public-key FILE`` checks it against a public key the auditor received separately (never one
that travels with the files).

Keys live in ``<data-dir>/keys/``: ``release.key`` (the private key, PKCS#8 PEM, readable by
its owner only) and ``retired/release-<id>.key`` after a rotation, so that
``autoscope key release-public --key-id ID`` can still hand out an old release's public key.
The key id is the first 16 hex digits of the SHA-256 of the raw 32-byte public key.

Decisions: the first export creates the release key when there is none (as the collector does
with the pseudonym key), and says so; Ed25519 signatures are deterministic, so the same
manifest signed by the same key gives the same ``manifest.sig`` bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

SIGNATURE_FILE = "manifest.sig"
ALGORITHM = "Ed25519"
KEY_FILE = "release.key"


class ReleaseKeyError(RuntimeError):
    """A release key is missing, already exists, or cannot be read (the message says which)."""


@dataclasses.dataclass(frozen=True)
class ReleaseKey:
    private: Ed25519PrivateKey
    path: Path

    @property
    def key_id(self) -> str:
        return key_id_of(self.private.public_key())

    @property
    def signer(self) -> str:
        return f"release key {self.key_id}"

    def public_pem(self) -> str:
        return public_pem(self.private.public_key())


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _keys_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "keys"


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, never overwritten
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ReleaseKeyError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReleaseKeyError(f"{path}: not an Ed25519 key")
    return key


def load(data_dir: Path) -> ReleaseKey | None:
    """The release key in force, or None when none was created yet."""
    path = _keys_dir(data_dir) / KEY_FILE
    return ReleaseKey(_read_private(path), path) if path.exists() else None


def create(data_dir: Path) -> ReleaseKey:
    """Create the release key; refused (:class:`ReleaseKeyError`) when one exists."""
    path = _keys_dir(data_dir) / KEY_FILE
    if path.exists():
        raise ReleaseKeyError(
            f"a release key already exists ({load(data_dir).key_id}); `autoscope key release-rotate` replaces it"
        )
    _write_private(path, Ed25519PrivateKey.generate())
    return ReleaseKey(_read_private(path), path)


def load_or_create(data_dir: Path) -> tuple[ReleaseKey, bool]:
    """The release key in force, created first when there is none; True when created now."""
    found = load(data_dir)
    return (found, False) if found is not None else (create(data_dir), True)


def rotate(data_dir: Path) -> tuple[str | None, ReleaseKey]:
    """Retire the key in force to ``keys/retired/`` and create a new one: (old id, new key)."""
    old = load(data_dir)
    if old is not None:
        retired = _keys_dir(data_dir) / "retired" / f"release-{old.key_id}.key"
        retired.parent.mkdir(parents=True, exist_ok=True)
        os.replace(old.path, retired)
    return (old.key_id if old else None), create(data_dir)


def public_key_pem(data_dir: Path, key_id: str | None = None) -> str:
    """The PEM public key in force, or of the (current or retired) key ``key_id``."""
    current = load(data_dir)
    if key_id is None or (current is not None and current.key_id == key_id):
        if current is None:
            raise ReleaseKeyError("no release key yet: `autoscope key release-create` makes one")
        return current.public_pem()
    retired = _keys_dir(data_dir) / "retired" / f"release-{key_id}.key"
    if not retired.exists():
        raise ReleaseKeyError(f"no release key {key_id!r} in {_keys_dir(data_dir)} (current or retired)")
    return public_pem(_read_private(retired).public_key())


def sign_manifest(out_dir: Path, key: ReleaseKey, manifest_name: str = "manifest.json") -> dict:
    """Write ``manifest.sig`` for ``out_dir/manifest_name``; returns what it holds."""
    data = (Path(out_dir) / manifest_name).read_bytes()
    record = {
        "algorithm": ALGORITHM,
        "signed_file": manifest_name,
        "manifest_sha256": hashlib.sha256(data).hexdigest(),
        "key_id": key.key_id,
        "signer": key.signer,
        "signature": base64.b64encode(key.private.sign(data)).decode("ascii"),
    }
    (Path(out_dir) / SIGNATURE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def read_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM public key from ``path``; :class:`ReleaseKeyError` names what is wrong with it."""
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except FileNotFoundError:
        raise ReleaseKeyError(f"{path}: no such file") from None
    except (ValueError, TypeError) as exc:
        raise ReleaseKeyError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ReleaseKeyError(f"{path}: not an Ed25519 public key")
    return key


def check_signature(out_dir: Path, public: Ed25519PublicKey, manifest_name: str = "manifest.json") -> list[str]:
    """Problems with ``manifest.sig`` against ``public`` (empty: the manifest is the signed one)."""
    sig_path = Path(out_dir) / SIGNATURE_FILE
    if not sig_path.is_file():
        return [f"{SIGNATURE_FILE}: missing, so nothing proves who made {manifest_name}"]
    try:
        record = json.loads(sig_path.read_text(encoding="utf-8"))
        signature = base64.b64decode(record["signature"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{SIGNATURE_FILE}: not a valid signature record ({exc})"]
    expected = key_id_of(public)
    problems = []
    if record.get("key_id") != expected:
        problems.append(
            f"{SIGNATURE_FILE}: says it was signed by key {record.get('key_id')!r}, "
            f"but the public key given is {expected}"
        )
    try:
        public.verify(signature, (Path(out_dir) / manifest_name).read_bytes())
    except InvalidSignature:
        problems.append(
            f"{manifest_name}: the signature does not match it under key {expected}: the manifest "
            "was changed after it was signed, or another key signed it"
        )
    except FileNotFoundError:
        problems.append(f"{manifest_name}: missing")
    return problems
