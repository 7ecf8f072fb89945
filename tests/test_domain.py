"""Validation, reference codes, statuses and the intake engine: pure functions."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import ConfigError, load_settings
from bot.domain import intake
from bot.domain.reference import ALPHABET, new_reference_code, normalize_reference_code
from bot.domain.statuses import STATUS_LABELS, STATUS_MEANINGS, RequestStatus, can_move
from bot.domain.validation import InputError, clean_text, is_now_adult, parse_fuzzy_date

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("raw", "kind", "shown"),
    [
        ("12.03.2012", "date", "12.03.2012"),
        ("2012-03-12", "date", "12.03.2012"),
        ("1/2/2015", "date", "01.02.2015"),
        ("03.2022", "month", "03.2022"),
        ("2022", "year", "2022"),
        ("29.02.2024", "date", "29.02.2024"),
    ],
)
def test_dates_are_parsed(raw: str, kind: str, shown: str) -> None:
    value = parse_fuzzy_date(raw, TODAY)
    assert (value.kind, value.text) == (kind, shown)
    assert value.estimate <= TODAY


@pytest.mark.parametrize(
    ("raw", "message_part"),
    [
        ("31.02.2012", "does not exist"),
        ("29.02.2023", "does not exist"),
        ("13.2020", "does not exist"),
        ("27.11.2026", "in the future"),
        ("2027", "in the future"),
        ("11.2026", None),
        ("12.2026", "in the future"),
        ("1850", "too early"),
        ("yesterday", "Please write the date"),
    ],
)
def test_bad_dates_are_explained(raw: str, message_part: str | None) -> None:
    if message_part is None:  # this month is fine: not in the future
        assert parse_fuzzy_date(raw, TODAY).kind == "month"
        return
    with pytest.raises(InputError) as error:
        parse_fuzzy_date(raw, TODAY)
    assert message_part in error.value.message


def test_age_is_accepted_only_for_birth() -> None:
    age = parse_fuzzy_date("9", TODAY, allow_age=True)
    assert age.kind == "age" and age.text == "9"
    assert 9 <= (TODAY - age.estimate).days / 365.25 <= 10
    with pytest.raises(InputError):
        parse_fuzzy_date("9", TODAY)
    with pytest.raises(InputError, match="too high"):
        parse_fuzzy_date("130", TODAY, allow_age=True)


def test_text_is_trimmed_and_bounded() -> None:
    assert clean_text("  Іван   Петренко \n", max_length=20) == "Іван Петренко"
    with pytest.raises(InputError) as error:
        clean_text("x" * 21, max_length=20)
    assert error.value.params == {"length": 21, "limit": 20}
    with pytest.raises(InputError):
        clean_text("   ", max_length=20)


def test_now_adult_flag() -> None:
    birth = parse_fuzzy_date("01.06.2006", TODAY)
    assert is_now_adult(birth, parse_fuzzy_date("2022", TODAY), TODAY)
    # Already an adult when separated: no flag.
    assert not is_now_adult(birth, parse_fuzzy_date("01.07.2024", TODAY), TODAY)
    # Still a child today: no flag.
    young = parse_fuzzy_date("2015", TODAY)
    assert not is_now_adult(young, parse_fuzzy_date("2022", TODAY), TODAY)


def test_reference_codes_are_random_readable_and_normalised() -> None:
    codes = {new_reference_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert code.startswith("HW-") and len(code) == 10
        body = code[3:].replace("-", "")
        assert set(body) <= set(ALPHABET)
        assert not set(body) & set("01OIL")
        assert normalize_reference_code(code.lower()) == code
        assert normalize_reference_code(code.replace("-", " ")) == code
        assert normalize_reference_code(code[3:]) == code
    assert normalize_reference_code("HW-0O1I-23") is None
    assert normalize_reference_code("hello") is None


def test_every_status_has_a_name_and_meaning_and_transitions_are_enforced() -> None:
    assert set(STATUS_LABELS) == set(RequestStatus) == set(STATUS_MEANINGS)
    assert can_move(RequestStatus.SUBMITTED, RequestStatus.IN_REVIEW)
    assert can_move(RequestStatus.IN_TRACING, RequestStatus.CLOSED)
    assert not can_move(RequestStatus.SUBMITTED, RequestStatus.REUNITED)
    assert not any(can_move(RequestStatus.CLOSED, s) for s in RequestStatus)


def test_the_located_meaning_says_what_its_label_says() -> None:
    """The label says the whereabouts are established; the meaning must not say "maybe"."""
    meaning = STATUS_MEANINGS[RequestStatus.LOCATED]
    assert "established" in meaning and "verified" in meaning
    assert "may" not in meaning


def test_the_two_others_carry_their_own_context() -> None:
    others = {
        step.key: choice.context
        for step in intake.STEPS
        for choice in step.choices
        if choice.label == "Other"
    }
    assert others == {"circumstances": "circumstances", "relationship": "relationship"}


def test_the_name_question_asks_for_the_surname_in_any_order() -> None:
    for key in ("sought_name", "requester_name"):
        prompt = intake.STEP_BY_KEY[key].prompt
        assert "surname" in prompt.lower() and "any order" in prompt, key
        assert "full name" not in prompt.lower(), key


def _walk_to_summary() -> dict:
    draft = intake.new_draft()
    draft = intake.answer_text(draft, "Ivan Petrenko", TODAY)
    draft = intake.skip(draft, "sought_aliases")
    draft = intake.answer_choice(draft, "sought_sex", "male")
    draft = intake.answer_text(draft, "2010", TODAY)
    for key in ("birth_place", "features", "health_needs", "photos"):
        draft = intake.skip(draft, key)
    draft = intake.answer_text(draft, "03.2022", TODAY)
    draft = intake.answer_text(draft, "Kharkiv, Kharkiv region", TODAY)
    draft = intake.answer_choice(draft, "circumstances", "fighting")
    assert draft["step"] == "last_location"  # the "other" follow-up is not asked
    for key in ("last_location", "last_contact", "companions"):
        draft = intake.skip(draft, key)
    draft = intake.answer_choice(draft, "relationship", "parent")
    draft = intake.answer_text(draft, "Olena Petrenko", TODAY)
    draft = intake.skip(draft, "contact")
    draft = intake.answer_text(draft, "Ukraine", TODAY)
    draft = intake.skip(draft, "reported_elsewhere")
    draft = intake.give_consent(draft)
    assert draft["step"] == intake.SUMMARY
    return draft


def test_intake_walks_every_required_step() -> None:
    draft = _walk_to_summary()
    assert intake.missing_required(draft) == []
    assert draft["answers"]["consent"] == intake.CONSENT_VERSION


def test_bad_answer_keeps_the_draft() -> None:
    draft = intake.new_draft()
    draft = intake.answer_text(draft, "Ivan", TODAY)
    draft = intake.skip(draft, "sought_aliases")
    draft = intake.answer_choice(draft, "sought_sex", "male")
    with pytest.raises(InputError):
        intake.answer_text(draft, "31.02.2010", TODAY)
    assert draft["step"] == "birth" and draft["answers"]["sought_name"] == "Ivan"


def test_back_returns_to_previous_step_and_keeps_answers() -> None:
    draft = intake.new_draft()
    draft = intake.answer_text(draft, "Ivan", TODAY)
    draft = intake.back(draft)
    assert draft["step"] == "sought_name" and draft["answers"]["sought_name"] == "Ivan"
    assert intake.back(draft)["step"] == "sought_name"  # nothing before the first step


def test_edit_from_summary_returns_to_summary_and_asks_new_follow_ups() -> None:
    draft = _walk_to_summary()
    draft = intake.edit(draft, "sought_name")
    draft = intake.answer_text(draft, "Ivan Ivanovych Petrenko", TODAY)
    assert draft["step"] == intake.SUMMARY
    draft = intake.edit(draft, "circumstances")
    draft = intake.answer_choice(draft, "circumstances", "other")
    assert draft["step"] == "circumstances_other"
    draft = intake.answer_text(draft, "Evacuated with a school", TODAY)
    assert draft["step"] == intake.SUMMARY
    # Choosing something else drops the follow-up answer.
    draft = intake.edit(draft, "circumstances")
    draft = intake.answer_choice(draft, "circumstances", "border")
    assert "circumstances_other" not in draft["answers"]
    assert draft["step"] == intake.SUMMARY


def test_stale_buttons_are_refused() -> None:
    draft = intake.new_draft()
    with pytest.raises(intake.StaleButton):
        intake.answer_choice(draft, "sought_sex", "male")  # not the current step
    with pytest.raises(intake.StaleButton):
        intake.skip(draft, "sought_name")  # required
    with pytest.raises(intake.StaleButton):
        intake.edit(draft, "sought_name")  # not on the summary


def test_photo_limit() -> None:
    draft = intake.new_draft()
    assert all(intake.add_photo(draft, f"p{i}") for i in range(intake.MAX_PHOTOS))
    assert not intake.add_photo(draft, "one-too-many")
    assert len(draft["answers"]["photos"]) == intake.MAX_PHOTOS


def test_separation_before_birth_is_refused() -> None:
    draft = intake.new_draft()
    draft["answers"]["birth"] = parse_fuzzy_date("12.03.2015", TODAY).as_dict()
    draft["step"] = "separation_date"
    with pytest.raises(InputError, match="before the date of birth"):
        intake.answer_text(draft, "2014", TODAY)


def test_config_errors_are_one_line() -> None:
    with pytest.raises(ConfigError, match="BOT_TOKEN is not set"):
        load_settings(bot_token="", _env_file=None)
    with pytest.raises(ConfigError, match="malformed"):
        load_settings(bot_token="not-a-token", _env_file=None)
    settings = load_settings(
        bot_token="123456:" + "A" * 35,
        admin_ids="1, 2;3",
        telegram_api_url="http://127.0.0.1:8081/",
        _env_file=None,
    )
    assert settings.admin_ids == [1, 2, 3]
    assert settings.telegram_api_url == "http://127.0.0.1:8081"
    with pytest.raises(ConfigError, match="DEFAULT_LOCALE"):
        load_settings(bot_token="123456:" + "A" * 35, default_locale="de", _env_file=None)
