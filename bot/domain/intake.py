"""The guided intake: which questions, in which order, and how answers change the draft.

The draft is a plain JSON-able dict kept in the FSM storage, so it survives a
restart. Everything here is pure: handlers render, services persist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from bot.domain.markers import N_, NC_
from bot.domain.validation import (
    FuzzyDate,
    InputError,
    check_separation_after_birth,
    clean_text,
    parse_fuzzy_date,
)

MAX_PHOTOS = 5
# Bump when the consent statement's meaning changes; each request records the version agreed to.
CONSENT_VERSION = "2026-11-v1"
DRAFT_VERSION = 1


class Kind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    DATE = "date"  # day, month.year or year
    BIRTH = "birth"  # as DATE, or an approximate age
    PHOTOS = "photos"
    CONSENT = "consent"


class Section(StrEnum):
    SOUGHT = "sought"
    SEPARATION = "separation"
    REQUESTER = "requester"
    ELSEWHERE = "elsewhere"


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    # The msgctxt the label was marked with (NC_), for a word that means different
    # things in different questions: "Other" circumstances, "Other" person.
    context: str | None = None


@dataclass(frozen=True)
class Step:
    key: str
    kind: Kind
    section: Section
    prompt: str
    label: str  # shown in the summary and on edit buttons
    optional: bool = False
    max_length: int = 200
    choices: tuple[Choice, ...] = ()
    only_if: tuple[str, str] | None = None  # (step key, value) this step depends on


SEX_CHOICES = (Choice("female", N_("Female")), Choice("male", N_("Male")))
CIRCUMSTANCE_CHOICES = (
    Choice("fighting", N_("Displaced by the fighting")),
    Choice("border", N_("Moved across the border")),
    Choice("adult", N_("Separated from an accompanying adult")),
    Choice("institution", N_("Institution or care home evacuated")),
    Choice("other", NC_("circumstances", "Other"), context="circumstances"),
)
RELATIONSHIP_CHOICES = (
    Choice("parent", N_("Parent")),
    Choice("grandparent", N_("Grandparent")),
    Choice("sibling", N_("Brother or sister")),
    Choice("relative", N_("Other relative")),
    Choice("guardian", N_("Legal guardian")),
    Choice("other", NC_("relationship", "Other"), context="relationship"),
)

STEPS: tuple[Step, ...] = (
    Step(
        "sought_name",
        Kind.TEXT,
        Section.SOUGHT,
        # Not "full name": Ukrainian and Russian speakers then leave out the surname.
        # Any order is fine; matching does not rely on it.
        N_(
            "Surname, first name and patronymic (if any) of the person you are looking for. "
            "Write them as you know them, in any order, in Cyrillic or Latin letters."
        ),
        N_("Surname, first name, patronymic"),
    ),
    Step(
        "sought_aliases",
        Kind.TEXT,
        Section.SOUGHT,
        N_(
            "Are there other spellings of the name, short forms (diminutives) or nicknames? "
            "For example, Sasha for Oleksandr, or the name in both Cyrillic and Latin letters."
        ),
        N_("Other spellings, diminutives, nicknames"),
        optional=True,
        max_length=300,
    ),
    Step(
        "sought_sex",
        Kind.CHOICE,
        Section.SOUGHT,
        N_("Sex of the person you are looking for:"),
        N_("Sex"),
        choices=SEX_CHOICES,
    ),
    Step(
        "birth",
        Kind.BIRTH,
        Section.SOUGHT,
        N_(
            "Date of birth. Write the full date, such as 12.03.2012. If you do not know it, "
            "write only the year, such as 2012, or the approximate age today, such as 9."
        ),
        N_("Date of birth or age"),
    ),
    Step(
        "birth_place",
        Kind.TEXT,
        Section.SOUGHT,
        N_("Place of birth: settlement and region."),
        N_("Place of birth"),
        optional=True,
    ),
    Step(
        "features",
        Kind.TEXT,
        Section.SOUGHT,
        N_(
            "Distinguishing features that can help to recognise the person: scars, birthmarks, "
            "glasses, the way they speak."
        ),
        N_("Distinguishing features"),
        optional=True,
        max_length=800,
    ),
    Step(
        "health_needs",
        Kind.TEXT,
        Section.SOUGHT,
        N_("Known health needs: illnesses, medicines, disabilities, allergies."),
        N_("Health needs"),
        optional=True,
        max_length=800,
    ),
    Step(
        "photos",
        Kind.PHOTOS,
        Section.SOUGHT,
        N_("If you have photos of the person, send up to 5 of them now, then press “Done”."),
        N_("Photos"),
        optional=True,
    ),
    Step(
        "separation_date",
        Kind.DATE,
        Section.SEPARATION,
        N_(
            "When did you lose contact? An approximate date is enough: 12.03.2022, "
            "or the month and year, 03.2022, or only the year."
        ),
        N_("Date of separation"),
    ),
    Step(
        "separation_place",
        Kind.TEXT,
        Section.SEPARATION,
        N_("Where did it happen? Write the settlement and the region."),
        N_("Place of separation"),
    ),
    Step(
        "circumstances",
        Kind.CHOICE,
        Section.SEPARATION,
        N_("What happened? Choose what fits best."),
        N_("Circumstances"),
        choices=CIRCUMSTANCE_CHOICES,
    ),
    Step(
        "circumstances_other",
        Kind.TEXT,
        Section.SEPARATION,
        N_("Please describe briefly what happened."),
        N_("What happened"),
        max_length=500,
        only_if=("circumstances", "other"),
    ),
    Step(
        "last_location",
        Kind.TEXT,
        Section.SEPARATION,
        N_("Where was the person last known to be?"),
        N_("Last known location"),
        optional=True,
        max_length=300,
    ),
    Step(
        "last_contact",
        Kind.DATE,
        Section.SEPARATION,
        N_("When did you last have contact with them? An approximate date is enough."),
        N_("Last contact"),
        optional=True,
    ),
    Step(
        "companions",
        Kind.TEXT,
        Section.SEPARATION,
        N_("Who was the person with at that time? For example, a teacher, a neighbour, a group."),
        N_("Was with"),
        optional=True,
        max_length=300,
    ),
    Step(
        "relationship",
        Kind.CHOICE,
        Section.REQUESTER,
        N_("Who are you to the person you are looking for?"),
        N_("Your relationship"),
        choices=RELATIONSHIP_CHOICES,
    ),
    Step(
        "requester_name",
        Kind.TEXT,
        Section.REQUESTER,
        N_("Your surname, first name and patronymic (if any), in any order:"),
        N_("Your name"),
    ),
    Step(
        "contact",
        Kind.TEXT,
        Section.REQUESTER,
        N_("Another way to reach you if this chat is unavailable: a phone number or an email."),
        N_("Other contact"),
        optional=True,
    ),
    Step(
        "country",
        Kind.TEXT,
        Section.REQUESTER,
        N_("In which country do you live now?"),
        N_("Country of residence"),
        max_length=100,
    ),
    Step(
        "reported_elsewhere",
        Kind.TEXT,
        Section.ELSEWHERE,
        N_(
            "Have you already reported this elsewhere, for example to the police, a national "
            "information bureau or the ICRC? Write where, and the reference numbers if you have them."
        ),
        N_("Reported elsewhere"),
        optional=True,
        max_length=800,
    ),
    Step("consent", Kind.CONSENT, Section.ELSEWHERE, N_("Consent"), N_("Consent")),
)
STEP_BY_KEY = {step.key: step for step in STEPS}
SUMMARY = "summary"

SECTION_TITLES = {
    Section.SOUGHT: N_("The person you are looking for"),
    Section.SEPARATION: N_("Separation"),
    Section.REQUESTER: N_("About you"),
    Section.ELSEWHERE: N_("Reported elsewhere"),
}


def new_draft() -> dict[str, Any]:
    return {
        "v": DRAFT_VERSION,
        "step": STEPS[0].key,
        "answers": {},
        "history": [],
        "editing": False,
    }


def is_active(step: Step, answers: dict[str, Any]) -> bool:
    if step.only_if is None:
        return True
    key, value = step.only_if
    return answers.get(key) == value


def active_steps(answers: dict[str, Any]) -> list[Step]:
    return [step for step in STEPS if is_active(step, answers)]


def _step_after(key: str, answers: dict[str, Any]) -> str:
    keys = [step.key for step in STEPS]
    for step in STEPS[keys.index(key) + 1 :]:
        if is_active(step, answers):
            return step.key
    return SUMMARY


def current_step(draft: dict[str, Any]) -> Step | None:
    """The step being asked, or None on the summary."""
    return STEP_BY_KEY.get(draft["step"])


def _advance(draft: dict[str, Any], answered: str) -> dict[str, Any]:
    answers = draft["answers"]
    following = _step_after(answered, answers)
    if draft["editing"]:
        # While editing, ask only a newly needed follow-up question, then return to the summary.
        step = STEP_BY_KEY.get(following)
        if not (step and step.only_if and step.only_if[0] == answered and step.key not in answers):
            following = SUMMARY
    if following == SUMMARY:
        draft["editing"] = False
    draft["history"].append(answered)
    draft["step"] = following
    return draft


def answer_text(draft: dict[str, Any], text: str | None, today: date) -> dict[str, Any]:
    step = current_step(draft)
    if step is None:
        raise InputError(N_("Please use the buttons below the summary."))
    answers = draft["answers"]
    if step.kind is Kind.TEXT:
        answers[step.key] = clean_text(text, max_length=step.max_length)
    elif step.kind in (Kind.DATE, Kind.BIRTH):
        value = parse_fuzzy_date(
            clean_text(text, max_length=40), today, allow_age=step.kind is Kind.BIRTH
        )
        if step.key == "separation_date":
            birth = answers.get("birth")
            check_separation_after_birth(FuzzyDate.from_dict(birth) if birth else None, value)
        answers[step.key] = value.as_dict()
    elif step.kind is Kind.PHOTOS:
        raise InputError(N_("Please send a photo, or press “Done” or “Skip”."))
    else:
        raise InputError(N_("Please choose one of the buttons."))
    return _advance(draft, step.key)


def answer_choice(draft: dict[str, Any], step_key: str, value: str) -> dict[str, Any]:
    step = current_step(draft)
    if step is None or step.key != step_key or step.kind is not Kind.CHOICE:
        raise StaleButton
    if value not in {choice.value for choice in step.choices}:
        raise StaleButton
    previous = draft["answers"].get(step.key)
    draft["answers"][step.key] = value
    if previous != value:
        # Drop answers to follow-up questions that no longer apply.
        for dependent in STEPS:
            if dependent.only_if and dependent.only_if[0] == step.key:
                draft["answers"].pop(dependent.key, None)
    return _advance(draft, step.key)


def skip(draft: dict[str, Any], step_key: str) -> dict[str, Any]:
    step = current_step(draft)
    if step is None or step.key != step_key or not step.optional:
        raise StaleButton
    draft["answers"].pop(step.key, None)
    return _advance(draft, step.key)


def finish_photos(draft: dict[str, Any]) -> dict[str, Any]:
    step = current_step(draft)
    if step is None or step.kind is not Kind.PHOTOS:
        raise StaleButton
    return _advance(draft, step.key)


def add_photo(draft: dict[str, Any], file_id: str) -> bool:
    """Attach a photo; False when the limit is already reached."""
    photos = draft["answers"].setdefault("photos", [])
    if len(photos) >= MAX_PHOTOS:
        return False
    photos.append(file_id)
    return True


def back(draft: dict[str, Any]) -> dict[str, Any]:
    if draft["history"]:
        draft["step"] = draft["history"].pop()
        draft["editing"] = False
    return draft


def edit(draft: dict[str, Any], step_key: str) -> dict[str, Any]:
    step = STEP_BY_KEY.get(step_key)
    if draft["step"] != SUMMARY or step is None or step.kind is Kind.CONSENT:
        raise StaleButton
    if not is_active(step, draft["answers"]):
        raise StaleButton
    draft["history"].append(SUMMARY)
    draft["step"] = step.key
    draft["editing"] = True
    return draft


def give_consent(draft: dict[str, Any]) -> dict[str, Any]:
    step = current_step(draft)
    if step is None or step.kind is not Kind.CONSENT:
        raise StaleButton
    draft["answers"]["consent"] = CONSENT_VERSION
    return _advance(draft, step.key)


def editable_steps(draft: dict[str, Any]) -> list[Step]:
    return [s for s in active_steps(draft["answers"]) if s.kind is not Kind.CONSENT]


def missing_required(draft: dict[str, Any]) -> list[Step]:
    answers = draft["answers"]
    return [s for s in active_steps(answers) if not s.optional and s.key not in answers]


class StaleButton(Exception):
    """A button from an earlier step or message was pressed."""
