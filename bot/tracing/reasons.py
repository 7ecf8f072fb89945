"""Why two persons may be the same: the codes a liaison sees, translated by the UI."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # "same name": surname and first name written the same way (in any order)
    SAME_NAME = "same_name"
    # "same surname"
    SAME_SURNAME = "same_surname"
    # "same surname in another spelling" (another alphabet, uk/ru form, feminine form)
    SAME_SURNAME_OTHER_SPELLING = "surname_other_spelling"
    # "same first name in another language or spelling" (Олександр / Александр / Oleksandr)
    NAME_OTHER_SPELLING = "name_other_spelling"
    # "a diminutive of the same first name" (Сашко, Саша / Олександр)
    NAME_DIMINUTIVE = "name_diminutive"
    # "the name differs by what looks like a typo"
    NAME_TYPO = "name_typo"
    # "the same names in another order" (surname first / first name first)
    NAME_ORDER = "name_order"
    # "same patronymic" (the father's name)
    SAME_PATRONYMIC = "same_patronymic"
    # "same date of birth"
    SAME_BIRTH_DATE = "same_birth_date"
    # "same year of birth"
    SAME_BIRTH_YEAR = "same_birth_year"
    # "year of birth within a year of an age-based estimate"
    NEAR_BIRTH_YEAR = "near_birth_year"
    # "same sex"
    SAME_SEX = "same_sex"
    # "same place" (a town or village in common, in any spelling)
    SAME_PLACE = "same_place"
    # "places in the same region"
    SAME_REGION = "same_region"
