"""Checking a pasted SSH host key (`ssh.host_key`): known key type, valid base64, a complete key of that type."""

from __future__ import annotations

from base64 import b64decode
from binascii import Error as Base64Error

_SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


def _host_key_problem(line: str) -> str | None:
    parts = line.split()
    if len(parts) < 2:
        return "expected '<key type> <base64 key>', e.g. the output of `ssh-keyscan -t ed25519 HOST` without the host"
    key_type, blob = parts[0], parts[1]
    if key_type not in _SSH_KEY_TYPES:
        if len(parts) >= 3 and parts[1] in _SSH_KEY_TYPES:
            return "remove the leading host name: give only '<key type> <base64 key>' (as in ssh-keyscan output)"
        return f"unknown SSH key type {key_type!r}; expected one of {', '.join(_SSH_KEY_TYPES)}"
    try:
        raw = b64decode(blob, validate=True)
    except (Base64Error, ValueError):
        return "the key is not valid base64 (was it cut short when pasting?)"
    fields = _ssh_strings(raw)
    if fields is None or len(fields) < 2:
        return "the key is incomplete (was it cut short when pasting?)"
    if fields[0] != key_type.encode():
        return f"the base64 key is not a key of type {key_type} (pasted with the wrong type?)"
    return None


def _ssh_strings(blob: bytes) -> list[bytes] | None:
    """An SSH public key blob as its length-prefixed strings; None when it is cut short."""
    out: list[bytes] = []
    pos = 0
    while pos < len(blob):
        if pos + 4 > len(blob):
            return None
        size = int.from_bytes(blob[pos : pos + 4], "big")
        pos += 4
        if pos + size > len(blob):
            return None
        out.append(blob[pos : pos + size])
        pos += size
    return out
