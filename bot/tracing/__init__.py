"""Tracing by name: search in any alphabet and spelling, possible matches between persons.

Pure logic (no database, no bot): `names` for index keys, search scores and name
similarity; `matching` for the score of two persons and the ranking of candidates.
"""

from __future__ import annotations
