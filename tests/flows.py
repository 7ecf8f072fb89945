"""Scripted family conversations, shared by dispatcher and end-to-end tests."""

from __future__ import annotations

from handlers.callbacks import IntakeAction, IntakeCb

# (kind, value): "text" is typed, "pick" presses a choice, "skip" skips, "agree" consents.
FULL_INTAKE: list[tuple[str, str, str]] = [
    ("text", "sought_name", "Іван <b>Петренко</b> & Co"),
    ("text", "sought_aliases", "Ivan Petrenko"),
    ("pick", "sought_sex", "male"),
    ("text", "birth", "12.03.2007"),
    ("skip", "birth_place", ""),
    ("text", "features", "A scar over the left eyebrow"),
    ("text", "health_needs", "Asthma, uses an inhaler"),
    ("skip", "photos", ""),
    ("text", "separation_date", "03.2022"),
    ("text", "separation_place", "Mariupol, Donetsk region"),
    ("pick", "circumstances", "fighting"),
    ("skip", "last_location", ""),
    ("text", "last_contact", "2022"),
    ("skip", "companions", ""),
    ("pick", "relationship", "parent"),
    ("text", "requester_name", "Olena Petrenko"),
    ("skip", "contact", ""),
    ("text", "country", "Ukraine"),
    ("skip", "reported_elsewhere", ""),
    ("agree", "consent", ""),
]


def callback_for(kind: str, step: str, value: str) -> str:
    if kind == "pick":
        return IntakeCb(action=IntakeAction.PICK, step=step, value=value).pack()
    if kind == "skip":
        return IntakeCb(action=IntakeAction.SKIP, step=step).pack()
    if kind == "agree":
        return IntakeCb(action=IntakeAction.AGREE, step=step).pack()
    raise ValueError(kind)


SUBMIT = IntakeCb(action=IntakeAction.SUBMIT).pack()
