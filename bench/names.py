"""Realistic children's names, births and places for the tracing benchmarks, and the labelled set.

    python -m bench.names pairs > tests/data/matching_pairs.csv   # the labelled set
    python -m bench.names people 20                                 # a look at the people

`realistic_people(n, seed)`: Ukrainian and Russian children born 2006-2022, names mostly
in Cyrillic (Ukrainian or Russian forms), some in the Latin spellings of Ukraine's 2010
national system, its passports before it, Russia's passport systems or BGN/PCGN, with
patronymics, sexes that fit the first names, and places from ~70 towns and regions.

`labelled_pairs(seed)`: the labelled set of `tests/data/matching_pairs.csv`: the same child
written twice (another alphabet, the Ukrainian and the Russian form, a diminutive, a typo,
another order, no patronymic, a year for a date, an age-based estimate) and different
children that look alike (siblings, namesakes, twins of the other sex, similar names,
children born the same year in the same town), plus hand-written rows with the examples
of the issue. Everything is deterministic for a seed.

The lists here are written independently of `bot.tracing`'s tables (their diminutives in
particular are the ones families use, not a copy of the matcher's), so the set measures
the matcher rather than echoing it.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, TypeVar

import iuliia  # type: ignore[import-untyped]
from translitua import UkrainianKMU, UkrainianNational1996, UkrainianPassport2007, translit

from bot.tracing.matching import PersonFacts

# --- first names: Ukrainian form, Russian form, diminutives (uk and ru) ----------------

BOYS: list[tuple[str, str, tuple[str, ...]]] = [
    ("Олександр", "Александр", ("Сашко", "Саша", "Саня", "Шурик")),
    ("Максим", "Максим", ("Макс", "Максимко")),
    ("Артем", "Артём", ("Тема", "Артемко", "Тёма")),
    ("Дмитро", "Дмитрий", ("Діма", "Дима", "Митя")),
    ("Іван", "Иван", ("Ваня", "Іванко", "Івась")),
    ("Андрій", "Андрей", ("Андрійко", "Андрюша")),
    ("Данило", "Даниил", ("Даня", "Данилко")),
    ("Назар", "Назар", ("Назарко",)),
    ("Богдан", "Богдан", ("Бодя",)),
    ("Владислав", "Владислав", ("Влад", "Владик")),
    ("Микита", "Никита", ("Никитка",)),
    ("Денис", "Денис", ("Дениска",)),
    ("Кирило", "Кирилл", ("Кирюша",)),
    ("Матвій", "Матвей", ("Матвійко", "Матюша")),
    ("Михайло", "Михаил", ("Мишко", "Миша")),
    ("Тимофій", "Тимофей", ("Тимоша", "Тима")),
    ("Марк", "Марк", ("Марік",)),
    ("Давид", "Давид", ("Давидко",)),
    ("Єгор", "Егор", ("Єгорка", "Егорка")),
    ("Ярослав", "Ярослав", ("Ярик", "Ярчик")),
    ("Євген", "Евгений", ("Женя", "Женька")),
    ("Віталій", "Виталий", ("Віталік", "Виталик")),
    ("Сергій", "Сергей", ("Сергійко", "Серёжа", "Сережа")),
    ("Юрій", "Юрий", ("Юра", "Юрко")),
    ("Роман", "Роман", ("Рома", "Ромчик")),
    ("Павло", "Павел", ("Павлик", "Паша")),
    ("Олег", "Олег", ("Олежка",)),
    ("Ігор", "Игорь", ("Ігорко",)),
    ("Віктор", "Виктор", ("Вітя", "Витя")),
    ("Володимир", "Владимир", ("Вова", "Володя")),
    ("Вадим", "Вадим", ("Вадик",)),
    ("Василь", "Василий", ("Вася", "Василько")),
    ("Антон", "Антон", ("Антоша",)),
    ("Ілля", "Илья", ("Іллюша", "Илюша")),
    ("Степан", "Степан", ("Стьопа", "Степанко")),
    ("Тарас", "Тарас", ("Тарасик",)),
    ("Остап", "Остап", ("Остапчик",)),
    ("Захар", "Захар", ("Захарко",)),
    ("Арсеній", "Арсений", ("Арсюша",)),
    ("Гліб", "Глеб", ("Глібко",)),
    ("Костянтин", "Константин", ("Костя", "Костик")),
    ("Станіслав", "Станислав", ("Стас", "Стасик")),
    ("Ростислав", "Ростислав", ("Ростик",)),
    ("Святослав", "Святослав", ("Святик",)),
    ("Петро", "Пётр", ("Петрик", "Петя")),
    ("Микола", "Николай", ("Миколка", "Коля")),
    ("Олексій", "Алексей", ("Льоша", "Алёша")),
    ("Федір", "Фёдор", ("Федя",)),
    ("Яків", "Яков", ("Яша",)),
    ("Лев", "Лев", ("Левко", "Лёва")),
    ("Мирон", "Мирон", ("Мирончик",)),
    ("Тимур", "Тимур", ("Тимурчик",)),
    ("Руслан", "Руслан", ("Русік",)),
    ("Платон", "Платон", ()),
    ("Валентин", "Валентин", ("Валік",)),
    ("Григорій", "Григорий", ("Гриша",)),
]
GIRLS: list[tuple[str, str, tuple[str, ...]]] = [
    ("Анастасія", "Анастасия", ("Настя", "Настуся")),
    ("Софія", "София", ("Соня", "Софійка")),
    ("Марія", "Мария", ("Маша", "Марійка", "Маруся")),
    ("Анна", "Анна", ("Аня", "Ганнуся")),
    ("Ганна", "Анна", ("Ганя", "Аня")),
    ("Дарина", "Дарья", ("Даша", "Даринка")),
    ("Вікторія", "Виктория", ("Віка", "Вика")),
    ("Поліна", "Полина", ("Поля",)),
    ("Єлизавета", "Елизавета", ("Ліза", "Лиза")),
    ("Катерина", "Екатерина", ("Катя", "Катруся")),
    ("Олександра", "Александра", ("Саша", "Сашенька")),
    ("Аліна", "Алина", ("Аля",)),
    ("Діана", "Диана", ("Діанка",)),
    ("Юлія", "Юлия", ("Юля", "Юлька")),
    ("Вероніка", "Вероника", ("Ніка",)),
    ("Валерія", "Валерия", ("Лера",)),
    ("Христина", "Кристина", ("Христя",)),
    ("Ірина", "Ирина", ("Іра", "Ира")),
    ("Олена", "Елена", ("Оленка", "Лена")),
    ("Наталія", "Наталья", ("Наташа", "Наталка")),
    ("Тетяна", "Татьяна", ("Таня", "Танюша")),
    ("Світлана", "Светлана", ("Світланка", "Света")),
    ("Ольга", "Ольга", ("Оля",)),
    ("Оксана", "Оксана", ("Оксанка",)),
    ("Яна", "Яна", ("Яночка",)),
    ("Мілана", "Милана", ("Міланка",)),
    ("Злата", "Злата", ("Златка",)),
    ("Соломія", "Соломия", ("Соломійка",)),
    ("Ангеліна", "Ангелина", ("Геля",)),
    ("Ксенія", "Ксения", ("Ксюша",)),
    ("Уляна", "Ульяна", ("Уля",)),
    ("Василина", "Василиса", ("Василинка",)),
    ("Карина", "Карина", ("Каринка",)),
    ("Єва", "Ева", ("Євочка",)),
    ("Аліса", "Алиса", ("Аліска",)),
    ("Марина", "Марина", ("Маринка",)),
    ("Надія", "Надежда", ("Надя",)),
    ("Кіра", "Кира", ()),
    ("Маргарита", "Маргарита", ("Рита",)),
    ("Мирослава", "Мирослава", ("Мирося",)),
    ("Ярослава", "Ярослава", ("Ярося",)),
    ("Богдана", "Богдана", ("Богданка",)),
    ("Євгенія", "Евгения", ("Женя",)),
    ("Іванна", "Иванна", ("Іванка",)),
    ("Емілія", "Эмилия", ("Міля",)),
    ("Кароліна", "Каролина", ()),
    ("Стефанія", "Стефания", ("Стефа",)),
    ("Таїсія", "Таисия", ("Тася",)),
    ("Арина", "Арина", ("Аринка",)),
    ("Віра", "Вера", ("Віруся",)),
    ("Людмила", "Людмила", ("Люда",)),
    ("Галина", "Галина", ("Галя",)),
]
# Names whose other-sex form looks alike: (a boy's name, a girl's name) of the lists above.
SIMILAR_ACROSS_SEX = [
    ("Олександр", "Олександра"),
    ("Іван", "Іванна"),
    ("Євген", "Євгенія"),
    ("Ярослав", "Ярослава"),
    ("Богдан", "Богдана"),
    ("Валентин", "Валерія"),
    ("Віталій", "Вікторія"),
    ("Мирон", "Мирослава"),
    ("Василь", "Василина"),
    ("Андрій", "Аліна"),
]
# Different names of the same sex that look alike.
SIMILAR_SAME_SEX = [
    ("Олександр", "Олексій"),
    ("Марія", "Марина"),
    ("Анна", "Аліна"),
    ("Діана", "Дарина"),
    ("Ярослав", "Владислав"),
    ("Станіслав", "Святослав"),
    ("Вікторія", "Валерія"),
    ("Данило", "Денис"),
    ("Мирон", "Марк"),
    ("Юлія", "Уляна"),
    ("Іван", "Ілля"),
    ("Тимофій", "Тимур"),
    ("Аліна", "Аліса"),
    ("Кіра", "Карина"),
]

# --- fathers: patronymics in Ukrainian and Russian, for a son and a daughter -----------

FATHERS: list[tuple[str, str, str, str]] = [
    ("Олександрович", "Олександрівна", "Александрович", "Александровна"),
    ("Сергійович", "Сергіївна", "Сергеевич", "Сергеевна"),
    ("Андрійович", "Андріївна", "Андреевич", "Андреевна"),
    ("Володимирович", "Володимирівна", "Владимирович", "Владимировна"),
    ("Іванович", "Іванівна", "Иванович", "Ивановна"),
    ("Миколайович", "Миколаївна", "Николаевич", "Николаевна"),
    ("Юрійович", "Юріївна", "Юрьевич", "Юрьевна"),
    ("Віталійович", "Віталіївна", "Витальевич", "Витальевна"),
    ("Дмитрович", "Дмитрівна", "Дмитриевич", "Дмитриевна"),
    ("Олегович", "Олегівна", "Олегович", "Олеговна"),
    ("Вікторович", "Вікторівна", "Викторович", "Викторовна"),
    ("Петрович", "Петрівна", "Петрович", "Петровна"),
    ("Васильович", "Василівна", "Васильевич", "Васильевна"),
    ("Ігорович", "Ігорівна", "Игоревич", "Игоревна"),
    ("Романович", "Романівна", "Романович", "Романовна"),
    ("Олексійович", "Олексіївна", "Алексеевич", "Алексеевна"),
    ("Михайлович", "Михайлівна", "Михайлович", "Михайловна"),
    ("Євгенович", "Євгенівна", "Евгеньевич", "Евгеньевна"),
    ("Анатолійович", "Анатоліївна", "Анатольевич", "Анатольевна"),
    ("Богданович", "Богданівна", "Богданович", "Богдановна"),
    ("Тарасович", "Тарасівна", "Тарасович", "Тарасовна"),
    ("Павлович", "Павлівна", "Павлович", "Павловна"),
    ("Геннадійович", "Геннадіївна", "Геннадьевич", "Геннадьевна"),
    ("Валерійович", "Валеріївна", "Валерьевич", "Валерьевна"),
    ("Степанович", "Степанівна", "Степанович", "Степановна"),
]

# --- surnames: the Ukrainian form, "/" the Russian form where it differs ------------------

SURNAMES = """
Мельник Шевченко Бойко Коваленко Бондаренко Ткаченко Ковальчук Кравченко Олійник/Олейник
Шевчук Коваль Поліщук/Полищук Бондар Ткачук Марченко Руденко Савченко Лисенко/Лысенко Мороз
Петренко Клименко Павленко Кузьменко Левченко Іваненко/Иваненко Гаврилюк Харченко Карпенко
Швець/Швец Ярошенко Мазур Романенко Кравець/Кравец Гнатюк Литвиненко Пономаренко Ковальов/Ковалёв
Ковальський/Ковальский Вишневський/Вишневский Савчук Гончаренко Гончар Захарченко Білоус/Белоус
Приходько Кириленко Костенко Демченко Онищенко Panchenko Тищенко Мирошниченко Яковенко Зінченко/Зинченко
Головко Осадчий Сидоренко Юрченко Білик/Белик Соловйов/Соловьёв Кузьмін/Кузьмин Литвин Дяченко/Дьяченко
Волошин Гуменюк Андрієнко/Андриенко Тимошенко Нестеренко Назаренко Дмитренко Власенко Мартинюк
Кучер Гордієнко/Гордиенко Кушнір/Кушнир Семенюк Сорока Паламарчук Ільченко/Ильченко Степаненко
Вакуленко Прокопенко Мельничук Панасюк Кравчук Рибак/Рыбак Остапенко Філатов/Филатов Журавель
Лук'яненко/Лукьяненко Стасюк Денисенко Мирошник Заїка/Заика Федоренко Гуцуляк Слободян Гриценко
Чорновол/Черновол Жук Ігнатенко/Игнатенко Олексієнко/Алексеенко Білан/Белан Бабенко Грищенко
Іванов/Иванов Петров Смирнов Кузнецов Попов Соколов Лебедев Козлов Новиков Морозов Волков
Васильєв/Васильев Зайцев Павлов Семенов/Семёнов Федоров/Фёдоров Михайлов Тарасов Бєлов/Белов
Орлов Макаров Андреєв/Андреев Ковальов/Ковалев Богданов Баранов Романов Сергієнко/Сергиенко
Заболотний/Заболотный Чорний/Черный Білий/Белый Сухий/Сухой Висоцький/Высоцкий Грицай
Пилипенко/Филиппенко Мартиненко Гребенюк Дорошенко Скрипник Коломієць/Коломиец Тарасенко
Максименко Лозинський/Лозинский Заєць/Заяц Пархоменко Яременко Бурлака Кушніренко/Кушниренко
Лобода Лагода Кулик Гавриленко Сидорчук Фесенко Шаповал Бровко Рудий/Рудой Климчук Антонюк
Ковтун Дячук/Дьячук Гайдамака Шульга Сичов/Сычёв Коржов Кисіль/Кисель Осипенко Тимченко Шкода
"""


def _feminine(surname: str) -> str:
    for masc, fem in (
        ("ський", "ська"),
        ("цький", "цька"),
        ("ский", "ская"),
        ("цкий", "цкая"),
        ("ний", "на"),
        ("ный", "ная"),
        ("ий", "а"),
        ("ый", "ая"),
        ("ой", "ая"),
    ):
        if surname.endswith(masc):
            return surname[: -len(masc)] + fem
    if surname.endswith(("ов", "ев", "єв", "ёв", "ин", "ін")):
        return surname + "а"
    return surname


def _surnames() -> list[tuple[str, str]]:
    found = []
    for word in SURNAMES.split():
        if not any("а" <= c.lower() <= "я" or c in "іїєґІЇЄҐ" for c in word):
            continue  # a Latin word slipped into the list
        uk, _, ru = word.partition("/")
        found.append((uk, ru or uk))
    return found


SURNAME_PAIRS = _surnames()

# --- places: the town in Ukrainian, Russian, Latin; its region in Ukrainian and Russian --

TOWNS: list[tuple[str, str, str, str, str]] = [
    ("Маріуполь", "Мариуполь", "Mariupol", "Донецька обл.", "Донецкая обл."),
    ("Донецьк", "Донецк", "Donetsk", "Донецька обл.", "Донецкая обл."),
    ("Краматорськ", "Краматорск", "Kramatorsk", "Донецька обл.", "Донецкая обл."),
    ("Слов'янськ", "Славянск", "Sloviansk", "Донецька обл.", "Донецкая обл."),
    ("Бахмут", "Бахмут", "Bakhmut", "Донецька обл.", "Донецкая обл."),
    ("Горлівка", "Горловка", "Horlivka", "Донецька обл.", "Донецкая обл."),
    ("Макіївка", "Макеевка", "Makiivka", "Донецька обл.", "Донецкая обл."),
    ("Волноваха", "Волноваха", "Volnovakha", "Донецька обл.", "Донецкая обл."),
    ("Авдіївка", "Авдеевка", "Avdiivka", "Донецька обл.", "Донецкая обл."),
    ("Покровськ", "Покровск", "Pokrovsk", "Донецька обл.", "Донецкая обл."),
    ("Луганськ", "Луганск", "Luhansk", "Луганська обл.", "Луганская обл."),
    ("Сєвєродонецьк", "Северодонецк", "Sievierodonetsk", "Луганська обл.", "Луганская обл."),
    ("Лисичанськ", "Лисичанск", "Lysychansk", "Луганська обл.", "Луганская обл."),
    ("Рубіжне", "Рубежное", "Rubizhne", "Луганська обл.", "Луганская обл."),
    ("Старобільськ", "Старобельск", "Starobilsk", "Луганська обл.", "Луганская обл."),
    ("Алчевськ", "Алчевск", "Alchevsk", "Луганська обл.", "Луганская обл."),
    ("Херсон", "Херсон", "Kherson", "Херсонська обл.", "Херсонская обл."),
    ("Нова Каховка", "Новая Каховка", "Nova Kakhovka", "Херсонська обл.", "Херсонская обл."),
    ("Олешки", "Алешки", "Oleshky", "Херсонська обл.", "Херсонская обл."),
    ("Генічеськ", "Геническ", "Henichesk", "Херсонська обл.", "Херсонская обл."),
    ("Скадовськ", "Скадовск", "Skadovsk", "Херсонська обл.", "Херсонская обл."),
    ("Мелітополь", "Мелитополь", "Melitopol", "Запорізька обл.", "Запорожская обл."),
    ("Бердянськ", "Бердянск", "Berdiansk", "Запорізька обл.", "Запорожская обл."),
    ("Енергодар", "Энергодар", "Enerhodar", "Запорізька обл.", "Запорожская обл."),
    ("Токмак", "Токмак", "Tokmak", "Запорізька обл.", "Запорожская обл."),
    ("Запоріжжя", "Запорожье", "Zaporizhzhia", "Запорізька обл.", "Запорожская обл."),
    ("Харків", "Харьков", "Kharkiv", "Харківська обл.", "Харьковская обл."),
    ("Ізюм", "Изюм", "Izium", "Харківська обл.", "Харьковская обл."),
    ("Куп'янськ", "Купянск", "Kupiansk", "Харківська обл.", "Харьковская обл."),
    ("Балаклія", "Балаклея", "Balakliia", "Харківська обл.", "Харьковская обл."),
    ("Вовчанськ", "Волчанск", "Vovchansk", "Харківська обл.", "Харьковская обл."),
    ("Київ", "Киев", "Kyiv", "Київська обл.", "Киевская обл."),
    ("Буча", "Буча", "Bucha", "Київська обл.", "Киевская обл."),
    ("Ірпінь", "Ирпень", "Irpin", "Київська обл.", "Киевская обл."),
    ("Бородянка", "Бородянка", "Borodianka", "Київська обл.", "Киевская обл."),
    ("Чернігів", "Чернигов", "Chernihiv", "Чернігівська обл.", "Черниговская обл."),
    ("Суми", "Сумы", "Sumy", "Сумська обл.", "Сумская обл."),
    ("Охтирка", "Ахтырка", "Okhtyrka", "Сумська обл.", "Сумская обл."),
    ("Миколаїв", "Николаев", "Mykolaiv", "Миколаївська обл.", "Николаевская обл."),
    ("Одеса", "Одесса", "Odesa", "Одеська обл.", "Одесская обл."),
    ("Дніпро", "Днепр", "Dnipro", "Дніпропетровська обл.", "Днепропетровская обл."),
    ("Кривий Ріг", "Кривой Рог", "Kryvyi Rih", "Дніпропетровська обл.", "Днепропетровская обл."),
    ("Нікополь", "Никополь", "Nikopol", "Дніпропетровська обл.", "Днепропетровская обл."),
    ("Полтава", "Полтава", "Poltava", "Полтавська обл.", "Полтавская обл."),
    ("Львів", "Львов", "Lviv", "Львівська обл.", "Львовская обл."),
    ("Сімферополь", "Симферополь", "Simferopol", "АР Крим", "Республика Крым"),
    ("Євпаторія", "Евпатория", "Yevpatoriia", "АР Крим", "Республика Крым"),
]
# Where children taken to Russia were found (as records of Russian authorities name them).
RUSSIAN_TOWNS: list[tuple[str, str, str]] = [
    ("Таганрог", "Taganrog", "Ростовская обл."),
    ("Ростов-на-Дону", "Rostov-na-Donu", "Ростовская обл."),
    ("Новочеркасск", "Novocherkassk", "Ростовская обл."),
    ("Москва", "Moskva", "Москва"),
    ("Подольск", "Podolsk", "Московская обл."),
    ("Краснодар", "Krasnodar", "Краснодарский край"),
    ("Анапа", "Anapa", "Краснодарский край"),
    ("Геленджик", "Gelendzhik", "Краснодарский край"),
    ("Белгород", "Belgorod", "Белгородская обл."),
    ("Курск", "Kursk", "Курская обл."),
    ("Воронеж", "Voronezh", "Воронежская обл."),
    ("Нижний Новгород", "Nizhny Novgorod", "Нижегородская обл."),
    ("Казань", "Kazan", "Республика Татарстан"),
    ("Екатеринбург", "Yekaterinburg", "Свердловская обл."),
    ("Тюмень", "Tyumen", "Тюменская обл."),
    ("Омск", "Omsk", "Омская обл."),
    ("Пенза", "Penza", "Пензенская обл."),
    ("Калининград", "Kaliningrad", "Калининградская обл."),
    ("Мурманск", "Murmansk", "Мурманская обл."),
    ("Псков", "Pskov", "Псковская обл."),
    ("Грозный", "Groznyy", "Чеченская Республика"),
]

# --- spellings -------------------------------------------------------------------------

_UK_LATIN: list[tuple[Any, int]] = [
    (UkrainianKMU, 70),
    (UkrainianPassport2007, 20),
    (UkrainianNational1996, 10),
]
_RU_LATIN: list[tuple[Any, int]] = [
    (iuliia.ICAO_DOC_9303, 35),
    (iuliia.MVD_310, 15),
    (iuliia.MVD_782, 15),
    (iuliia.BGN_PCGN, 15),
    (iuliia.WIKIPEDIA, 15),
    (iuliia.TELEGRAM, 5),
]


T = TypeVar("T")


def _pick(rnd: random.Random, weighted: list[tuple[T, int]]) -> T:
    return rnd.choices([w for w, _ in weighted], weights=[n for _, n in weighted])[0]


def latin(text: str, lang: str, rnd: random.Random) -> str:
    """A Latin spelling of a Cyrillic text, drawn by how often each system is met: for
    Ukrainian, the national system of 2010 and the passports' before it; for Russian, the
    passports' (2013, 1997, 2010), BGN/PCGN, Wikipedia's and, rarely, Telegram's."""
    if lang == "uk":
        return str(translit(text, _pick(rnd, _UK_LATIN))).replace("'", "")
    schema = _pick(rnd, _RU_LATIN)
    return str(schema.translate(text)).replace("’", "").replace("'", "")


