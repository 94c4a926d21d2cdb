"""Secrets sealed at rest with a key that never enters the database (envelope encryption).

Every secret hookline stores (source signing secrets and verify tokens, endpoint signing
secrets, Graph access tokens) is sealed by the process that receives it (the CLI) and opened
by the process that uses it (the ingress, the runner). A sealed value is

    hlenc1.<key id>.<wrapped data key>.<ciphertext>      (base64url parts)

a fresh 256-bit data key encrypts the secret (AES-GCM), and the deployment's key (the key
encryption key, "KEK") wraps the data key (AES-GCM, the key id as associated data). The KEKs
come from HOOKLINE_SECRET_KEY_FILE (a file) or HOOKLINE_SECRET_KEYS (the same text): one key
per line, `<id>:<base64url of 32 bytes>`, the first one seals, every one opens. Rotation: put
a new key first, restart, `hookline secrets rekey` (re-wraps every data key under it), then
drop the old line. A value that is not sealed (stored before sealing, or by SQL directly) is
read as it is; `hookline secrets status` counts them and `rekey` seals them.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets as random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hookline.errors import HooklineError

PREFIX = "hlenc1"
KEY_FILE_ENV = "HOOKLINE_SECRET_KEY_FILE"
KEYS_ENV = "HOOKLINE_SECRET_KEYS"
NO_KEY = f"no secret key: set {KEY_FILE_ENV} (or {KEYS_ENV}); `hookline secrets new-key --file F` makes one"


class SecretKeyError(HooklineError):
    """A secret cannot be sealed or opened: no key, an unknown key id, or a damaged value."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX + ".")


def new_signing_secret() -> str:
    """A Standard Webhooks signing secret (whsec_ and 24 random bytes, base64), sealed: made
    here rather than in the database, which only ever sees it sealed."""
    return sealer().seal("whsec_" + base64.b64encode(random.token_bytes(24)).decode())


def new_key_line() -> str:
    """A new key line: a random id and 32 random bytes."""
    return f"k{random.token_hex(4)}:{_b64(AESGCM.generate_key(bit_length=256))}"


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]  # id -> KEK, in file order
    active: str  # the id that seals

    @classmethod
    def parse(cls, text: str) -> Keyring:
        keys: dict[str, bytes] = {}
        for n, line in enumerate(text.replace(",", "\n").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kid, sep, b64 = line.partition(":")
            try:
                key = _unb64(b64.strip()) if sep else b""
            except ValueError:
                key = b""
            if len(key) != 32 or not kid.isalnum():
                raise SecretKeyError(f"secret key line {n}: expected <id>:<base64url of 32 bytes>")
            keys[kid] = key
        if not keys:
            raise SecretKeyError("the secret key file holds no key")
        return cls(keys, next(iter(keys)))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Keyring | None:
        """The keyring the environment names, or None when it names none."""
        if environ.get(KEY_FILE_ENV):
            path = Path(environ[KEY_FILE_ENV])
            try:
                return cls.parse(path.read_text())
            except OSError as exc:
                raise SecretKeyError(f"cannot read {KEY_FILE_ENV} {path}: {exc.strerror}") from exc
        if environ.get(KEYS_ENV):
            return cls.parse(environ[KEYS_ENV])
        return None

    def seal(self, secret: str) -> str:
        data_key = AESGCM.generate_key(bit_length=256)
        n1, n2 = os.urandom(12), os.urandom(12)
        wrapped = AESGCM(self.keys[self.active]).encrypt(n1, data_key, self.active.encode())
        sealed = AESGCM(data_key).encrypt(n2, secret.encode(), PREFIX.encode())
        return ".".join((PREFIX, self.active, _b64(n1 + wrapped), _b64(n2 + sealed)))

    def _data_key(self, value: str) -> tuple[bytes, bytes]:
        try:
            _prefix, kid, wrapped, sealed = value.split(".")
            kek = self.keys.get(kid)
            if kek is None:
                raise SecretKeyError(f"a secret is sealed with key {kid}, which the key file lacks")
            raw = _unb64(wrapped)
            return AESGCM(kek).decrypt(raw[:12], raw[12:], kid.encode()), _unb64(sealed)
        except (ValueError, InvalidTag) as exc:
            raise SecretKeyError("a sealed secret is damaged or sealed with another key") from exc

    def open(self, value: str) -> str:
        if not is_sealed(value):
            return value
        data_key, sealed = self._data_key(value)
        try:
            return AESGCM(data_key).decrypt(sealed[:12], sealed[12:], PREFIX.encode()).decode()
        except InvalidTag as exc:
            raise SecretKeyError("a sealed secret is damaged") from exc

    def rewrap(self, value: str) -> str:
        """The value sealed under the active key: a sealed value keeps its ciphertext and gets
        its data key wrapped anew; a plain value is sealed."""
        if not is_sealed(value):
            return self.seal(value)
        if value.split(".")[1] == self.active:
            return value
        data_key, sealed = self._data_key(value)
        n1 = os.urandom(12)
        wrapped = AESGCM(self.keys[self.active]).encrypt(n1, data_key, self.active.encode())
        return ".".join((PREFIX, self.active, _b64(n1 + wrapped), _b64(sealed)))


def sealer() -> Keyring:
    """The keyring that seals what the CLI stores; without one, nothing is stored."""
    keyring = Keyring.from_environment()
    if keyring is None:
        raise SecretKeyError(NO_KEY)
    return keyring


class Opener:
    """Opens the secrets the ingress and the runner read. Without a key, plain values still
    work and a sealed one fails with the one-line NO_KEY error."""

    def __init__(self, keyring: Keyring | None) -> None:
        self.keyring = keyring

    @classmethod
    def from_environment(cls) -> Opener:
        return cls(Keyring.from_environment())

    def __call__(self, value: str) -> str:
        if self.keyring is None:
            if is_sealed(value):
                raise SecretKeyError(NO_KEY)
            return value
        return self.keyring.open(value)


@functools.cache
def opener() -> Opener:
    """The process's opener, from its environment (read once)."""
    return Opener.from_environment()
