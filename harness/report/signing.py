"""Ed25519 signatures of a bundle's SHA256SUMS in OpenSSH's SSHSIG format.

A reviewer can check them without smis-harness:
`ssh-keygen -Y verify -f allowed_signers -I <signer> -n smis-harness -s SHA256SUMS.sig < SHA256SUMS`.
Keys: an OpenSSH or PEM (PKCS#8) Ed25519 private key to sign; an OpenSSH public key line (as in
`id_ed25519.pub` or `allowed_signers`) or a PEM public key to verify.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

NAMESPACE = "smis-harness"
_MAGIC = b"SSHSIG"
_HASH = "sha512"
_ARMOR = ("-----BEGIN SSH SIGNATURE-----", "-----END SSH SIGNATURE-----")


class SigningError(Exception):
    """A key or signature cannot be used; the message says why."""


def sign(message: bytes, key_path: Path | str, passphrase: bytes | None = None) -> str:
    """The armored SSHSIG signature of `message` with the Ed25519 private key at `key_path`."""
    key = _private_key(Path(key_path), passphrase)
    public = _ssh_public_blob(key.public_key())
    signature = key.sign(_signed_data(message))
    blob = (_MAGIC + struct.pack(">I", 1) + _string(public) + _string(NAMESPACE.encode()) + _string(b"")
            + _string(_HASH.encode()) + _string(_string(b"ssh-ed25519") + _string(signature)))  # fmt: skip
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "\n".join([_ARMOR[0], *lines, _ARMOR[1]]) + "\n"


def verify(message: bytes, armored: str, public_key: Path | str | None) -> str:
    """Check an armored SSHSIG signature of `message`; returns the signer's key fingerprint
    (`SHA256:...`). With `public_key`, the signature must be by that key; raises SigningError otherwise."""
    fields = _parse(armored)
    signer = _public_from_blob(fields["public"])
    if fields["namespace"] != NAMESPACE.encode() or fields["hash"] != _HASH.encode():
        raise SigningError(f"signature is for namespace {fields['namespace']!r} / hash {fields['hash']!r}, "
                           f"not {NAMESPACE!r} / {_HASH!r}")  # fmt: skip
    if public_key is not None:
        trusted = _public_key(Path(public_key))
        if _ssh_public_blob(trusted) != fields["public"]:
            raise SigningError(f"signed by another key ({fingerprint(signer)}), not by {fingerprint(trusted)}")
    algorithm, raw = _read_strings(fields["signature"], 2)
    if algorithm != b"ssh-ed25519":
        raise SigningError(f"unsupported signature algorithm {algorithm.decode(errors='replace')}")
    try:
        signer.verify(raw, _signed_data(message))
    except InvalidSignature:
        raise SigningError(f"the signature does not match the file (key {fingerprint(signer)})") from None
    return fingerprint(signer)


def fingerprint(key: Ed25519PublicKey) -> str:
    digest = hashlib.sha256(_ssh_public_blob(key)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


# --------------------------------------------------------------------------- wire format


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _read_strings(blob: bytes, count: int) -> list[bytes]:
    out, offset = [], 0
    for _ in range(count):
        if offset + 4 > len(blob):
            raise SigningError("signature blob is cut short")
        (size,) = struct.unpack(">I", blob[offset : offset + 4])
        offset += 4
        if offset + size > len(blob):
            raise SigningError("signature blob is cut short")
        out.append(blob[offset : offset + size])
        offset += size
    return out


def _signed_data(message: bytes) -> bytes:
    digest = hashlib.sha512(message).digest()
    return _MAGIC + _string(NAMESPACE.encode()) + _string(b"") + _string(_HASH.encode()) + _string(digest)


def _parse(armored: str) -> dict[str, bytes]:
    lines = [line.strip() for line in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _ARMOR[0] or lines[-1] != _ARMOR[1]:
        raise SigningError("not an SSH signature (BEGIN/END SSH SIGNATURE lines missing)")
    try:
        blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError:
        raise SigningError("SSH signature is not valid base64") from None
    if not blob.startswith(_MAGIC) or len(blob) < 10 or struct.unpack(">I", blob[6:10])[0] != 1:
        raise SigningError("not an SSHSIG version 1 signature")
    public, namespace, _reserved, hash_name, signature = _read_strings(blob[10:], 5)
    return {"public": public, "namespace": namespace, "hash": hash_name, "signature": signature}


def _ssh_public_blob(key: Ed25519PublicKey) -> bytes:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _string(b"ssh-ed25519") + _string(raw)


def _public_from_blob(blob: bytes) -> Ed25519PublicKey:
    algorithm, raw = _read_strings(blob, 2)
    if algorithm != b"ssh-ed25519" or len(raw) != 32:
        raise SigningError(f"unsupported signer key type {algorithm.decode(errors='replace')} (Ed25519 only)")
    return Ed25519PublicKey.from_public_bytes(raw)


# --------------------------------------------------------------------------- key files


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _private_key(path: Path, passphrase: bytes | None) -> Ed25519PrivateKey:
    data = _read(path, "signing key")
    loaders = (serialization.load_ssh_private_key, serialization.load_pem_private_key)
    for load in loaders:
        try:
            key = load(data, password=passphrase)
        except TypeError as exc:  # encrypted key without a passphrase, or the reverse
            raise SigningError(f"{path}: {exc}") from None
        except ValueError:
            continue
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningError(f"{path}: a {type(key).__name__} key; bundles are signed with Ed25519 keys only "
                               "(ssh-keygen -t ed25519)")  # fmt: skip
        return key
    raise SigningError(f"{path}: not an OpenSSH or PEM private key")


def _public_key(path: Path) -> Ed25519PublicKey:
    data = _read(path, "public key").strip()
    words = data.split()
    # an allowed_signers line starts with the principal; find the key type among its words
    if b"ssh-ed25519" in words and words.index(b"ssh-ed25519") + 1 < len(words):
        start = words.index(b"ssh-ed25519")
        data = b" ".join(words[start : start + 2])
    for load in (serialization.load_ssh_public_key, serialization.load_pem_public_key):
        try:
            key = load(data)
        except (ValueError, TypeError):
            continue
        if not isinstance(key, Ed25519PublicKey):
            raise SigningError(f"{path}: a {type(key).__name__}; bundles are signed with Ed25519 keys only")
        return key
    raise SigningError(f"{path}: not an OpenSSH or PEM public key")