# ЙЦУКЕН neighbours, for typos.
_ROWS = ["йцукенгшщзхї", "фівапролджє", "ячсмитьбю"]
_NEIGHBOURS: dict[str, str] = {}
for _row in _ROWS:
    for _i, _c in enumerate(_row):
        _NEIGHBOURS[_c] = _row[max(0, _i - 1) : _i] + _row[_i + 1 : _i + 2]


def typo(word: str, rnd: random.Random) -> str:
    """One slip of the finger: a neighbouring key, a letter left out, doubled, or swapped."""
    if len(word) < 4:
        return word
    position = rnd.randrange(1, len(word)) if rnd.random() < 0.85 else 0
    letter = word[position].lower()
    kind = rnd.choice(["neighbour", "neighbour", "drop", "double", "swap"])
    if kind == "neighbour" and _NEIGHBOURS.get(letter):
        new = rnd.choice(_NEIGHBOURS[letter])
        new = new.upper() if word[position].isupper() else new
        return word[:position] + new + word[position + 1 :]
    if kind == "drop" and position > 0:
        return word[:position] + word[position + 1 :]
    if kind == "swap" and 0 < position < len(word) - 1:
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    return word[:position] + word[position] + word[position:]


# --- identities and how they are written --------------------------------------------------


@dataclass(frozen=True)
class Identity:
    surname: int  # index in SURNAME_PAIRS
    sex: str  # "male" / "female"
    given: int  # index in BOYS or GIRLS
    father: int  # index in FATHERS
    birth: date
    town: int  # index in TOWNS
    other_town: int | None  # a second Ukrainian place (separation), or None

    @property
    def names(self) -> tuple[str, str, tuple[str, ...]]:
        return (BOYS if self.sex == "male" else GIRLS)[self.given]


