"""Encryption at rest: personal fields sealed with AES-256-GCM, names indexed by keyed hashes.

The key material is `DATA_KEY`: the path of a key file (one base64 key per line; the first
is the current key, the lines after it are older keys still read while a rotation runs) or
the keys themselves, base64, separated by commas. From each 32-byte master key HKDF-SHA256
derives a field key (AES-GCM) and an index key (HMAC-SHA256), so a sealed field and an
index entry never share a key.

A sealed text is `hw1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`; the key id (8 hex
digits of the master key's SHA-256) says which key opens it, so the keys can be rotated
while the bot runs (`python -m bot keys rotate`, see bot/keys.py). Sealed bytes carry the
same in binary form.

The key ring is one per process (`install`): the column types below are shared by every
engine, and a bot process serves one database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import LargeBinary, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

TEXT_PREFIX = "hw1:"
BYTES_PREFIX = b"hw1\x00"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_BYTES = 4
RELOAD_SECONDS = 1.0  # at most this often, an unknown key id re-reads the key file


class DataKeyError(Exception):
    """A key problem, said in one line for the operator: the bot does not start."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@dataclass(frozen=True)
class DataKey:
    master: bytes
    id: str = field(init=False)
    raw_id: bytes = field(init=False)
    aead: AESGCM = field(init=False, repr=False)
    index_key: bytes = field(init=False, repr=False)
    backup_aead: AESGCM = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.master) != KEY_BYTES:
            raise DataKeyError(f"a data key must be {KEY_BYTES} bytes, base64-encoded")
        raw_id = hashlib.sha256(self.master).digest()[:KEY_ID_BYTES]
        object.__setattr__(self, "raw_id", raw_id)
        object.__setattr__(self, "id", raw_id.hex())
        object.__setattr__(self, "aead", AESGCM(_derive(self.master, b"homeward/fields/v1")))
        object.__setattr__(self, "index_key", _derive(self.master, b"homeward/index/v1"))
        object.__setattr__(self, "backup_aead", AESGCM(_derive(self.master, b"homeward/backup/v1")))

    def encoded(self) -> str:
        return base64.b64encode(self.master).decode("ascii")


def generate_key() -> DataKey:
    return DataKey(os.urandom(KEY_BYTES))


def parse_keys(text: str) -> list[DataKey]:
    """Keys in base64 (standard or URL-safe), one per line or separated by commas;
    `#` starts a comment."""
    keys = []
    values = [part for line in text.splitlines() for part in line.split("#", 1)[0].split(",")]
    for value in (part.strip() for part in values):
        if not value:
            continue
        try:
            master = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_")
        except (binascii.Error, ValueError):
            raise DataKeyError("DATA_KEY holds something that is not a base64 key") from None
        keys.append(DataKey(master))
    if not keys:
        raise DataKeyError("DATA_KEY holds no key")
    return keys


