"""The local user pools' token signing key: one RSA key per stack, never moto's published one.

moto signs every Cognito token with the private key it ships in its source
(`moto/cognitoidp/resources/jwks-private.json`): anyone can forge a token with it. The local cloud
signs with a key of its own instead, made at the first start and kept in the state directory
(`cognito-signing-key.pem`, readable by its owner only), so tokens stay valid across a restart.
The hook `cognito_signing_key` (hooks.py) makes moto sign ID and access tokens with the current
key and publish its public half at `/<pool id>/.well-known/jwks.json`; the local gateway's
authorizer trusts that key only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_FILE = "cognito-signing-key.pem"
KEY_BITS = 2048


@dataclass(frozen=True)
class SigningKey:
    """An RSA key and its key id (the RFC 7638 thumbprint of its public half)."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls.of(rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS))

    @classmethod
    def of(cls, private_key: rsa.RSAPrivateKey) -> SigningKey:
        return cls(kid=_thumbprint(private_key.public_key()), private_key=private_key)

    @classmethod
    def from_pem(cls, data: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the local signing key is not an RSA key")
        return cls.of(key)

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_jwk(self) -> dict[str, str]:
        jwk: dict[str, str] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"alg": "RS256", "e": jwk["e"], "kid": self.kid, "kty": "RSA", "n": jwk["n"], "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set Cognito publishes at `/<pool id>/.well-known/jwks.json`."""
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A token with Cognito's header (`kid`, `alg` RS256, no `typ`)."""
        return jwt.encode(dict(claims), self.private_key, algorithm="RS256", headers={"kid": self.kid, "typ": None})


def _thumbprint(public_key: rsa.RSAPublicKey) -> str:
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_or_create(directory: Path) -> SigningKey:
    """The stack's key from `directory`, made there (mode 0600) on first use."""
    path = directory / KEY_FILE
    if path.is_file():
        return SigningKey.from_pem(path.read_bytes())
    directory.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    scratch = directory / f".{KEY_FILE}.{os.getpid()}.tmp"
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.pem())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(scratch, path)  # never replaces a key another start made meanwhile
        except FileExistsError:
            return SigningKey.from_pem(path.read_bytes())
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
    return key


_LOCK = threading.Lock()
_CURRENT: list[SigningKey] = []


def use(key: SigningKey) -> None:
    """Sign and verify with `key` from now on (hooks.use_signing_key also republishes the JWKS)."""
    with _LOCK:
        _CURRENT[:] = [key]


def current() -> SigningKey:
    """The key in use; a key made for this process when none was set (never moto's)."""
    with _LOCK:
        if not _CURRENT:
            _CURRENT.append(SigningKey.generate())
        return _CURRENT[0]