@dataclass(frozen=True)
class Style:
    lang: str = "uk"  # "uk" / "ru": the form of the names
    script: str = "cyr"  # "cyr" / "lat"
    order: str = "sgp"  # "sgp": surname given patronymic, "gs": given surname, "gps"
    patronymic: bool = True
    diminutive: str | None = None  # written instead of the first name
    alias: str | None = None
    birth: str = "date"  # "date", "year", "approx", "none"
    approx_error: int = 0  # an age-based estimate's year off by this much
    sex: bool = True  # the sex stated
    places: str = "home"  # "home": the Ukrainian places; "found": a Russian town; "both"
    place_lang: str = "uk"  # "uk", "ru", "lat"
    russian_town: int = 0
    typo_in: str | None = None  # "surname" / "given"
    typo_seed: int = 0


def render(person: Identity, style: Style) -> PersonFacts:
    uk_surname, ru_surname = SURNAME_PAIRS[person.surname]
    surname = uk_surname if style.lang == "uk" else ru_surname
    if person.sex == "female":
        surname = _feminine(surname)
    uk_given, ru_given, _ = person.names
    given = style.diminutive or (uk_given if style.lang == "uk" else ru_given)
    fathers = FATHERS[person.father]
    male = person.sex == "male"
    patronymic = fathers[(0 if male else 1) + (0 if style.lang == "uk" else 2)]
    if style.typo_in:
        rnd = random.Random(style.typo_seed)
        if style.typo_in == "surname":
            surname = typo(surname, rnd)
        else:
            given = typo(given, rnd)
    if style.order == "gs" or not style.patronymic:
        parts = [given, surname] if style.order in ("gs", "gps") else [surname, given]
    elif style.order == "gps":
        parts = [given, patronymic, surname]
    else:
        parts = [surname, given, patronymic]
    name = " ".join(parts)
    if style.script == "lat":
        name = latin(name, style.lang, random.Random(style.typo_seed + 7))
    birth_date: date | None = None
    birth_year: int | None = None
    approx = False
    if style.birth == "date":
        birth_date = person.birth
    elif style.birth == "year":
        birth_year = person.birth.year
    elif style.birth == "approx":
        birth_year, approx = person.birth.year + style.approx_error, True
    places: list[str] = []
    if style.places in ("home", "both"):
        for town in (person.town, person.other_town):
            if town is None:
                continue
            uk, ru, lat, uk_region, ru_region = TOWNS[town]
            if style.place_lang == "uk":
                places.append(f"{uk}, {uk_region}" if town == person.town else uk)
            elif style.place_lang == "ru":
                places.append(f"г. {ru}, {ru_region}" if town == person.town else ru)
            else:
                places.append(lat)
    if style.places in ("found", "both"):
        ru, lat, region = RUSSIAN_TOWNS[style.russian_town]
        places.append(f"{ru}, {region}" if style.place_lang != "lat" else lat)
    return PersonFacts(
        name=name,
        aliases=style.alias,
        sex=person.sex if style.sex else None,
        birth_date=birth_date,
        birth_year=birth_year,
        birth_year_approx=approx,
        places=tuple(places),
    )


