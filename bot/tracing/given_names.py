"""First names that are the same name across Ukrainian, Russian and other languages.

Each line is one name: an id (the Ukrainian form in the national romanization), the sex,
the full forms (Ukrainian, Russian, and the forms used in English, Polish, German ...),
then after "|" the diminutives and short forms. Latin spellings of the Cyrillic forms are
not listed: `phonetic.phon` folds them into the same form. A diminutive may belong to
several names (Саша: Олександр and Олександра; Женя: Євген and Євгенія; Слава: any
-слав): it then maps to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.tracing.phonetic import compact, phon

_NAMES = """
oleksandr m Олександр Александр Alexander Alexandre Aleksander Oleksander Alessandro Aleksandar | Сашко Саша Сашка Сашенька Сашуня Сашуля Саня Санька Санько Санёк Шура Шурик Олесь Лесик Алекс Alex Alik Алік Алик
oleksii m Олексій Алексей Алексій Alexei Alexey Alexis | Льоша Лёша Леша Олекса Альоша Алёша Алеша Льоха Лёха Alyosha
andrii m Андрій Андрей Andrew Andreas Andre Andrzej | Андрійко Андрюша Андрюха Андрюшка Andriusha
anatolii m Анатолій Анатолий Anatol | Толя Толік Толик Толян
anton m Антон Антін Antoine Antonio Antoni | Антоша Антошка Тоша Тоха Антончик
arsenii m Арсеній Арсений Arseniusz | Арсюша Сеня Арс
arsen m Арсен | Арсенчик
artem m Артем Артём Artyom | Тема Тёма Тьома Артемко Артемчик Артемка Артёмка
artemii m Артемій Артемий Artemy
artur m Артур Arthur | Артурчик
albert m Альберт Albert | Алік Алик
adam m Адам
alan m Алан Allan
arkadii m Аркадій Аркадий | Аркаша
bohdan m Богдан Bogdan | Бодя Бодька Бодик Богданчик
borys m Борис | Боря Борька Борюсик
vadym m Вадим | Вадік Вадик Вадя
valentyn m Валентин Valentine | Валя Валік Валик
valerii m Валерій Валерий Valery | Валера Лера Валерчик
vasyl m Василь Василий Vasily Wasyl Basil | Вася Василько Васько Васька Васик Васильок
veniamin m Веніамін Вениамин Benjamin | Веня
viktor m Віктор Виктор Victor Wiktor | Вітя Витя Вітьок Витёк Витек Вітюша Витюша
vitalii m Віталій Виталий Witalij | Віталік Виталик Вітася Витас Віта
vladyslav m Владислав Władysław Wladyslaw | Влад Владік Владик Владек Владюша Слава Славік Славик Vlad
volodymyr m Володимир Владимир Wladimir Włodzimierz Waldemar | Володя Вова Вовка Вовчик Вовочка Володька Вовик Vova
vsevolod m Всеволод | Сева Севочка
viacheslav m В'ячеслав Вячеслав Wiaczesław | Слава Славік Славик Вячик
hennadii m Геннадій Геннадий Gennady | Гена Геня
heorhii m Георгій Георгий George Georg Georges Giorgi Jerzy Jiri | Жора Гоша Гога Георгійко Жорик
herman m Герман Hermann | Гера
hlib m Гліб Глеб | Глібко Глібчик Глебушка Глебка
hryhorii m Григорій Григорий Gregory Grzegorz Gregor | Гриша Грицько Гриць Гріша Грицик
davyd m Давид Давід Давыд David Dawid Davit | Давидко Давидка Дейв Дэвид
danylo m Данило Даниил Данила Данил Даниїл Даніїл Daniel Даніель Даниэль Даниель Danijel | Даня Данька Данилко Данік Даник Даньо Danik
denys m Денис Dennis | Дениска Деня Денисик Ден Дэн
dmytro m Дмитро Дмитрий Дмитрій Dimitri Dimitrios Dymitr | Дима Діма Дімка Димка Митя Дмитрик Дімон Димон Митько Дімочка Dimon
yevhen m Євген Евгений Евген Eugene Eugen Eugeniusz Jewgeni | Женя Женька Жека Євгенко Женечка Zhenia Jenia
yehor m Єгор Егор | Єгорка Егорка Єгорчик Егорчик Гоша
eduard m Едуард Эдуард Edward Edouard | Едік Эдик Едик Эдя
emil m Еміль Эмиль Emile Emilio
ernest m Ернест Эрнест
zakhar m Захар Zachary Zacharias | Захарко Захарка Захарчик
zinovii m Зіновій Зиновий | Зеник Зіник
ihor m Ігор Игорь Igor | Ігорко Игорёк Игорек Ігорчик Гарик
ihnat m Ігнат Игнат Ignacy Ignatius | Ігнась Игнаша
illia m Ілля Илья Ілья Illja Elijah Eliasz Elias | Іллюша Ілюша Илюша Ілько Илюха
ivan m Іван Иван John Johann Johannes Juan Giovanni Ioan | Ваня Іванко Івась Іванчик Ванечка Ванюша Ванька Иванушка Ivanko
yosyp m Йосип Иосиф Осип Joseph Józef Josef Giuseppe | Йося Ося Осик
kyrylo m Кирило Кирилл Кирил Кирилл Cyril Cyrille Cyryl | Кирюша Кирюха Киря Кірюша Кирилко Кирилка
kostiantyn m Костянтин Константин Костантин Constantine Konstanty | Костя Костик Костік Костюша Kostia
kuzma m Кузьма Кузьма | Кузя
lev m Лев Leo | Левко Лёва Льова Левчик Лёвушка
leon m Леон Leon Léon | Леончик
leonid m Леонід Леонид | Льоня Лёня Леня Леонідко
luka m Лука Luke Lucas Luca Łukasz Lukas | Лукаш Лукашик
makar m Макар | Макарко Макарчик
maksym m Максим Maxim Maxime Maximilian Maksymilian Максиміліан Максимилиан | Макс Максик Максимко Максимка Максюша Max
mark m Марк Marc Marco Marek Marcus | Марік Марик Маркусь Маркуша
marat m Марат
matvii m Матвій Матвей Matthew Matthias Mateusz Matteo Mathieu | Мотя Матвійко Матюша Матвейка Матвейко Матвеюшка
mykyta m Микита Никита | Нікітка Никитка Микитка Кіта
mykola m Микола Николай Миколай Nicholas Nicolas Nikolaus Mikołaj Nikola Niklas Nicola | Коля Колька Миколка Миколайко Николаша Колюня Колян Kolia
myroslav m Мирослав Mirosław | Мирось Мирко Слава Мирославчик
myron m Мирон | Мирончик Мироша
mstyslav m Мстислав | Слава Мстик
mykhailo m Михайло Михаил Michael Michał Michel Michele Mikael Mihail Michail Miguel | Миша Михась Мішко Мишко Мішка Мишка Мішутка Мишутка Михайлик
nazar m Назар | Назарко Назарчик Назарій
nestor m Нестор
oleh m Олег | Олежка Олежик Олєжка Олежек
orest m Орест | Орестик
ostap m Остап | Остапчик Остапко
pavlo m Павло Павел Paul Paweł Pablo Paolo | Паша Павлик Павлусь Павлуша Пашка
petro m Петро Пётр Петр Peter Piotr Pierre Pietro Pedro | Петя Петрик Петрусь Петрусик Петька
platon m Платон | Платоша Тоша
prokhor m Прохор | Проша
rodion m Родіон Родион | Родя Родік
robert m Роберт Robert | Роберік Роб
rostyslav m Ростислав | Ростик Слава Ростя
roman m Роман | Ромчик Рома Ромко Ромка Ромашка Ромаха
ruslan m Руслан | Русік Руслик Русланчик Русик
savelii m Савелій Савелий Савелий | Савушка Савка Сава
sava m Сава Савва Sawa
sviatoslav m Святослав | Свят Святик Слава Святко
semen m Семен Семён Simon Szymon Simeon Симон | Сеня Сьома Сёма Сема Семенко
serhii m Сергій Сергей Serge Sergio Sergiusz | Сергійко Серьожа Серёжа Сережа Сєрьожа Серж Сергійчик Серьога Серёга Serezha Seryozha
severyn m Северин Северин Seweryn
stanislav m Станіслав Станислав Stanisław | Стас Стасик Слава Стасько Стася
stepan m Степан Stephen Steven Stefan Stephan Szczepan Stefano Étienne | Стьопа Стёпа Степа Степанко Степанчик Стефко
taras m Тарас | Тарасик Тарасько
tymofii m Тимофій Тимофей Timothy Tymoteusz Timotheus | Тима Тимоша Тимка Тімоша Тім Тим Тимошка
tymur m Тимур Тімур Temur | Тима Тимурчик Тім
tykhon m Тихон | Тиша Тишка
trokhym m Трохим Трофим | Трохимко Трофимка
fedir m Федір Фёдор Федор Theodore Teodor Theodor | Федя Федько Федик Федюша Федька
pylyp m Пилип Філіп Филипп Філіпп Philip Philipp Phillip Filip Felipe | Пилипко Філя Филя Філіпко
yulian m Юліан Юлиан Julian Julien Juliusz | Юлік Юлько
yurii m Юрій Юрий Juri | Юра Юрко Юрчик Юрасик Юрка Юрочка Юрась
yakiv m Яків Яков Jacob Jakob Jakub Giacomo | Яша Яшка Яшенька Якуб
yaroslav m Ярослав Jarosław | Ярик Ярко Ярчик Слава Ярославчик Ярусь
yan m Ян Jan Ян | Янек Ясик
demian m Дем'ян Демьян Damian Damien | Дема Дем'янко
yelysei m Єлисей Елисей Елісей | Еля Єлисейко
ustym m Устим Устин | Устимко
hordii m Гордій Гордей | Гордійко
kornii m Корній Корней | Корнійко
ilarion m Іларіон Илларион Hilarion | Ларик
emmanuil m Еммануїл Эммануил Emmanuel | Еммик
andrian m Андріан Адріан Адриан Adrian Adrien | Адрік
liubomyr m Любомир Lubomir Lubomyr | Любко Любчик
radomyr m Радомир Radomir | Радик
yarema m Ярема | Яремко
yaromyr m Яромир Jaromir | Яромирчик
amir m Амір Амир Amir
renat m Ренат Renat
rinat m Рінат Ринат Rinat
eldar m Ельдар Эльдар Eldar
bronyslav m Броніслав Бронислав Bronisław | Броня Слава
veronika f Вероніка Вероника Veronica Weronika | Ніка Верочка Веронічка
ivanna f Іванна Иванна Iwanna | Іванка Іванночка Ваня
adelina f Аделіна Аделина Adeline | Аделінка Аля
ariana f Аріана Ариана Arianna Ariane | Ариша
dayana f Даяна Dayana | Даяночка
violetta f Віолета Віолетта Виолетта Violet Violette Wioletta | Віолка Вета
ruslana f Руслана | Русланка Лана
ustyna f Устина Justyna Justine | Устинка
daniela f Даніела Даниела Даніела Daniela | Даніелка
izabella f Ізабелла Изабелла Ізабела Isabella Isabelle Izabela | Белла Іза
andriana f Андріана Адріана Адриана Andrianna Adriana | Адріанка
anhela f Анжела Анжела Angela Angele | Анжелочка
orysia f Орися Ориська | Оріся
oleksandra f Олександра Александра Alexandra Aleksandra Alessandra Sandra | Саша Сашка Сашенька Саня Шура Сашуня Сандра Леся Сашуля Alex
alina f Аліна Алина | Аля Алінка Алиночка Ліна
alisa f Аліса Алиса Alice Alicja Alicia | Аліска Алиска Алісонька
alla f Алла | Аллочка Аля
amelia f Амелія Амелия Amélie Amalia | Міля Меля
anastasiia f Анастасія Анастасия Анастасья Nastassja Anastazja | Настя Настуся Настенька Настька Настюша Ася Стася Nastia
anhelina f Ангеліна Ангелина Angelina Anhelina | Геля Ліна Ангеліночка
anzhelika f Анжеліка Анжелика Angelica Angelika Angelique | Ліка
anna f Анна Ганна Anne Ann Anja Annette Hannah | Аня Ганя Ганнуся Ануся Анечка Анюта Нюра Аннушка Ганнуся Анька Ганька Ганичка Hanusia
antonina f Антоніна Антонина | Тоня Тоня Антося
aryna f Арина Орина | Аринка Оринка Ариша Оринця
bohdana f Богдана | Богданка Дана
valentyna f Валентина Walentyna | Валя Валюша Валечка
valeriia f Валерія Валерия Valerie Walerja | Лера Лєра Валерка Лєрочка Лерочка
vasylyna f Василина Василиса | Вася Василинка Василиска Ліна
vira f Віра Вера Wiera | Віруся Верочка Віруня
viktoriia f Вікторія Виктория Victoria Wiktoria Victoire | Віка Вика Вікуся Вікуля Віта Вікторійка Vika
vitalina f Віталіна Виталина | Віта Ліна Віталінка
vladyslava f Владислава Władysława | Влада Слава Владуся
vlada f Влада | Владуся Владочка
halyna f Галина Halina | Галя Галочка Галинка Галюся
daryna f Дарина Дарья Дар'я Дарія Дария Darina Daria Dorothea | Даша Даря Даринка Дашенька Дашка Дашуля Даруся Dasha
diana f Діана Диана Diane | Діанка Діаночка Ді
dominika f Домініка Доминика Dominique | Ніка Домінічка
yeva f Єва Ева Eva Ewa Eve | Євочка Евочка Євуся
yevheniia f Євгенія Евгения Eugenia Jewgienia | Женя Женька Женечка Zhenia Jenia
yelyzaveta f Єлизавета Елизавета Елісавета Elizabeth Elisabeth Elżbieta Elisabetta | Ліза Лиза Лізонька Лизонька Лізка Лизка Лізочка Єлизаветка Ліззі Liza Lisa Бетті
yesenia f Есенія Есения Єсенія Esenia | Сеня Есенька
zlata f Злата | Златка Златуся Златочка
zoriana f Зоряна | Зоря Зорянка
zoia f Зоя Zoe Zoé | Зоечка
zhanna f Жанна Jeanne Joanna Giovanna Johanna | Жанночка
inna f Інна Инна | Інночка Инночка
iryna f Ірина Ирина Irene Irena Irina | Іра Ира Іринка Иринка Ірочка Ирочка Іруся Ira Орися Ірися
ilona f Ілона Илона
karyna f Карина Каріна | Каринка Кариночка
karolina f Кароліна Каролина Caroline Carolina | Ліна Кароліночка Каро
kateryna f Катерина Екатерина Катарина Catherine Katherine Katharine Katarzyna Katharina Caterina Kathryn Catarina | Катя Катруся Катрусенька Катюша Катеринка Катька Катюшка Катенька Катрин Kate Kasia Katia
kira f Кіра Кира
khrystyna f Христина Кристина Крістіна Christina Kristina Krystyna Christine Cristina | Христя Кристя Христинка Крістінка Христюша Тіна Kristi
kseniia f Ксенія Ксения Оксенія Xenia Ksenia Xenija | Ксюша Ксеня Ксюха Ксюшенька Ксеничка
larysa f Лариса Larissa | Лара Леся Ларочка
liliia f Лілія Лилия Lily Lilly Lilia Lilian | Ліля Лиля Лілечка
lidiia f Лідія Лидия Lydia | Ліда Лида Лідочка
liudmyla f Людмила Ludmila Ludmilla | Люда Людочка Міла Люся Людмилка
liubov f Любов Любовь Luba | Люба Любочка Любаша Любця
maiia f Майя Мая Maya Maja Maia | Майка Маєчка
marharyta f Маргарита Margaret Margarete Margherita Małgorzata Marguerite | Рита Марго Ритуля Ритуся
maryna f Марина Marine | Маринка Мариночка Марися
mariia f Марія Мария Марья Mary Marie Maria Marija Mariya Maryja | Маша Марійка Маруся Машенька Машка Маня Марічка Маріся Masha
mariana f Мар'яна Марьяна Марианна Маріанна Марьянна Marianne Marianna | Мар'янка Марьянка
milana f Мілана Милана | Міла Міланка Мілануся
myroslava f Мирослава Mirosława | Мирося Слава Мирославка
nadiia f Надія Надежда Nadia Nadine Nadzieja | Надя Надійка Наденька Надюша
nataliia f Наталія Наталья Наталия Наталя Natalie Nathalie Natalja Natalie | Наташа Наталка Наталочка Таша Ната Наталі Natasha
nika f Ніка Ника Nike
nikol f Нікол Николь Nicole Nicol | Ніколь Нікі
nina f Ніна Нина | Ніночка Ниночка
oksana f Оксана Oxana | Ксана Оксанка Оксаночка
olena f Олена Елена Helen Helena Helene Hélène Jelena Yelena Ellen | Лена Олєнка Оленка Леночка Лєна Оленочка Ленка
alona f Альона Алёна Алена Alena Aliona | Альонка Алёнка Альоночка
olesia f Олеся Alesia | Леся Олесечка Олесечка
olha f Ольга Olga Helga | Оля Олечка Олька Олюся Ольця
polina f Поліна Полина Pauline Paulina Paola | Поля Полінка Полиночка
raisa f Раїса Раиса | Рая Раечка
roksolana f Роксолана | Роксі Лана Роксоланка
sabina f Сабіна Сабина
snizhana f Сніжана Снежана | Сніжанка
sofiia f Софія София Софья Софiя Sophia Sophie Zofia Sofie | Соня Софійка Софа Сонечка Софійка Софочка Сонька Sonia
solomiia f Соломія Соломия Salome | Соломійка Соля Мія
stanislava f Станіслава Станислава | Стася Слава Стасуся
stefaniia f Стефанія Стефания Stephanie Stefanie Stéphanie Stefania | Стефа Стефця Стефка
svitlana f Світлана Светлана | Світланка Свєта Света Лана Світланочка
taisiia f Таїсія Таисия Таисья | Тася Тая Таїска
tamara f Тамара | Тома Тамарочка
tetiana f Тетяна Татьяна Татяна Тетьяна Tatiana Tatjana Tatiana Tetiana | Таня Танюша Тетянка Танька Танечка Таня
uliana f Уляна Ульяна Ульяна | Уля Уляночка Улянка Ульяша
yuliia f Юлія Юлия Julia Julie Juliette Giulia Julija | Юля Юлька Юлечка Юляшка Юлічка Yulia
yana f Яна Jana | Яночка Януся Янка
yaroslava f Ярослава Jarosława | Ярося Слава Яся Ярославка
yaryna f Ярина | Яринка Ярися
emiliia f Емілія Эмилия Emilia Emily Emilija | Міля Еміля Емілька
evelina f Евеліна Эвелина Эвелина Evelyn Eveline Ewelina | Евелінка Ева
emma f Емма Эмма | Еммочка
elvira f Ельвіра Эльвира | Еля
eliza f Еліза Элиза Eliza
elina f Еліна Элина | Еля
melaniia f Меланія Мелания Melanie Melania Melanija | Мелана Маланка Меланка
margo f Марго
liana f Ліана Лиана Liana
lesia f Леся | Лесечка Лесюня
nelia f Неля Нелли Nelly
milena f Мілена Милена Milena | Міленка
varvara f Варвара Barbara | Варя Варька Варенька Бася
marta f Марта Martha | Мартуся Марточка
"""


@dataclass(frozen=True, slots=True)
class GivenName:
    id: str
    sex: str  # "male" / "female"
    forms: frozenset[str]  # phonetic forms of the full names
    diminutives: frozenset[str]  # phonetic forms of the diminutives


def _parse(text: str) -> dict[str, GivenName]:
    names: dict[str, GivenName] = {}
    for line in text.strip().splitlines():
        head, _, tail = line.partition("|")
        name_id, sex, *full = head.split()
        forms = {phon(word) for word in full} - {""}
        diminutives = {phon(word) for word in tail.split()} - {""} - forms
        names[name_id] = GivenName(
            id=name_id,
            sex="male" if sex == "m" else "female",
            forms=frozenset(forms),
            diminutives=frozenset(diminutives),
        )
    return names


NAMES: dict[str, GivenName] = _parse(_NAMES)
# The names as written in the table, lower case -> the names they stand for.
_SPELLING_IDS: dict[str, set[str]] = {}
for _line in _NAMES.strip().splitlines():
    for _word in _line.split()[2:]:
        if _word != "|":
            _SPELLING_IDS.setdefault(_word.lower().replace("'", ""), set()).add(_line.split()[0])
_SPELLINGS = frozenset(_SPELLING_IDS)
_CYRILLIC_SPELLINGS = tuple(sorted(w for w in _SPELLINGS if not w.isascii()))

# phonetic form -> ids of the names it is a full form of / a diminutive of. The forms
# written only in Latin (Andrew, Dennis) are looked up for words in Latin only: in Cyrillic,
# "Андреев" is a surname, not Andrew.
_FULL: dict[str, set[str]] = {}
_DIMINUTIVE: dict[str, set[str]] = {}
_FULL_CYRILLIC: dict[str, set[str]] = {}
_DIMINUTIVE_CYRILLIC: dict[str, set[str]] = {}
for _line in _NAMES.strip().splitlines():
    _head, _, _tail = _line.partition("|")
    _id, _, *_full_words = _head.split()
    for _words, _all, _cyrillic in (
        (_full_words, _FULL, _FULL_CYRILLIC),
        (_tail.split(), _DIMINUTIVE, _DIMINUTIVE_CYRILLIC),
    ):
        for _word in _words:
            _form = phon(_word)
            if not _form:
                continue
            if not (_all is _DIMINUTIVE and _id in _FULL.get(_form, ())):
                _all.setdefault(_form, set()).add(_id)
            if not _word.isascii() and not (
                _cyrillic is _DIMINUTIVE_CYRILLIC and _id in _FULL_CYRILLIC.get(_form, ())
            ):
                _cyrillic.setdefault(_form, set()).add(_id)
_ALL_FORMS: tuple[str, ...] = tuple(sorted(set(_FULL) | set(_DIMINUTIVE)))
# name id -> the compact forms of its full forms and diminutives (all / written in Cyrillic)
_COMPACT: dict[str, set[str]] = {}
_COMPACT_CYRILLIC: dict[str, set[str]] = {}
for _forms, _compact in (
    ((_FULL, _DIMINUTIVE), _COMPACT),
    ((_FULL_CYRILLIC, _DIMINUTIVE_CYRILLIC), _COMPACT_CYRILLIC),
):
    for _table in _forms:
        for _form, _ids in _table.items():
            for _id in _ids:
                _compact.setdefault(_id, set()).add(compact(_form))
_CYRILLIC_FORMS: tuple[str, ...] = tuple(sorted(set(_FULL_CYRILLIC) | set(_DIMINUTIVE_CYRILLIC)))
_MALE_FULL_FORMS: tuple[str, ...] = tuple(
    sorted(form for form, ids in _FULL.items() if any(NAMES[i].sex == "male" for i in ids))
)


@dataclass(frozen=True, slots=True)
class Lookup:
    ids: frozenset[str]  # every name the form may stand for
    full: frozenset[str]  # the names it is a full form of (the rest: it is a diminutive)
    guessed: bool  # found by a fuzzy look-up (a typo of a known form)


NO_NAME = Lookup(frozenset(), frozenset(), False)


@lru_cache(maxsize=65536)
def lookup(form: str, latin: bool = True) -> Lookup:
    """The names a phonetic form is a full form or a diminutive of (exact look-up); `latin`:
    the word was written in Latin letters (else the forms written only in Latin are left out)."""
    full_forms, diminutives = (
        (_FULL, _DIMINUTIVE) if latin else (_FULL_CYRILLIC, _DIMINUTIVE_CYRILLIC)
    )
    full = frozenset(full_forms.get(form, ()))
    ids = full | diminutives.get(form, set())
    return Lookup(ids, full, False) if ids else NO_NAME


@lru_cache(maxsize=65536)
def _typed(letters: str) -> Lookup:
    """The names one slip of the finger away from a Cyrillic word as typed (Маріяя: Марія)."""
    if len(letters) < 4 or letters.isascii():
        return NO_NAME
    typed = process.extract(
        letters, _CYRILLIC_SPELLINGS, scorer=OSA.distance, score_cutoff=1, limit=8
    )
    if not typed:
        return NO_NAME
    nearest = min(distance for _, distance, _ in typed)
    words = [w for w, d, _ in typed if d == nearest]
    ids = {i for w in words for i in _SPELLING_IDS[w]}
    full = {i for i in ids if any(phon(w) in NAMES[i].forms for w in words)}
    return Lookup(frozenset(ids), frozenset(full), True)


@lru_cache(maxsize=65536)
def guess(form: str, letters: str = "") -> Lookup:
    """A fuzzy look-up for a form that is not known: a typo of a known first name.

    `letters`, the word as typed, first: one slip away from a Cyrillic name as written
    (Маріяя: Марія); then the phonetic form, for other alphabets and longer slips."""
    typed = _typed(letters)
    if typed.ids:
        return typed
    if len(form) < 5:
        return NO_NAME
    latin = not letters or letters.isascii()
    forms = _ALL_FORMS if latin else _CYRILLIC_FORMS
    found = process.extract(form, forms, scorer=fuzz.ratio, score_cutoff=84, limit=6)
    if not found:
        return NO_NAME
    ids: set[str] = set()
    full: set[str] = set()
    for known_form, value, _ in found:
        if value >= found[0][1] - 0.5:  # ties: Ярся is as near Ярося as Ярися
            known = lookup(known_form, latin)
            ids |= known.ids
            full |= known.full
    return Lookup(frozenset(ids), frozenset(full), True)


@lru_cache(maxsize=65536)
def guess_score(form: str, letters: str = "") -> float:
    """How close an unknown form is to a known first name, 0..100 (for choosing the typo)."""
    if _typed(letters).ids:
        return 95.0
    if len(form) < 5:
        return 0.0
    found = process.extractOne(form, _ALL_FORMS, scorer=fuzz.ratio)
    return float(found[1]) if found else 0.0


def is_spelling(letters: str) -> bool:
    """Whether a word (lower case, as typed) is a first name as the table writes it."""
    return letters in _SPELLINGS


@lru_cache(maxsize=65536)
def near_form(form: str, ids: frozenset[str], latin: bool = True) -> bool:
    """Whether a compact form is one typo away from a form or diminutive of these names
    (`latin`: the word was written in Latin letters, else only Cyrillic-written forms count)."""
    if len(form) < 3:
        return False
    table = _COMPACT if latin else _COMPACT_CYRILLIC
    return any(
        OSA.distance(form, known, score_cutoff=1) <= 1 for i in ids for known in table.get(i, ())
    )


def sex_of(ids: frozenset[str]) -> str | None:
    """The sex of a name when all its readings agree (Саша: None)."""
    sexes = {NAMES[i].sex for i in ids}
    return sexes.pop() if len(sexes) == 1 else None


# --- patronymics --------------------------------------------------------------------

_PATRONYMIC_MALE = ("ovich", "evich")
_PATRONYMIC_FEMALE = ("ovna", "evna", "ivna", "ichna")
_PATRONYMIC_SPECIAL = {"ilich": "illia", "lukich": "luka", "kuzmich": "kuzma", "fomich": ""}


def patronymic_sex(form: str) -> str | None:
    """ "male"/"female" when the phonetic form reads as a patronymic, else None."""
    if form in _PATRONYMIC_SPECIAL:
        return "male"
    if len(form) >= 7 and form.endswith(_PATRONYMIC_MALE):
        return "male"
    if len(form) >= 6 and form.endswith(_PATRONYMIC_FEMALE):
        return "female"
    return None


@lru_cache(maxsize=16384)
def father_of(form: str) -> frozenset[str]:
    """The ids of the father's name a patronymic is made from (Сергеевич -> serhii)."""
    if form in _PATRONYMIC_SPECIAL:
        special = _PATRONYMIC_SPECIAL[form]
        return frozenset({special}) if special else frozenset()
    stem = form
    for suffix in (*_PATRONYMIC_MALE, "inichna", *_PATRONYMIC_FEMALE):
        if form.endswith(suffix):
            stem = form[: -len(suffix)]
            break
    for candidate in (stem, stem + "i", stem + "ei", stem + "o", stem + "a", stem[:-1]):
        ids = _FULL.get(candidate)
        if ids:
            males = frozenset(i for i in ids if NAMES[i].sex == "male")
            if males:
                return males
    found = process.extractOne(stem, _MALE_FULL_FORMS, scorer=fuzz.ratio, score_cutoff=80)
    if found is None:
        return frozenset()
    return frozenset(i for i in _FULL[found[0]] if NAMES[i].sex == "male")
