"""Benchmarks: `python -m bench.throughput`, `bench.queue`, `bench.broadcast`, `bench.memory`."""

import os

if os.environ.get("BENCH_EAGER_TYPES"):
    # For comparison only: aiogram imported first builds every type's validator at import,
    # as it does by default (before bot/__init__.py deferred them).
    import aiogram.types  # noqa: F401

# Before anything else imports aiogram: its types then load as in production, their
# validators built on first use (see bot/__init__.py), so the figures match the bot's.
import bot  # noqa: F401

# Personal fields are sealed with the data key (storage.crypto): a fresh one per run unless
# DATA_KEY is set, handed through the environment to the bot processes a benchmark starts.
from storage.crypto import KeyRing, generate_key, install, parse_keys

os.environ.setdefault("DATA_KEY", generate_key().encoded())
install(KeyRing(parse_keys(os.environ["DATA_KEY"])))