def random_identity(rnd: random.Random, used: set[tuple[int, str, int]] | None = None) -> Identity:
    for _ in range(1000):
        sex = rnd.choice(["male", "female"])
        names = BOYS if sex == "male" else GIRLS
        # Popular names are drawn more often (the lists run from the most common).
        given = min(int(rnd.paretovariate(1.2)) - 1, len(names) - 1)
        given = given if rnd.random() < 0.6 else rnd.randrange(len(names))
        surname = rnd.randrange(len(SURNAME_PAIRS))
        if used is not None:
            key = (surname, sex, given)
            if key in used:
                continue
            used.add(key)
        break
    start = date(2006, 1, 1)
    birth = start + timedelta(days=rnd.randrange((date(2022, 12, 31) - start).days))
    town = rnd.randrange(len(TOWNS))
    other = rnd.randrange(len(TOWNS)) if rnd.random() < 0.3 else None
    return Identity(surname, sex, given, rnd.randrange(len(FATHERS)), birth, town, other)


def random_style(rnd: random.Random) -> Style:
    lang = "uk" if rnd.random() < 0.7 else "ru"
    return Style(
        lang=lang,
        script="lat" if rnd.random() < 0.15 else "cyr",
        order=rnd.choices(["sgp", "gs", "gps"], weights=[70, 20, 10])[0],
        patronymic=rnd.random() < 0.6,
        birth=rnd.choices(["date", "year", "approx", "none"], weights=[60, 22, 15, 3])[0],
        approx_error=rnd.choice([0, 0, 0, 1, -1]),
        sex=rnd.random() < 0.85,
        places=rnd.choices(["home", "found", "both"], weights=[60, 20, 20])[0],
        place_lang=rnd.choices(["uk", "ru", "lat"], weights=[55, 30, 15])[0]
        if lang == "uk"
        else "ru",
        russian_town=rnd.randrange(len(RUSSIAN_TOWNS)),
        typo_seed=rnd.randrange(10**6),
    )


