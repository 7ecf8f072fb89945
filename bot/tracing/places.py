"""Places written freely ("Маріуполь, Донецька обл.", "Mariupol", "г. Мариуполь"), compared.

A small gazetteer of the Ukrainian towns and regions the war has touched most and of the
Russian places children were taken to: each town with its Ukrainian, Russian and former
names, each region with its adjective forms. Latin spellings need not be listed: the
phonetic form (`phonetic.phon`) of "Kharkiv" is that of "Харків". A place not in the
gazetteer (a village) is still compared word by word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from bot.tracing.phonetic import phon, skeleton

# region id | its names (adjective forms, colloquial names) ; its towns, each "name/name/..."
_GAZETTEER = """
vinnytska | Вінницька Винницкая Вінниччина Vinnytska ; Вінниця/Винница
volynska | Волинська Волынская Волинь Волынь ; Луцьк/Луцк, Ковель
dnipropetrovska | Дніпропетровська Днепропетровская Дніпровська Дніпропетровщина Днепропетровщина ; Дніпро/Днепр/Дніпропетровськ/Днепропетровск/Dnepr, Кривий Ріг/Кривой Рог, Кам'янське/Каменское/Дніпродзержинськ/Днепродзержинск, Нікополь/Никополь, Павлоград, Марганець/Марганец
donetska | Донецька Донецкая Донеччина Донетчина ДНР Donbas Донбас Донбасс ; Донецьк/Донецк, Маріуполь/Мариуполь/Ждановск, Краматорськ/Краматорск, Слов'янськ/Славянск, Бахмут/Артемівськ/Артемовск, Горлівка/Горловка, Макіївка/Макеевка, Єнакієве/Енакиево, Авдіївка/Авдеевка, Волноваха, Покровськ/Красноармійськ/Красноармейск, Костянтинівка/Константиновка, Торецьк/Торецк/Дзержинськ, Дружківка/Дружковка, Лиман/Красний Лиман, Вугледар/Угледар, Мангуш, Шахтарськ/Шахтерск, Харцизьк/Харцызск, Торез/Чистякове/Чистяково, Дебальцеве/Дебальцево, Сніжне/Снежное, Ясинувата/Ясиноватая, Селидове/Селидово, Сартана, Маріупольський
zhytomyrska | Житомирська Житомирская Житомирщина ; Житомир, Бердичів/Бердичев, Коростень
zakarpatska | Закарпатська Закарпатская Закарпаття Закарпатье ; Ужгород, Мукачево/Мукачеве
zaporizka | Запорізька Запорожская Запоріжська ; Запоріжжя/Запорожье/Zaporizhia, Мелітополь/Мелитополь, Бердянськ/Бердянск, Енергодар/Энергодар, Токмак, Пологи, Василівка/Васильевка, Оріхів/Орехов, Приморськ/Приморск, Якимівка/Акимовка, Кам'янка-Дніпровська/Каменка-Днепровская
ivanofrankivska | Івано-Франківська Ивано-Франковская Прикарпаття ; Івано-Франківськ/Ивано-Франковск, Калуш, Коломия/Коломыя
kyivska | Київська Киевская Київщина Киевщина ; Київ/Киев/Kyiv/Kiev, Буча, Ірпінь/Ирпень, Бородянка, Гостомель, Бровари/Бровары, Біла Церква/Белая Церковь, Вишгород/Вышгород, Макарів/Макаров, Фастів/Фастов
kirovohradska | Кіровоградська Кировоградская Кропивницька ; Кропивницький/Кропивницкий/Кіровоград/Кировоград, Олександрія/Александрия
luhanska | Луганська Луганская Луганщина ЛНР ; Луганськ/Луганск/Ворошиловград, Сєвєродонецьк/Северодонецк/Sievierodonetsk, Лисичанськ/Лисичанск, Алчевськ/Алчевск, Рубіжне/Рубежное, Старобільськ/Старобельск, Кремінна/Кременная, Антрацит, Ровеньки, Довжанськ/Свердловськ/Свердловск, Сорокине/Краснодон, Кадіївка/Стаханов, Щастя/Счастье, Сватове/Сватово, Попасна/Попасная, Брянка, Первомайськ/Первомайск
lvivska | Львівська Львовская Львівщина ; Львів/Львов/Lwów, Дрогобич/Дрогобыч, Стрий/Стрый, Червоноград
mykolaivska | Миколаївська Николаевская Миколаївщина ; Миколаїв/Николаев/Mykolaiv/Nikolaev, Вознесенськ/Вознесенск, Очаків/Очаков, Снігурівка/Снигиревка
odeska | Одеська Одесская Одещина ; Одеса/Одесса, Ізмаїл/Измаил, Білгород-Дністровський/Белгород-Днестровский, Чорноморськ/Черноморск/Іллічівськ
poltavska | Полтавська Полтавская Полтавщина ; Полтава, Кременчук/Кременчуг, Лубни/Лубны, Миргород
rivnenska | Рівненська Ровенская Рівненщина ; Рівне/Ровно, Дубно
sumska | Сумська Сумская Сумщина ; Суми/Сумы, Охтирка/Ахтырка, Конотоп, Шостка, Ромни/Ромны, Тростянець/Тростянец
ternopilska | Тернопільська Тернопольская Тернопільщина ; Тернопіль/Тернополь
kharkivska | Харківська Харьковская Харківщина Харьковщина ; Харків/Харьков, Ізюм/Изюм, Куп'янськ/Купянск, Балаклія/Балаклея, Чугуїв/Чугуев, Лозова/Лозовая, Вовчанськ/Волчанск, Богодухів/Богодухов, Дергачі/Дергачи, Барвінкове/Барвенково
khersonska | Херсонська Херсонская Херсонщина ; Херсон, Нова Каховка/Новая Каховка, Каховка, Олешки/Алешки/Цюрупинськ/Цюрупинск, Генічеськ/Геническ, Скадовськ/Скадовск, Гола Пристань/Голая Пристань, Берислав, Чаплинка
khmelnytska | Хмельницька Хмельницкая Хмельниччина Поділля ; Хмельницький/Хмельницкий/Проскурів, Кам'янець-Подільський/Каменец-Подольский, Шепетівка/Шепетовка
cherkaska | Черкаська Черкасская Черкащина ; Черкаси/Черкассы, Умань, Сміла/Смела
chernivetska | Чернівецька Черновицкая Буковина ; Чернівці/Черновцы
chernihivska | Чернігівська Черниговская Чернігівщина ; Чернігів/Чернигов, Ніжин/Нежин, Прилуки
krym | Крим Крым Crimea Кримська Крымская ; Сімферополь/Симферополь, Севастополь, Ялта, Євпаторія/Евпатория, Керч/Керчь, Феодосія/Феодосия, Джанкой, Алушта, Саки
rostovska | Ростовська Ростовская Ростовщина ; Ростов-на-Дону/Ростов/Rostov-on-Don, Таганрог, Новочеркаськ/Новочеркасск, Шахти/Шахты, Азов, Батайськ/Батайск, Каменськ-Шахтинський/Каменск-Шахтинский
moskovska | Московська Московская Підмосков'я Подмосковье ; Москва/Moscow, Подольськ/Подольск, Химки, Балашиха, Коломна, Сергиев Посад, Руза
sanktpeterburh | Ленінградська Ленинградская ; Санкт-Петербург/Петербург/Saint Petersburg/St Petersburg/Пітер/Питер, Гатчина
krasnodarska | Краснодарський Краснодарский Кубань Кубані ; Краснодар, Анапа, Сочі/Сочи, Новоросійськ/Новороссийск, Геленджик, Туапсе
bilhorodska | Бєлгородська Белгородская Білгородська ; Бєлгород/Белгород/Bilhorod, Старий Оскол/Старый Оскол
kurska | Курська Курская ; Курськ/Курск
voronezka | Воронізька Воронежская ; Воронеж/Воронiж
bryanska | Брянська Брянская ; Брянськ/Брянск
nyzhnohorodska | Нижньогородська Нижегородская ; Нижній Новгород/Нижний Новгород
tatarstan | Татарстан Татарія Татария ; Казань
sverdlovska | Свердловська Свердловская ; Єкатеринбург/Екатеринбург/Yekaterinburg
novosybirska | Новосибірська Новосибирская ; Новосибірськ/Новосибирск
tiumenska | Тюменська Тюменская ; Тюмень
omska | Омська Омская ; Омськ/Омск
penzenska | Пензенська Пензенская ; Пенза
kaliningradska | Калінінградська Калининградская ; Калінінград/Калининград
murmanska | Мурманська Мурманская ; Мурманськ/Мурманск
chechnia | Чечня Чечні Чеченська Чеченская Ічкерія ; Грозний/Грозный
pskovska | Псковська Псковская ; Псков
"""

# Words that say what kind of place follows or precedes, or nothing at all.
_REGION_WORDS = frozenset(
    phon(w)
    for w in "обл область області областю oblast oblast' region регіон регион край krai kraj "
    "республіка республика republic ар".split()
)
_NOISE_WORDS = frozenset(
    phon(w)
    for w in "м г с смт пгт місто город city town village село селище поселок посёлок "
    "сел пос р н рн район district raion вул ул улица вулиця street st пр просп "
    "україна украина ukraine росія россия russia рф rf на біля возле near near "
    "в у з із до від из от in at of the and та і и де где ".split()
)


@dataclass(frozen=True, slots=True)
class _Entry:
    town: str | None  # the town id, None for a region name
    region: str


def _build() -> tuple[dict[str, _Entry], dict[str, list[tuple[str, _Entry]]]]:
    by_form: dict[str, _Entry] = {}
    by_skeleton: dict[str, list[tuple[str, _Entry]]] = {}

    def add(name: str, entry: _Entry) -> None:
        form = "".join(w for w in map(phon, _WORD.findall(name)) if w not in _NOISE_WORDS)
        if not form or (form in by_form and by_form[form].town is None):
            return  # a region's own name wins over a town of the same name (Москва)
        by_form[form] = entry
        by_skeleton.setdefault(skeleton(form), []).append((form, entry))

    for line in _GAZETTEER.strip().splitlines():
        head, _, rest = line.partition("|")
        region = head.strip()
        region_names, _, towns = rest.partition(";")
        for name in region_names.split():
            add(name, _Entry(None, region))
        for town in towns.split(","):
            names = [n.strip() for n in town.split("/") if n.strip()]
            if names:
                town_id = "".join(phon(w) for w in _WORD.findall(names[0]))
                for name in names:
                    add(name, _Entry(town_id, region))
    return by_form, by_skeleton


_WORD = re.compile(r"[^\W\d_]+(?:['ʼ’`][^\W\d_]+)*")
_BY_FORM, _BY_SKELETON = _build()


@dataclass(frozen=True, slots=True)
class Places:
    towns: frozenset[str]  # gazetteer town ids
    regions: frozenset[str]  # region ids, of the towns and of the regions named
    words: frozenset[str]  # phonetic forms of the other words (villages, districts ...)

    def __bool__(self) -> bool:
        return bool(self.towns or self.regions or self.words)


def _find(form: str) -> _Entry | None:
    entry = _BY_FORM.get(form)
    if entry is not None:
        return entry
    if len(form) < 5:
        return None
    for known, candidate in _BY_SKELETON.get(skeleton(form), ()):
        if fuzz.ratio(form, known) >= 75:
            return candidate
    return None


@lru_cache(maxsize=8192)
def parse_place(text: str) -> Places:
    """The towns, regions and other words of one free-text place."""
    words = [phon(w) for w in _WORD.findall(text)]
    words = [w for w in words if w and w not in _NOISE_WORDS]
    towns: set[str] = set()
    regions: set[str] = set()
    other: set[str] = set()
    i = 0
    while i < len(words):
        for size in (3, 2, 1):  # "Ростов-на-Дону", "Нова Каховка", "Харків"
            if i + size > len(words):
                continue
            form = "".join(words[i : i + size])
            entry = _find(form) if form not in _REGION_WORDS else None
            if entry is None:
                continue
            region_named = i + size < len(words) and words[i + size] in _REGION_WORDS
            regions.add(entry.region)
            if entry.town is not None and not region_named:
                towns.add(entry.town)
            i += size
            break
        else:
            if words[i] not in _REGION_WORDS and len(words[i]) >= 3:
                other.add(words[i])
            i += 1
    return Places(frozenset(towns), frozenset(regions), frozenset(other))


def parse_places(texts: Iterable[str]) -> Places:
    towns: set[str] = set()
    regions: set[str] = set()
    words: set[str] = set()
    for text in texts:
        found = parse_place(text)
        towns |= found.towns
        regions |= found.regions
        words |= found.words
    return Places(frozenset(towns), frozenset(regions), frozenset(words))


def same_word(a: str, b: str) -> bool:
    """Two words of places not in the gazetteer name the same place (spelling-insensitive)."""
    if a == b:
        return True
    return len(a) >= 5 and skeleton(a) == skeleton(b) and fuzz.ratio(a, b) >= 75


def compare(a: Places, b: Places) -> str | None:
    """ "place" when a town (or an unknown village name) is shared, "region" when only a
    region is, "different" when both are known and share nothing, None when one is unknown."""
    if not a or not b:
        return None
    if a.towns & b.towns:
        return "place"
    if a.words and b.words and any(same_word(x, y) for x in a.words for y in b.words):
        return "place"
    if a.regions & b.regions:
        return "region"
    return "different"
