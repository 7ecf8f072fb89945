"""The simulated people of the sandbox: families, liaisons and admins, kept in people.json
beside the sandbox database so that a restart brings the same people back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROLES = ("family", "liaison", "admin")
LOCALES = ("uk", "ru", "en")
# Id ranges per role: an id says what a person is, at a glance in the Bot API log.
FIRST_ID = {"family": 100_001, "liaison": 200_001, "admin": 300_001}
MAX_PEOPLE = 200

# Made-up first names for people added without one (never real data).
_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "family": {
        "uk": ("Оксана", "Тарас", "Мирослава", "Остап", "Ганна", "Данило"),
        "ru": ("Ирина", "Олег", "Вера", "Семён", "Алла", "Глеб"),
        "en": ("Alex", "Sam", "Robin", "Jo", "Casey", "Drew"),
    },
    "liaison": {"uk": ("Liaison",), "ru": ("Liaison",), "en": ("Liaison",)},
    "admin": {"uk": ("Admin",), "ru": ("Admin",), "en": ("Admin",)},
}


class PeopleError(ValueError):
    """A person the sandbox cannot add, explained in one line."""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str
    locale: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class People:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._people: dict[int, Person] = {}
        if path.exists():
            for raw in json.loads(path.read_text(encoding="utf-8")):
                person = Person(int(raw["id"]), str(raw["name"]), raw["role"], raw["locale"])
                self._people[person.id] = person

    def __iter__(self) -> Iterator[Person]:
        return iter(self._people.values())

    def __len__(self) -> int:
        return len(self._people)

    def get(self, person_id: int) -> Person | None:
        return self._people.get(person_id)

    def of_role(self, role: str) -> list[Person]:
        return [p for p in self._people.values() if p.role == role]

    def add(self, role: str, locale: str, name: str | None = None) -> Person:
        if role not in ROLES:
            raise PeopleError(f"role must be one of {', '.join(ROLES)}")
        if locale not in LOCALES:
            raise PeopleError(f"language must be one of {', '.join(LOCALES)}")
        if len(self._people) >= MAX_PEOPLE:
            raise PeopleError(f"the sandbox holds at most {MAX_PEOPLE} people")
        taken = [p.id for p in self.of_role(role)]
        person_id = max(taken, default=FIRST_ID[role] - 1) + 1
        if not name or not name.strip():
            pool = _NAMES[role][locale]
            number = len(taken) + 1
            name = (
                f"{pool[len(taken) % len(pool)]} {number}"
                if role == "family"
                else (f"{pool[0]} {number}")
            )
        person = Person(person_id, name.strip()[:64], role, locale)
        self._people[person_id] = person
        self.save()
        return person

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = [p.as_dict() for p in self._people.values()]
        self.path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