def realistic_people(n: int, seed: int) -> list[PersonFacts]:
    """`n` different children, written the many ways families and records write them."""
    rnd = random.Random(seed)
    return [render(random_identity(rnd), random_style(rnd)) for _ in range(n)]


# --- the labelled set ----------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    a: PersonFacts
    b: PersonFacts
    same: bool
    kind: str


def _family_style(rnd: random.Random) -> Style:
    """How a family writes a request: Cyrillic, its own language, full name, the home town."""
    lang = "uk" if rnd.random() < 0.75 else "ru"
    return Style(
        lang=lang,
        order=rnd.choices(["sgp", "gs", "gps"], weights=[75, 20, 5])[0],
        patronymic=rnd.random() < 0.7,
        birth=rnd.choices(["date", "year", "approx"], weights=[70, 20, 10])[0],
        approx_error=rnd.choice([0, 0, 1, -1]),
        sex=rnd.random() < 0.9,
        places="home",
        place_lang=lang if rnd.random() < 0.8 else "lat",
        russian_town=rnd.randrange(len(RUSSIAN_TOWNS)),
        typo_seed=rnd.randrange(10**6),
    )


def _record_style(rnd: random.Random, base: Style) -> Style:
    """How the same child is written elsewhere: a record of a located child, another family
    member's request, a list from an organisation."""
    return replace(
        base,
        birth=rnd.choices(["date", "year", "approx", "none"], weights=[50, 25, 20, 5])[0],
        approx_error=rnd.choice([0, 0, 1, -1]),
        sex=rnd.random() < 0.8,
        places=rnd.choices(["home", "found", "both"], weights=[45, 25, 30])[0],
        place_lang=rnd.choice(["uk", "ru", "lat"]),
        russian_town=rnd.randrange(len(RUSSIAN_TOWNS)),
        typo_seed=rnd.randrange(10**6),
    )


_POSITIVE_KINDS = [
    ("translit", 20),
    ("uk_ru", 20),
    ("ru_latin", 10),
    ("diminutive", 16),
    ("typo", 18),
    ("order", 10),
    ("patronymic_missing", 10),
    ("year_vs_date", 10),
    ("alias", 8),
    ("mixed", 16),
]
_NEGATIVE_KINDS = [
    ("hard_negative_same_surname_sibling", 28),
    ("hard_negative_namesake", 18),
    ("hard_negative_similar_name_other_sex", 16),
    ("hard_negative_similar_name", 16),
    ("hard_negative_same_year_same_city", 14),
    ("hard_negative_twin", 12),
    ("hard_negative_cousin", 12),
    ("hard_negative_similar_surname", 12),
]
# Negatives that only the birth tells apart are written with a date or a year, not an age.
_BIRTH_DECIDES = ("hard_negative_namesake", "hard_negative_cousin")


def _transform(kind: str, person: Identity, base: Style, rnd: random.Random) -> Style:
    record = _record_style(rnd, base)
    if kind == "translit":
        return replace(record, script="lat", lang="uk" if base.lang == "uk" else "ru")
    if kind == "uk_ru":
        return replace(record, lang="ru" if base.lang == "uk" else "uk")
    if kind == "ru_latin":
        return replace(record, script="lat", lang="ru")
    if kind == "diminutive":
        diminutives = person.names[2]
        if not diminutives:
            return replace(record, lang="ru" if base.lang == "uk" else "uk")
        return replace(record, diminutive=rnd.choice(diminutives), order="gs")
    if kind == "typo":
        return replace(record, typo_in="surname" if rnd.random() < 0.65 else "given")
    if kind == "order":
        return replace(record, order="gs" if base.order != "gs" else "sgp")
    if kind == "patronymic_missing":
        return replace(record, patronymic=not base.patronymic or rnd.random() < 0.5)
    if kind == "year_vs_date":
        return replace(record, birth=rnd.choice(["year", "approx"]))
    if kind == "alias":
        diminutives = person.names[2]
        alias = rnd.choice(diminutives) if diminutives else None
        return replace(record, script="lat", alias=alias)
    # mixed: two of the above
    first, second = rnd.sample(["translit", "uk_ru", "diminutive", "typo", "order"], 2)
    return _transform(second, person, _transform(first, person, base, rnd), rnd)


def _key(person: Identity) -> tuple[int, str, int]:
    return (person.surname, person.sex, person.given)


def _hand_keys(pairs: list[Pair]) -> set[tuple[int, str, int]]:
    """The (surname, sex, first name) of the hand-written persons, for the generator to avoid."""
    surnames: dict[str, int] = {}
    for i, (uk, ru) in enumerate(SURNAME_PAIRS):
        for form in (uk, ru, _feminine(uk), _feminine(ru)):
            surnames[form] = i
    given: dict[str, tuple[str, int]] = {}
    for sex, names in (("male", BOYS), ("female", GIRLS)):
        for i, (uk, ru, diminutives) in enumerate(names):
            for form in (uk, ru, *diminutives):
                given.setdefault(form, (sex, i))
    keys = set()
    for pair in pairs:
        for facts in (pair.a, pair.b):
            words = facts.name.split()
            found_surnames = [surnames[w] for w in words if w in surnames]
            found_given = [given[w] for w in words if w in given]
            for surname in found_surnames:
                for sex, i in found_given:
                    keys.add((surname, sex, i))
    return keys