def read_key_file(path: Path) -> list[DataKey]:
    try:
        return parse_keys(path.read_text(encoding="ascii"))
    except OSError as exc:
        raise DataKeyError(f"cannot read the key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataKeyError(f"the key file {path} is not a base64 key file") from None


def write_key_file(path: Path, keys: Sequence[DataKey]) -> None:
    """Atomically, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    lines = [
        "# Homeward data keys: the first is current, the others are older keys still read.",
        "# Keep a copy somewhere safe: without it the personal data cannot be read.",
        *(key.encoded() for key in keys),
    ]
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fp:
        fp.write("\n".join(lines) + "\n")
        fp.flush()
        os.fsync(fp.fileno())
    os.replace(temporary, path)


class KeyRing:
    """The keys this process can use: seals with the first, opens with any."""

    def __init__(self, keys: Sequence[DataKey], source: Path | None = None) -> None:
        if not keys:
            raise DataKeyError("DATA_KEY holds no key")
        self._lock = threading.Lock()
        self.source = source
        self._set(keys)
        self._checked_at = time.monotonic()
        self._mtime = self._file_mtime()

    def _file_mtime(self) -> float | None:
        try:
            return self.source.stat().st_mtime if self.source is not None else None
        except OSError:
            return None

    def _set(self, keys: Sequence[DataKey]) -> None:
        self.keys: tuple[DataKey, ...] = tuple(keys)
        self.primary = self.keys[0]
        self._by_id = {key.id: key for key in self.keys}
        self._by_raw_id = {key.raw_id: key for key in self.keys}

    def reload(self) -> bool:
        """Re-read the key file (after `keys rotate` changed it); True if the keys changed."""
        if self.source is None:
            return False
        with self._lock:
            self._checked_at = time.monotonic()
            keys = read_key_file(self.source)
            if [k.id for k in keys] == [k.id for k in self.keys]:
                return False
            self._set(keys)
            return True

    def maybe_reload(self) -> None:
        """At most once a second: re-read the key file if it changed. A rotation adds its
        new key this way to every running process before it re-seals anything."""
        if self.source is None or time.monotonic() - self._checked_at < RELOAD_SECONDS:
            return
        self._checked_at = time.monotonic()
        mtime = self._file_mtime()
        if mtime is not None and mtime != self._mtime:
            self._mtime = mtime
            self.reload()

    def key(self, key_id: str) -> DataKey:
        key = self._by_id.get(key_id)
        if key is None and self.source is not None:
            self.reload()  # a rotation may have added it since this process started
            key = self._by_id.get(key_id)
        if key is None:
            raise DataKeyError(
                f"a field was sealed with key {key_id}, which DATA_KEY does not hold"
            )
        return key

    # --- text -------------------------------------------------------------------------
    def seal(self, text: str) -> str:
        self.maybe_reload()
        key = self.primary
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.aead.encrypt(nonce, text.encode("utf-8"), None)
        return f"{TEXT_PREFIX}{key.id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def open(self, token: str) -> str:
        if not token.startswith(TEXT_PREFIX):
            raise DataKeyError("a personal field is stored unencrypted: run the migrations")
        key_id, _, body = token[len(TEXT_PREFIX) :].partition(":")
        blob = base64.urlsafe_b64decode(body)
        try:
            plain = self.key(key_id).aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], None)
        except InvalidTag:
            raise DataKeyError(f"a field sealed with key {key_id} does not open") from None
        return plain.decode("utf-8")

    @staticmethod
    def key_id_of(token: str) -> str | None:
        if not token.startswith(TEXT_PREFIX):
            return None
        return token[len(TEXT_PREFIX) :].partition(":")[0]

    # --- bytes ------------------------------------------------------------------------
    def seal_bytes(self, data: bytes) -> bytes:
        self.maybe_reload()
        key = self.primary
        nonce = os.urandom(NONCE_BYTES)
        return BYTES_PREFIX + key.raw_id + nonce + key.aead.encrypt(nonce, data, None)

    def open_bytes(self, blob: bytes) -> bytes:
        if not blob.startswith(BYTES_PREFIX):
            raise DataKeyError("a personal file is stored unencrypted: run the migrations")
        start = len(BYTES_PREFIX)
        raw_id = blob[start : start + KEY_ID_BYTES]
        key = self._by_raw_id.get(raw_id) or self.key(raw_id.hex())
        nonce = blob[start + KEY_ID_BYTES : start + KEY_ID_BYTES + NONCE_BYTES]
        try:
            return key.aead.decrypt(nonce, blob[start + KEY_ID_BYTES + NONCE_BYTES :], None)
        except InvalidTag:
            raise DataKeyError(f"a file sealed with key {key.id} does not open") from None

    @staticmethod
    def bytes_key_id(blob: bytes) -> str | None:
        if not blob.startswith(BYTES_PREFIX):
            return None
        return blob[len(BYTES_PREFIX) : len(BYTES_PREFIX) + KEY_ID_BYTES].hex()

    # --- blind index --------------------------------------------------------------------
    def blind(self, value: str, key: DataKey | None = None) -> str:
        """The index form of a name key: a keyed hash, 20 characters, never the name."""
        if key is None:
            self.maybe_reload()
        digest = hmac.new((key or self.primary).index_key, value.encode("utf-8"), "sha256")
        return base64.urlsafe_b64encode(digest.digest()[:15]).decode("ascii")

    def blinds(self, value: str) -> list[str]:
        """Its index forms under every key: entries written before a rotation finished."""
        return [self.blind(value, key) for key in self.keys]


_ring: KeyRing | None = None


def install(ring: KeyRing) -> KeyRing:
    global _ring
    _ring = ring
    return ring


def installed() -> KeyRing:
    if _ring is None:
        raise DataKeyError("no data key is loaded (DATA_KEY)")
    return _ring


def seal_json(text: str | None) -> str | None:
    return None if text is None else installed().seal(text)


def open_json(token: str | None) -> str | None:
    return None if token is None else installed().open(token)


class EncryptedText(TypeDecorator[str]):
    """A personal text: sealed on the way in, opened on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else installed().seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else installed().open(value)


class EncryptedBytes(TypeDecorator[bytes]):
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else installed().seal_bytes(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else installed().open_bytes(bytes(value))


class EncryptedDate(TypeDecorator[date]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: date | None, dialect: Dialect) -> str | None:
        return None if value is None else installed().seal(value.isoformat())

    def process_result_value(self, value: str | None, dialect: Dialect) -> date | None:
        return None if value is None else date.fromisoformat(installed().open(value))


def key_file_beside(database_url: str) -> Path | None:
    """`<database>.key` beside a SQLite file; None for other databases and `:memory:`."""
    if not database_url.startswith("sqlite"):
        return None
    _, _, path = database_url.partition(":///")
    if not path or path.startswith(":memory:") or "mode=memory" in path:
        return None
    return Path(path.split("?", 1)[0]).with_suffix(".key")


def load_key_ring(data_key: str | None, database_url: str) -> tuple[KeyRing, str | None]:
    """The key ring from DATA_KEY; without it, for a SQLite file, the key file beside it,
    made on first start. Returns the ring and a line to tell the operator, if any."""
    value = (data_key or "").strip()
    if value:
        path = Path(value).expanduser()
        if path.is_file():
            return KeyRing(read_key_file(path), source=path), None
        try:
            return KeyRing(parse_keys(value)), None
        except DataKeyError:
            if value.endswith(".key") or value.startswith(("/", ".", "~")):
                raise DataKeyError(
                    f"DATA_KEY names a key file that does not exist: {path}"
                ) from None
            raise
    beside = key_file_beside(database_url)
    if beside is None:
        if database_url.startswith("sqlite"):
            return KeyRing([generate_key()]), None  # an in-memory database dies with us
        raise DataKeyError(
            "DATA_KEY is not set: with PostgreSQL give a key file path or a base64 key "
            "(make one with `python -m bot keys new`)"
        )
    if beside.exists():
        return KeyRing(read_key_file(beside), source=beside), None
    write_key_file(beside, [generate_key()])
    return KeyRing(read_key_file(beside), source=beside), (
        f"Generated the data key {beside}: keep a copy somewhere safe, "
        "without it the stored personal data cannot be read."
    )
