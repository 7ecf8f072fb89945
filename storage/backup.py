"""Encrypted backups: `python -m bot db backup PATH` and `python -m bot db restore PATH`.

SQLite is copied with its online backup API (the bot may keep running); PostgreSQL with
`pg_dump --format=custom`, restored with `pg_restore`. Either way the copy is encrypted
with a key derived from the data key before it touches the disk, in chunks:

    HWBACKUP1\\n  header (one JSON line: kind, key id, time)  chunks…

each chunk `length (4 bytes) ‖ nonce ‖ AES-GCM(ciphertext ‖ tag)`, its number and whether
it is the last in the associated data, so chunks can be neither reordered nor cut off.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from sqlalchemy.engine import URL, make_url

from storage.crypto import NONCE_BYTES, DataKey, DataKeyError, KeyRing

MAGIC = b"HWBACKUP1\n"
CHUNK = 1 << 20


class BackupError(Exception):
    """Said in one line to the operator."""


@dataclass(frozen=True)
class BackupInfo:
    kind: str  # sqlite | postgresql
    key_id: str
    created_at: str
    size: int  # bytes of the database copy


def _aad(header: bytes, number: int, last: bool) -> bytes:
    return header + struct.pack(">Q?", number, last)


def _encrypt_stream(chunks: Iterable[bytes], out: BinaryIO, key: DataKey, kind: str) -> int:
    header = (
        json.dumps(
            {"kind": kind, "key_id": key.id, "created_at": datetime.now(UTC).isoformat()}
        ).encode()
        + b"\n"
    )
    out.write(MAGIC + header)
    size = 0
    number = 0
    pending: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        if pending is not None:
            _write_chunk(out, key, header, number, pending, last=False)
            number += 1
        pending = chunk
        size += len(chunk)
    _write_chunk(out, key, header, number, pending or b"", last=True)
    return size


def _write_chunk(
    out: BinaryIO, key: DataKey, header: bytes, number: int, data: bytes, *, last: bool
) -> None:
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.backup_aead.encrypt(nonce, data, _aad(header, number, last))
    out.write(struct.pack(">I?", len(sealed), last) + nonce + sealed)


def read_info(path: Path) -> BackupInfo:
    with path.open("rb") as fp:
        header = _read_header(fp)
    meta = json.loads(header)
    return BackupInfo(meta["kind"], meta["key_id"], meta["created_at"], 0)


def _read_header(fp: BinaryIO) -> bytes:
    if fp.read(len(MAGIC)) != MAGIC:
        raise BackupError("this is not a Homeward backup")
    header = fp.readline()
    if not header.endswith(b"\n"):
        raise BackupError("the backup is cut off")
    return header


def _decrypt_stream(fp: BinaryIO, ring: KeyRing) -> tuple[str, Iterator[bytes]]:
    header = _read_header(fp)
    meta = json.loads(header)
    try:
        key = ring.key(meta["key_id"])
    except DataKeyError:
        raise BackupError(
            f"the backup was made with key {meta['key_id']}, which DATA_KEY does not hold"
        ) from None

    def chunks() -> Iterator[bytes]:
        number = 0
        while True:
            head = fp.read(5)
            if len(head) < 5:
                raise BackupError("the backup is cut off")
            length, last = struct.unpack(">I?", head)
            nonce = fp.read(NONCE_BYTES)
            sealed = fp.read(length)
            if len(sealed) < length:
                raise BackupError("the backup is cut off")
            try:
                yield key.backup_aead.decrypt(nonce, sealed, _aad(header, number, last))
            except InvalidTag:
                raise BackupError("the backup is damaged or was changed") from None
            if last:
                return
            number += 1

    return meta["kind"], chunks()


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fp:
        while chunk := fp.read(CHUNK):
            yield chunk


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return Path(url.database)


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where ps shows it
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client tools")
    return found


def backup(database_url: str, ring: KeyRing, target: Path) -> BackupInfo:
    """Write an encrypted copy of the database to `target` (replaced atomically)."""
    url = make_url(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    key = ring.primary
    try:
        if url.get_backend_name() == "sqlite":
            source = _sqlite_path(url)
            if not source.exists():
                raise BackupError(f"there is no database at {source}")
            with tempfile.TemporaryDirectory(dir=target.parent) as folder:
                copy = Path(folder) / "copy.db"
                # The online backup API: a consistent copy while the bot keeps writing.
                src, dst = sqlite3.connect(source), sqlite3.connect(copy)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
                    src.close()
                with partial.open("wb") as out:
                    size = _encrypt_stream(_file_chunks(copy), out, key, "sqlite")
            kind = "sqlite"
        elif url.get_backend_name() == "postgresql":
            args, env = _pg_args(url)
            command = [_tool("pg_dump"), "--format=custom", "--no-owner", *args, url.database or ""]
            with subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
            ) as dump:
                output = dump.stdout
                assert output is not None
                with partial.open("wb") as out:
                    size = _encrypt_stream(
                        iter(lambda: output.read(CHUNK), b""), out, key, "postgresql"
                    )
                error = dump.stderr.read().decode(errors="replace") if dump.stderr else ""
            if dump.returncode != 0:
                raise BackupError(f"pg_dump failed: {error.strip().splitlines()[-1:] or ['?']}")
            kind = "postgresql"
        else:
            raise BackupError(f"backups of {url.get_backend_name()} are not supported")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    info = read_info(target)
    return BackupInfo(kind, info.key_id, info.created_at, size)


def restore(database_url: str, ring: KeyRing, source: Path, *, force: bool = False) -> BackupInfo:
    """Restore a backup into the database of `database_url`, which must be empty (or
    `force`: replaced)."""
    if not source.exists():
        raise BackupError(f"there is no backup at {source}")
    url = make_url(database_url)
    with source.open("rb") as fp:
        kind, chunks = _decrypt_stream(fp, ring)
        backend = url.get_backend_name()
        if kind != backend:
            raise BackupError(f"this is a {kind} backup; DATABASE_URL is {backend}")
        if kind == "sqlite":
            target = _sqlite_path(url)
            if target.exists() and target.stat().st_size > 0 and not force:
                raise BackupError(f"{target} exists: restore into a new file, or add --force")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".restoring")
            size = 0
            try:
                with partial.open("wb") as out:
                    for chunk in chunks:
                        out.write(chunk)
                        size += len(chunk)
                for suffix in ("-wal", "-shm"):
                    Path(f"{target}{suffix}").unlink(missing_ok=True)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
        else:
            args, env = _pg_args(url)
            if not force and _pg_has_tables(url, args, env):
                raise BackupError(
                    f"the database {url.database} is not empty: restore into an empty one, "
                    "or add --force"
                )
            command = [
                _tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
                *(["--clean", "--if-exists"] if force else []), *args, "--dbname", url.database or "",
            ]  # fmt: skip
            size = 0
            with subprocess.Popen(
                command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env
            ) as process:
                assert process.stdin is not None
                try:
                    for chunk in chunks:
                        process.stdin.write(chunk)
                        size += len(chunk)
                finally:
                    process.stdin.close()
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            if process.returncode != 0:
                raise BackupError(f"pg_restore failed: {error.strip()[-300:]}")
    info = read_info(source)
    return BackupInfo(kind, info.key_id, info.created_at, size)


def _pg_has_tables(url: URL, args: list[str], env: dict[str, str]) -> bool:
    query = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    result = subprocess.run(
        [_tool("psql"), *args, "--dbname", url.database or "", "-tAc", query],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"cannot reach the database {url.database}: {result.stderr.strip()}")
    return int(result.stdout.strip() or 0) > 0