def _generated_pairs(rnd: random.Random, avoid: set[tuple[int, str, int]]) -> list[Pair]:
    """Each hard negative next to a positive: the child a family looks for (A) is written
    again elsewhere (A', same person) and a look-alike (B) exists too, so that ranking A
    meets both. Persons of different pairs share no surname and first name."""
    used = set(avoid)
    pairs: list[Pair] = []
    positive_kinds = [kind for kind, count in _POSITIVE_KINDS for _ in range(count)]
    rnd.shuffle(positive_kinds)
    for kind, count in _NEGATIVE_KINDS:
        made = 0
        while made < count:
            a, b = _negative(kind, random_identity(rnd), rnd)
            keys = {_key(a), _key(b)}
            if keys & used:
                continue
            used |= keys
            base = _family_style(rnd)
            other_style = _record_style(rnd, base)
            if rnd.random() < 0.3:
                other_style = replace(other_style, lang="ru" if base.lang == "uk" else "uk")
            if kind in ("hard_negative_same_surname_sibling", "hard_negative_twin"):
                other_style = replace(other_style, places="home")
            if kind in _BIRTH_DECIDES:
                order = rnd.choice(["sgp", "gps"])  # with the patronymic shown
                base = replace(
                    base, birth=rnd.choice(["date", "year"]), patronymic=True, order=order
                )
                other_style = replace(
                    other_style, birth=rnd.choice(["date", "year"]), patronymic=True, order=order
                )
            positive = positive_kinds.pop() if positive_kinds else "uk_ru"
            again = _transform(positive, a, base, rnd)
            if kind in _BIRTH_DECIDES:
                # What tells the two apart must be in the second writing too.
                again = replace(
                    again,
                    birth=rnd.choice(["date", "year"]),
                    patronymic=True,
                    order=rnd.choice(["sgp", "gps"]),
                )
            anchor = render(a, base)
            pairs.append(Pair(anchor, render(a, again), True, positive))
            pairs.append(Pair(anchor, render(b, other_style), False, kind))
            made += 1
    for positive in positive_kinds:  # the positives left over stand alone
        person = random_identity(rnd, used)
        base = _family_style(rnd)
        pairs.append(
            Pair(
                render(person, base),
                render(person, _transform(positive, person, base, rnd)),
                True,
                positive,
            )
        )
    return pairs


def _index_of(names: list[tuple[str, str, tuple[str, ...]]], uk: str) -> int:
    return next(i for i, n in enumerate(names) if n[0] == uk)


def _other_given(person: Identity, rnd: random.Random, sex: str | None = None) -> tuple[str, int]:
    sex = sex or rnd.choice(["male", "female"])
    names = BOYS if sex == "male" else GIRLS
    while True:
        given = rnd.randrange(len(names))
        if sex != person.sex or names[given][1] != person.names[1]:  # Анна and Ганна are one
            return sex, given


def _negative(kind: str, person: Identity, rnd: random.Random) -> tuple[Identity, Identity]:
    """Two different children that look alike, the first one based on `person`."""

    def born(years_apart: int, spread: int = 150) -> date:
        days = years_apart * 365 + rnd.randint(-spread, spread)
        return person.birth + timedelta(days=days)

    shifted = born(rnd.choice([2, 2, 3, 3, 4]) * rnd.choice([1, -1]))
    if kind == "hard_negative_same_surname_sibling":
        sex, given = _other_given(person, rnd)
        return person, replace(person, sex=sex, given=given, birth=shifted)
    if kind == "hard_negative_twin":
        sex, given = _other_given(person, rnd)
        return person, replace(person, sex=sex, given=given)
    if kind == "hard_negative_namesake":
        birth = born(rnd.choice([2, 3, 4, 5, 6]) * rnd.choice([1, -1]))
        town = (person.town + rnd.randrange(5, len(TOWNS) - 5)) % len(TOWNS)
        father = (person.father + 1) % len(FATHERS)
        return person, replace(person, birth=birth, town=town, other_town=None, father=father)
    if kind == "hard_negative_cousin":  # born in the year before or after, another father
        year = person.birth.year + rnd.choice([1, -1])
        birth = date(year, 1, 1) + timedelta(days=rnd.randrange(365))
        town = (person.town + rnd.randrange(3, len(TOWNS) - 3)) % len(TOWNS)
        father = (person.father + 3) % len(FATHERS)
        return person, replace(person, birth=birth, town=town, other_town=None, father=father)
    if kind == "hard_negative_similar_name_other_sex":
        boy, girl = rnd.choice(SIMILAR_ACROSS_SEX)
        a = replace(person, sex="male", given=_index_of(BOYS, boy))
        b = replace(person, sex="female", given=_index_of(GIRLS, girl), birth=shifted)
        return (a, b) if rnd.random() < 0.5 else (b, a)
    if kind == "hard_negative_similar_name":
        first, second = rnd.choice(SIMILAR_SAME_SEX)
        sex = "male" if any(n[0] == first for n in BOYS) else "female"
        names = BOYS if sex == "male" else GIRLS
        a = replace(person, sex=sex, given=_index_of(names, first))
        return a, replace(a, given=_index_of(names, second), birth=shifted)
    if kind == "hard_negative_similar_surname":
        first, second = rnd.choice(SIMILAR_SURNAMES)
        index = {uk: i for i, (uk, _) in enumerate(SURNAME_PAIRS)}
        a = replace(person, surname=index[first])
        return a, replace(a, surname=index[second], birth=shifted)
    # hard_negative_same_year_same_city: a different child born the same year in the same town
    other = random_identity(rnd)
    while _key(other)[0] == person.surname:
        other = random_identity(rnd)
    birth = date(person.birth.year, 1, 1) + timedelta(days=rnd.randrange(365))
    return person, replace(other, birth=birth, town=person.town)


SIMILAR_SURNAMES = [
    ("Коваленко", "Ковальчук"),
    ("Шевченко", "Шевчук"),
    ("Бондар", "Бондаренко"),
    ("Кравець", "Кравченко"),
    ("Мельник", "Мельничук"),
    ("Гончар", "Гончаренко"),
    ("Ткачук", "Ткаченко"),
    ("Кравчук", "Кравченко"),
    ("Мирошник", "Мирошниченко"),
    ("Савчук", "Савченко"),
    ("Кушнір", "Кушніренко"),
    ("Литвин", "Литвиненко"),
]


# Hand-written: the examples of the issue, and cases a generator does not make.
_HAND = """
Ковальчук Олександр Петрович||male|2012-03-14|Маріуполь, Донецька обл.|Oleksandr Kovalchuk||male|2012-03-14|Mariupol|1|translit
Ковальчук Олександр Петрович||male|2012-03-14|Маріуполь, Донецька обл.|Ковальчук Александр Петрович||male|2012|г. Мариуполь|1|uk_ru
Ковальчук Олександр Петрович||male|2012-03-14|Маріуполь, Донецька обл.|Alexander Kowalczuk|||2012|Mariupol|1|translit_polish
Ковальчук Олександр Петрович||male|2012-03-14|Маріуполь, Донецька обл.|Саша Ковальчук||male|~2011|Таганрог, Ростовская обл.|1|diminutive
Ковальчук Олександр Петрович||male|2012-03-14|Маріуполь, Донецька обл.|Ковальчук Олександра Петрівна||female|2015-06-02|Маріуполь, Донецька обл.|0|hard_negative_similar_name_other_sex
Ковальчук Олександра Петрівна||female|2015-06-02|Маріуполь, Донецька обл.|Kovalchuk Oleksandra||female|2015|Mariupol|1|translit
Шевченко Катерина Андріївна||female|2014-09-01|Бердянськ, Запорізька обл.|Шевченко Екатерина Андреевна||female|2014-09-01|Бердянск|1|uk_ru
Шевченко Катерина Андріївна||female|2014-09-01|Бердянськ, Запорізька обл.|Kateryna Shevchenko||female|2014|Berdiansk|1|translit
Шевченко Катерина Андріївна||female|2014-09-01|Бердянськ, Запорізька обл.|Ekaterina Shevchenko||female|~2013|Анапа, Краснодарский край|1|ru_latin
Шевченко Катерина Андріївна||female|2014-09-01|Бердянськ, Запорізька обл.|Катя Шевченко|Катруся||2014|Бердянськ|1|diminutive
Шевченко Катерина Андріївна||female|2014-09-01|Бердянськ, Запорізька обл.|Шевченко Марія Андріївна||female|2011-02-17|Бердянськ, Запорізька обл.|0|hard_negative_same_surname_sibling
Олійник Наталія Сергіївна||female|2010-11-23|Херсон|Олейник Наталья Сергеевна||female|2010-11-23|г. Херсон|1|uk_ru
Олійник Наталія Сергіївна||female|2010-11-23|Херсон|Natalia Oliinyk||female|2010|Kherson|1|translit
Олійник Наталія Сергіївна||female|2010-11-23|Херсон|Наташа Олейник|||~2011|Крым, Евпатория|1|diminutive
Олійник Наталія Сергіївна||female|2010-11-23|Херсон|Олійник Наталія Вікторівна||female|2008-05-12|Київ|0|hard_negative_namesake
Гнатюк Юрій Васильович||male|2009-04-30|Ізюм, Харківська обл.|Гнатюк Юрий Васильевич||male|2009-04-30|Изюм|1|uk_ru
Гнатюк Юрій Васильович||male|2009-04-30|Ізюм, Харківська обл.|Yurii Hnatiuk||male|2009|Izium|1|translit
Гнатюк Юрій Васильович||male|2009-04-30|Ізюм, Харківська обл.|Yuriy Gnatyuk||male|~2009|Belgorod|1|ru_latin
Гнатюк Юрій Васильович||male|2009-04-30|Ізюм, Харківська обл.|Юра Гнатюк|||2009|Ізюм|1|diminutive
Гнатюк Юрій Васильович||male|2009-04-30|Ізюм, Харківська обл.|Гнатюк Юлія Василівна||female|2009-04-30|Ізюм, Харківська обл.|0|hard_negative_twin
Кравець Сергій Іванович||male|2013-07-07|Мелітополь|Кравец Сергей Иванович||male|2013-07-07|Мелитополь|1|uk_ru
Кравець Сергій Іванович||male|2013-07-07|Мелітополь|Serhii Kravets||male|2013|Melitopol|1|translit
Кравець Сергій Іванович||male|2013-07-07|Мелітополь|Sergey Kravets||male|2013|Moskva|1|ru_latin
Кравець Сергій Іванович||male|2013-07-07|Мелітополь|Серёжа Кравец|Сергійко||~2014|Мелитополь|1|diminutive
Кравець Сергій Іванович||male|2013-07-07|Мелітополь|Кравченко Сергій Іванович||male|2013-03-21|Мелітополь|0|hard_negative_similar_surname
Ковальський Андрій Олегович||male|2011-01-19|Сєвєродонецьк|Ковальский Андрей Олегович||male|2011-01-19|Северодонецк|1|uk_ru
Ковальський Андрій Олегович||male|2011-01-19|Сєвєродонецьк|Andrii Kovalskyi||male|2011|Sievierodonetsk|1|translit
Ковальський Андрій Олегович||male|2011-01-19|Сєвєродонецьк|Andrey Kovalsky|||2011|Rostov-na-Donu|1|ru_latin
Ковальський Андрій Олегович||male|2011-01-19|Сєвєродонецьк|Kovalskiy Andrei||male|~2011||1|ru_latin
Ковальський Андрій Олегович||male|2011-01-19|Сєвєродонецьк|Ковальська Андріана Олегівна||female|2014-08-08|Сєвєродонецьк|0|hard_negative_similar_name_other_sex
Литвиненко Олена Миколаївна||female|2016-12-05|Нова Каховка|Литвиненко Елена Николаевна||female|2016-12-05|Новая Каховка|1|uk_ru
Литвиненко Олена Миколаївна||female|2016-12-05|Нова Каховка|Olena Lytvynenko||female|2016|Nova Kakhovka|1|translit
Литвиненко Олена Миколаївна||female|2016-12-05|Нова Каховка|Литвиненко Оленка|||~2016|Херсонська обл.|1|diminutive
Бондаренко Ганна Юріївна||female|2007-02-11|Луганськ|Бондаренко Анна Юрьевна||female|2007-02-11|Луганск|1|uk_ru
Бондаренко Ганна Юріївна||female|2007-02-11|Луганськ|Hanna Bondarenko||female|2007|Luhansk|1|translit
Бондаренко Ганна Юріївна||female|2007-02-11|Луганськ|Anna Bondarenko||female|2007|Omsk|1|ru_latin
Ткачук Микола Дмитрович||male|2015-05-25|Харків|Ткачук Николай Дмитриевич||male|2015-05-25|Харьков|1|uk_ru
Ткачук Микола Дмитрович||male|2015-05-25|Харків|Mykola Tkachuk||male|~2015|Kharkiv|1|translit
Ткачук Микола Дмитрович||male|2015-05-25|Харків|Коля Ткачук|||2015||1|diminutive
Ткачук Микола Дмитрович||male|2015-05-25|Харків|Ткачук Михайло Дмитрович||male|2012-10-30|Харків|0|hard_negative_same_surname_sibling
Мельник Дмитро Олександрович||male|2010-08-16|Бахмут|Мельник Дмитрий Александрович||male|2010-08-16|Артемовск|1|uk_ru
Мельник Дмитро Олександрович||male|2010-08-16|Бахмут|Dmytro Melnyk||male|2010|Bakhmut|1|translit
Мельник Дмитро Олександрович||male|2010-08-16|Бахмут|Мельник Діма|||2010|Бахмут|1|diminutive
Мельник Дмитро Олександрович||male|2010-08-16|Бахмут|Мельник Дмитро Васильович||male|2014-01-09|Одеса|0|hard_negative_namesake
Мельник Дмитро Олександрович||male|2010-08-16|Бахмут|Мельничук Дмитро Олександрович||male|2007-03-03|Бахмут|0|hard_negative_similar_surname
Євгенія Коваленко||female|2012-06-18|Маріуполь|Женя Коваленко|||2012|Мариуполь|1|diminutive
Євгенія Коваленко||female|2012-06-18|Маріуполь|Коваленко Євген Ігорович||male|2010-01-27|Маріуполь|0|hard_negative_similar_name_other_sex
Коваленко Євген Ігорович||male|2010-01-27|Маріуполь|Женя Коваленко||male|~2010|Таганрог|1|diminutive
Іван Ковальчук||male|2013-10-10|Херсон|Іванна Ковальчук||female|2013-10-10|Херсон|0|hard_negative_twin
Андрій Петренко||male|2014-04-04|Ірпінь|Андріана Петренко||female|2016-07-21|Ірпінь|0|hard_negative_similar_name_other_sex
Андрій Петренко||male|2014-04-04|Ірпінь|Петренко Андрей||male|2014|Ирпень|1|uk_ru
Бойко Олександр Вікторович||male|2011-05-05|Київ|Бойко Олександр Сергійович||male|2011-09-13|Львів|0|hard_negative_namesake_same_year
Шевчук Максим||male|2012|Маріуполь|Шевчук Максим||male|2016|Маріуполь|0|hard_negative_namesake
Гаврилюк Софія Іванівна||female|2015-03-03|Енергодар|Гаврилюк Софья Ивановна||female|2015-03-03|Энергодар|1|uk_ru
Гаврилюк Софія Іванівна||female|2015-03-03|Енергодар|Sofiia Havryliuk|Соня||2015|Enerhodar|1|translit
Гаврилюк Софія Іванівна||female|2015-03-03|Енергодар|Гаврилюк Софійка|||~2014||1|diminutive
Гаврилюк Софія Іванівна||female|2015-03-03|Енергодар|Гаврилюк Соломія Іванівна||female|2012-12-12|Енергодар|0|hard_negative_same_surname_sibling
Ярошенко Ярослав Ігорович||male|2008-08-08|Чернігів|Ярошенко Ярослава Игоревна||female|2008-08-08|Чернигов|0|hard_negative_twin
Ярошенко Ярослав Ігорович||male|2008-08-08|Чернігів|Yaroslav Yaroshenko||male|2008|Chernihiv|1|translit
Мазур Марія||female|2017-02-02|Охтирка|Мазур Марина||female|2017-06-30|Охтирка|0|hard_negative_similar_name
Мазур Марія||female|2017-02-02|Охтирка|Maria Mazur|Маша|female|~2017|Kursk|1|ru_latin
Кузьмін Данило Павлович||male|2009-09-09|Лисичанськ|Кузьмин Даниил Павлович||male|2009-09-09|Лисичанск|1|uk_ru
Кузьмін Данило Павлович||male|2009-09-09|Лисичанськ|Кузьміна Дарина Павлівна||female|2012-04-01|Лисичанськ|0|hard_negative_same_surname_sibling
Соловйов Михайло Романович||male|2013-01-01|Рубіжне|Соловьёв Михаил Романович||male|2013-01-01|Рубежное|1|uk_ru
Соловйов Михайло Романович||male|2013-01-01|Рубіжне|Mikhail Solovyov||male|2013|Voronezh|1|ru_latin
Соловйов Михайло Романович||male|2013-01-01|Рубіжне|Соловйов Мишко|||2013|Рубіжне|1|diminutive
Бойчук Олександр Вікторович||male|2008-10-03|Енергодар, Запорізька обл.|Aleksandr Boichuk||male|~2008|Taganrog|1|ru_latin
Бойчук Олександр Вікторович||male|2008-10-03|Енергодар, Запорізька обл.|Бойчук Сашко||male|2008|Енергодар|1|diminutive
Бойчук Олександр Вікторович||male|2008-10-03|Енергодар, Запорізька обл.|Бойчук Олексанр Вікторович||male|2008-10-03|Енергодар|1|typo
Бойчук Олександр Вікторович||male|2008-10-03|Енергодар, Запорізька обл.|Бойчкук Олександр||male|2008|Енергодар|1|typo
Ковальчук Олександр Петрович||male|2012-03-14|Маріуполь, Донецька обл.|Ковальчкук Олександр||male|2012|Маріуполь|1|typo
Петренко Олександр||male|2016-01-12|Токмак|Олександр Петренко||male|2016-01-12|Токмак|1|order
Петренко Олександр||male|2016-01-12|Токмак|Петренко Олександр||male|2010-11-05|Харків|0|hard_negative_namesake
Петренко Олександр||male|2016-01-12|Токмак|Петренко Олексій||male|2016-01-12|Токмак|0|hard_negative_similar_name
"""


def _facts_from_row(row: dict[str, str], side: str) -> PersonFacts:
    birth = row[f"{side}_birth"]
    birth_date = birth_year = None
    approx = False
    if birth.startswith("~"):
        birth_year, approx = int(birth[1:]), True
    elif len(birth) == 4:
        birth_year = int(birth)
    elif birth:
        birth_date = date.fromisoformat(birth)
    places = tuple(p for p in row[f"{side}_places"].split("|") if p)
    return PersonFacts(
        name=row[f"{side}_name"],
        aliases=row[f"{side}_aliases"] or None,
        sex=row[f"{side}_sex"] or None,
        birth_date=birth_date,
        birth_year=birth_year,
        birth_year_approx=approx,
        places=places,
    )


COLUMNS = [
    "a_name",
    "a_aliases",
    "a_sex",
    "a_birth",
    "a_places",
    "b_name",
    "b_aliases",
    "b_sex",
    "b_birth",
    "b_places",
    "same",
    "kind",
]


def _hand_pairs() -> list[Pair]:
    pairs = []
    for line in _HAND.strip().splitlines():
        cells = line.split("|")
        # places may not hold "|" here: one place per side
        row = dict(zip(COLUMNS, cells, strict=True))
        pairs.append(
            Pair(
                _facts_from_row(row, "a"),
                _facts_from_row(row, "b"),
                row["same"] == "1",
                row["kind"],
            )
        )
    return pairs


def labelled_pairs(seed: int = 20261201) -> list[Pair]:
    rnd = random.Random(seed)
    hand = _hand_pairs()
    return hand + _generated_pairs(rnd, _hand_keys(hand))


def _birth_cell(facts: PersonFacts) -> str:
    if facts.birth_date:
        return facts.birth_date.isoformat()
    if facts.birth_year:
        return f"~{facts.birth_year}" if facts.birth_year_approx else str(facts.birth_year)
    return ""


def to_csv(pairs: list[Pair]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for pair in pairs:
        cells = []
        for facts in (pair.a, pair.b):
            cells += [
                facts.name,
                facts.aliases or "",
                facts.sex or "",
                _birth_cell(facts),
                "|".join(facts.places),
            ]
        writer.writerow([*cells, "1" if pair.same else "0", pair.kind])
    return out.getvalue()


def read_pairs(text: str) -> list[Pair]:
    return [
        Pair(_facts_from_row(row, "a"), _facts_from_row(row, "b"), row["same"] == "1", row["kind"])
        for row in csv.DictReader(io.StringIO(text))
    ]


def main(argv: list[str]) -> None:
    if argv[:1] == ["pairs"]:
        sys.stdout.write(to_csv(labelled_pairs()))
    elif argv[:1] == ["people"]:
        for person in realistic_people(int(argv[1]) if len(argv) > 1 else 20, seed=1):
            print(person)
    else:
        print(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
