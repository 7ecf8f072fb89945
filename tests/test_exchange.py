"""Lists exchanged with the verification bodies: reading located persons (CSV/ZIP), the CSV
export of requests, and PFIF 1.4 checked against the schema written from the spec."""

from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
import zipfile
import zlib
from datetime import UTC, date, datetime

import pytest

from bot.exchange import records
from bot.exchange.export import EXPORT_COLUMNS, ExportCase, requests_csv, safe_cell
from bot.exchange.pfif import PfifNote, PfifPerson, pfif_document, validate_pfif
from bot.exchange.records import (
    RECORD_COLUMNS,
    FileError,
    Problem,
    RecordList,
    RowProblem,
    columns_markdown,
    read_records,
    sample_csv,
)

TODAY = date(2025, 6, 1)
HEADER = (
    "source,source_id,surname,first_name,patronymic,other_names,sex,birth_date,"
    "birth_place,current_place,status,welfare,photos"
)


def png() -> bytes:
    """A real 1×1 PNG, built here."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg() -> bytes:
    image = pytest.importorskip("PIL.Image")
    out = io.BytesIO()
    image.new("RGB", (2, 2), (200, 10, 10)).save(out, format="JPEG")
    return out.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def read(text: str, **kwargs: object) -> RecordList:
    return read_records("list.csv", text.encode("utf-8"), today=TODAY, **kwargs)  # type: ignore[arg-type]


def found(result: RecordList) -> set[tuple[int, str, Problem]]:
    return {(p.line, p.field, p.problem) for p in result.problems}


# --- reading a list ----------------------------------------------------------------


def test_a_good_file_of_three_rows() -> None:
    text = (
        HEADER + ",Notes\n"
        "UA-CCMP,A-1,Коваленко,Олександр,Петрович,Kovalenko Oleksandr,ч,12.03.2012,"
        'Мелітополь,Київ,verified,"Healthy.\nAttends school.",,internal\n'
        "UA-CCMP,A-2,Шевчук,Марія,,,F,2015-07-01,Херсон,Одеса,located,,,\n"
        "UA-CCMP,A-3,  Бондар ,,,,  ,2010,,,in care,,,\n"
    )
    result = read(text)
    assert result.fatal is None
    assert result.problems == []
    assert result.ignored_columns == ("Notes",)
    assert result.rows == 3
    first, second, third = result.records
    assert [r.line for r in result.records] == [2, 3, 4]
    assert first.source == "UA-CCMP" and first.source_id == "A-1"
    assert first.name == "Коваленко Олександр Петрович"
    assert first.sex == "male"
    assert first.birth_date == date(2012, 3, 12) and first.birth_year == 2012
    assert first.birth_place == "Мелітополь" and first.current_place == "Київ"
    assert first.welfare == "Healthy.\nAttends school."
    assert first.photos == ()
    assert second.sex == "female" and second.birth_date == date(2015, 7, 1)
    assert third.name == "Бондар"  # stripped
    assert third.sex == "" and third.birth_date is None and third.birth_year == 2010
    assert third.status == "in care"


def test_bad_rows_are_named_and_left_out_while_good_rows_are_kept() -> None:
    text = (
        HEADER + "\n"
        "UA-CCMP,G-1,Коваленко,Олександр,,,m,2012,,,,,\n"  # 2: good
        "UA-CCMP,B-1,Шевчук,Марія,,,f,31.02.2013,,,,,\n"  # 3: no such day
        "UA-CCMP,B-2,,,,Someone,f,2013,,,,,\n"  # 4: no name
        "UA-CCMP,B-3,Бондар,Іван,,,m,2031-01-01,,,,,\n"  # 5: born in the future
        "UA-CCMP,D-1,Мельник,Олег,,,m,2011,,,,,\n"  # 6: duplicate id
        "UA-CCMP,D-1,Мельник,Олег,,,m,2011,,,,,\n"  # 7: duplicate id
        "UA-CCMP,B-4,Ткаченко,Анна,,,x,2014,,,,,\n"  # 8: bad sex
        "UA-CCMP,B-5,Кравчук,Петро,,,m,2012,,,,,absent.jpg\n"  # 9: photo not in zip
        "UA-CCMP,B-6,,,,,?,1985,,,,,\n"  # 10: several problems at once
        ",,Олійник,Ліна,,,f,2016,,,,,\n"  # 11: no source, no id
        "UA-CCMP,G-2,Поліщук,Данило,,,m,2012-05-05,,,,,ok.png\n"  # 12: good, with photo
    )
    result = read(text, photos_zip=make_zip({"ok.png": png()}))
    assert result.fatal is None
    assert found(result) == {
        (3, "birth_date", Problem.BAD_DATE),
        (4, "surname", Problem.MISSING_NAME),
        (5, "birth_date", Problem.FUTURE_DATE),
        (6, "source_id", Problem.DUPLICATE_ID),
        (7, "source_id", Problem.DUPLICATE_ID),
        (8, "sex", Problem.BAD_SEX),
        (9, "photos", Problem.PHOTO_NOT_IN_ZIP),
        (10, "surname", Problem.MISSING_NAME),
        (10, "sex", Problem.BAD_SEX),
        (10, "birth_date", Problem.TOO_OLD),
        (11, "source", Problem.MISSING_SOURCE),
        (11, "source_id", Problem.MISSING_ID),
    }
    assert [r.source_id for r in result.records] == ["G-1", "G-2"]
    assert result.rejected_lines == (3, 4, 5, 6, 7, 8, 9, 10, 11)
    assert result.records[1].photos[0].mime == "image/png"
    assert all(isinstance(p, RowProblem) for p in result.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (None, None, None)),
        ("2012", (None, 2012, None)),
        ("2012-03-12", (date(2012, 3, 12), 2012, None)),
        ("2012-03-12 00:00:00", (date(2012, 3, 12), 2012, None)),  # Excel's date cell
        ("1.3.2012", (date(2012, 3, 1), 2012, None)),
        ("01/03/2012", (date(2012, 3, 1), 2012, None)),
        ("1990", (None, 1990, None)),
        ("1989", (None, None, Problem.TOO_OLD)),
        ("31.12.1989", (None, None, Problem.TOO_OLD)),
        ("2025-06-02", (None, None, Problem.FUTURE_DATE)),
        ("2026", (None, None, Problem.FUTURE_DATE)),
        ("12.03.12", (None, None, Problem.BAD_DATE)),
        ("03/12-2012", (None, None, Problem.BAD_DATE)),
        ("about 9", (None, None, Problem.BAD_DATE)),
        ("٢٠١٢", (None, None, Problem.BAD_DATE)),
    ],
)
def test_birth_dates(text: str, expected: tuple[object, ...]) -> None:
    assert records.parse_birth(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("female", "female"),
        ("F", "female"),
        ("ж", "female"),
        ("Ж.", "female"),
        ("жіноча", "female"),
        ("male", "male"),
        ("m", "male"),
        ("ч", "male"),
        ("М", "male"),
        ("чол.", "male"),
        ("мужской", "male"),
        ("", ""),
        ("x", None),
        ("boy", None),
    ],
)
def test_sex_values(text: str, expected: str | None) -> None:
    assert records.parse_sex(text) == expected


def test_too_long_values_and_control_characters() -> None:
    long_name = "Я" * 101
    text = (
        HEADER + "\n"
        f"UA-CCMP,L-1,{long_name},Іван,,,m,2012,,,,,\n"
        'UA-CCMP,L-2,Ко\x07ва\u200bленко,Іван\x1b,,,m,2012,,,,"' + "w" * 2001 + '",\n'
        "UA-CCMP,L-3,Ко\x07ва\u200bленко,Іван\x1b,,,m,2012,,,,,\n"
    )
    result = read(text)
    assert found(result) == {(2, "surname", Problem.TOO_LONG), (3, "welfare", Problem.TOO_LONG)}
    (row,) = result.records
    assert (row.surname, row.first_name) == ("Коваленко", "Іван")


def test_cp1251_with_semicolons() -> None:
    text = (
        "source;source_id;Surname;First Name;sex;birth_date;current_place\r\n"
        "UA-CCMP;7;Коваленко;Олександр;м;12/03/2012;Київ, притулок №2\r\n"
        "UA-CCMP;8;Шевчук;Марія;Ж.;2014;Одеса\r\n"
    )
    result = read_records("Список.csv", text.encode("cp1251"), today=TODAY)
    assert result.fatal is None and result.problems == []
    assert [(r.name, r.sex) for r in result.records] == [
        ("Коваленко Олександр", "male"),
        ("Шевчук Марія", "female"),
    ]
    assert result.records[0].birth_date == date(2012, 3, 12)
    assert result.records[0].current_place == "Київ, притулок №2"


def test_utf8_with_bom_and_the_source_given_for_the_whole_file() -> None:
    text = "SOURCE_ID\tsurname\tfirst_name\n1\tКоваленко\tОлександр\n2\tШевчук\t\n"
    data = b"\xef\xbb\xbf" + text.encode("utf-8")
    result = read_records("list.csv", data, default_source="UA-NPU", today=TODAY)
    assert result.fatal is None and result.problems == []
    assert [(r.source, r.source_id, r.name) for r in result.records] == [
        ("UA-NPU", "1", "Коваленко Олександр"),
        ("UA-NPU", "2", "Шевчук"),
    ]


def test_excel_sep_line_and_utf16_unicode_text() -> None:
    text = "sep=;\nsource;source_id;surname\nUA-CCMP;1;Коваленко\n"
    result = read(text)
    assert [(r.line, r.surname) for r in result.records] == [(2, "Коваленко")]
    utf16 = "source\tsource_id\tsurname\r\nUA-CCMP\t1\tШевчук\r\n".encode("utf-16")
    result = read_records("list.txt", utf16, today=TODAY)
    assert [r.surname for r in result.records] == ["Шевчук"]


def test_a_zip_with_the_list_and_its_photos() -> None:
    photo_png, photo_jpeg = png(), jpeg()
    text = (
        HEADER + "\n"
        "UA-CCMP,Z-1,Коваленко,Олександр,,,m,2012,,,,,Фото/kovalenko.PNG; k2.jpg\n"
        "UA-CCMP,Z-2,Шевчук,Марія,,,f,2014,,,,,notes.txt\n"
        "UA-CCMP,Z-3,Бондар,Іван,,,m,2013,,,,,\n"
    )
    data = make_zip(
        {
            "list/located.csv": text.encode("utf-8"),
            "list/Фото/kovalenko.png": photo_png,
            "list/k2.jpg": photo_jpeg,
            "list/notes.txt": b"not an image",
            "__MACOSX/list/._located.csv": b"resource fork",
        }
    )
    result = read_records("located.zip", data, today=TODAY)
    assert result.fatal is None
    assert found(result) == {(3, "photos", Problem.PHOTO_NOT_IMAGE)}
    first, third = result.records
    assert [(p.name, p.mime, p.data) for p in first.photos] == [
        ("kovalenko.png", "image/png", photo_png),
        ("k2.jpg", "image/jpeg", photo_jpeg),
    ]
    assert third.photos == ()


def test_zip_names_written_by_windows_in_cp866() -> None:
    info = zipfile.ZipInfo("Фото/коваленко.png".encode("cp866").decode("cp437"))
    info.flag_bits = 0  # no UTF-8 flag, as Windows' own ZIP writes it
    assert records._entry_name(info) == "Фото/коваленко.png"
    utf8_unflagged = zipfile.ZipInfo("фото.png".encode().decode("cp437"))
    utf8_unflagged.flag_bits = 0
    assert records._entry_name(utf8_unflagged) == "фото.png"


def test_a_source_for_the_whole_file_is_checked_like_a_cell() -> None:
    result = read("source_id,surname\n1,Коваленко\n", default_source="X" * 65)
    assert found(result) == {(2, "source", Problem.TOO_LONG)}


def test_photos_named_without_any_zip() -> None:
    result = read(HEADER + "\nUA-CCMP,1,Коваленко,,,,,,,,,,a.jpg\n")
    assert found(result) == {(2, "photos", Problem.PHOTOS_WITHOUT_ZIP)}


def test_a_photo_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "MAX_PHOTO_BYTES", 50)
    big = png() + b"\x00" * 100
    result = read(
        HEADER + "\nUA-CCMP,1,Коваленко,,,,,,,,,,big.png\n", photos_zip=make_zip({"big.png": big})
    )
    assert found(result) == {(2, "photos", Problem.PHOTO_TOO_LARGE)}


@pytest.mark.parametrize(
    "evil", ["../evil.png", "photos/../../evil.png", "/etc/evil.png", "C:/evil.png"]
)
def test_a_zip_with_an_escaping_entry_is_refused(evil: str) -> None:
    text = HEADER + "\nUA-CCMP,1,Коваленко,,,,,,,,,,\n"
    data = make_zip({"list.csv": text.encode(), evil: png()})
    result = read_records("list.zip", data, today=TODAY)
    assert result.fatal == records.FileProblem(FileError.UNSAFE_ZIP)
    assert result.records == [] and result.problems == []
    # the same guard for a separate ZIP of photos
    separate = read(text, photos_zip=make_zip({evil: png()}))
    assert separate.fatal is not None and separate.fatal.problem is FileError.UNSAFE_ZIP


def test_zip_guards(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (HEADER + "\nUA-CCMP,1,Коваленко,,,,,,,,,,\n").encode()
    none = read_records("x.zip", make_zip({"a.png": png()}), today=TODAY)
    assert none.fatal is not None and none.fatal.problem is FileError.NO_CSV_IN_ZIP
    two = read_records("x.zip", make_zip({"a.csv": text, "b.csv": text}), today=TODAY)
    assert two.fatal is not None and two.fatal.problem is FileError.SEVERAL_CSV_IN_ZIP
    broken = read_records("x.zip", b"PK\x03\x04 not really a zip", today=TODAY)
    assert broken.fatal is not None and broken.fatal.problem is FileError.BAD_ZIP

    monkeypatch.setattr(records, "MAX_ZIP_UNCOMPRESSED", 1000)
    bomb = make_zip({"a.csv": text, "zeros.png": b"\x00" * 5000})
    result = read_records("x.zip", bomb, today=TODAY)
    assert result.fatal is not None and result.fatal.problem is FileError.ZIP_TOO_LARGE

    monkeypatch.setattr(records, "MAX_ZIP_ENTRIES", 3)
    many = make_zip({"a.csv": text, **{f"{i}.png": b"" for i in range(3)}})
    result = read_records("x.zip", many, today=TODAY)
    assert result.fatal is not None and result.fatal.problem is FileError.ZIP_TOO_MANY_ENTRIES


def test_a_missing_required_column_is_fatal() -> None:
    result = read("source,surname,first_name\nUA-CCMP,Коваленко,Олександр\n")
    assert result.fatal == records.FileProblem(FileError.MISSING_COLUMN, "source_id")
    assert result.records == [] and result.problems == []
    no_source = read("source_id,surname\n1,Коваленко\n")
    assert no_source.fatal == records.FileProblem(FileError.MISSING_COLUMN, "source")
    assert read("source_id,surname\n1,Коваленко\n", default_source="UA-NPU").fatal is None
    no_name = read("source,source_id,patronymic\nUA-CCMP,1,Петрович\n")
    assert no_name.fatal == records.FileProblem(FileError.MISSING_COLUMN, "surname/first_name")
    twice = read("source,source_id,surname,Surname\nUA-CCMP,1,A,B\n")
    assert twice.fatal == records.FileProblem(FileError.DUPLICATE_COLUMN, "surname")


def test_file_level_refusals() -> None:
    assert read("").fatal == records.FileProblem(FileError.NO_HEADER)
    assert read("\n\n ,\n").fatal == records.FileProblem(FileError.NO_HEADER)
    spreadsheet = read_records("list.xlsx", make_zip({"x.xml": b"<x/>"}), today=TODAY)
    assert spreadsheet.fatal == records.FileProblem(FileError.SPREADSHEET)
    pdf = read_records("list.pdf", b"%PDF-1.4", today=TODAY)
    assert pdf.fatal == records.FileProblem(FileError.NOT_CSV)
    binary = read_records("list.csv", b"source,source_id\x00\x01\x02", today=TODAY)
    assert binary.fatal == records.FileProblem(FileError.NOT_CSV)
    unclosed = read(HEADER + '\nUA-CCMP,1,"Коваленко\n' + "x" * 200_000)
    assert unclosed.fatal is not None and unclosed.fatal.problem is FileError.BAD_CSV
    rows = HEADER + "\n" + "".join(f"UA-CCMP,{i},Коваленко,,,,,,,,,,\n" for i in range(4))
    too_many = read(rows, max_rows=3)
    assert too_many.fatal == records.FileProblem(FileError.TOO_MANY_ROWS, "3")
    assert read(rows, max_rows=4).fatal is None


def test_the_sample_and_the_column_documentation() -> None:
    data = make_zip({"list.csv": sample_csv().encode(), "kovalenko-1.jpg": jpeg()})
    result = read_records("sample.zip", data, today=TODAY)
    assert result.fatal is None and result.problems == [] and len(result.records) == 2
    assert result.records[0].photos[0].mime == "image/jpeg"
    table = columns_markdown()
    assert all(f"`{column.name}`" in table for column in RECORD_COLUMNS)
    assert {c.name for c in RECORD_COLUMNS} == set(HEADER.split(","))


# --- the CSV export ----------------------------------------------------------------


def case(**changes: object) -> ExportCase:
    values: dict[str, object] = {
        "code": "HW-7K3M-9Q",
        "status": "in_tracing",
        "name": "Коваленко Олександр Петрович",
        "aliases": "Kovalenko Oleksandr",
        "sex": "male",
        "birth_text": "12.03.2012",
        "birth_date": date(2012, 3, 12),
        "birth_year": 2012,
        "birth_place": "Мелітополь",
        "separation_date_text": "весна 2022",
        "separation_place": "Мелітополь",
        "last_location": "Євпаторія, табір «Чайка»",
        "features": "шрам на лівій руці",
        "submitted_on": date(2024, 5, 6),
    }
    values.update(changes)
    return ExportCase(**values)  # type: ignore[arg-type]


def test_the_export_opens_as_csv_with_cyrillic_intact() -> None:
    data = requests_csv([case(), case(code="HW-2M4N-8R", birth_date=None, features=None)])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == [column.name for column in EXPORT_COLUMNS]
    assert rows[1] == [
        "HW-7K3M-9Q",
        "in_tracing",
        "Коваленко Олександр Петрович",
        "Kovalenko Oleksandr",
        "male",
        "12.03.2012",
        "2012-03-12",
        "2012",
        "Мелітополь",
        "весна 2022",
        "Мелітополь",
        "Євпаторія, табір «Чайка»",
        "шрам на лівій руці",
        "2024-05-06",
    ]
    assert rows[2][6] == "" and rows[2][12] == ""
    assert len(rows) == 3


def test_the_export_holds_no_contact_or_health_column() -> None:
    names = {column.name for column in EXPORT_COLUMNS}
    assert not names & {"contact", "phone", "email", "requester", "health", "welfare"}


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx", " =1+1"]
)
def test_formula_injection_is_escaped(value: str) -> None:
    assert safe_cell(value) == "'" + value
    rows = list(
        csv.reader(
            io.StringIO(
                requests_csv([case(name=value, features=value)]).decode("utf-8-sig"), newline=""
            )
        )
    )
    assert rows[1][2] == "'" + value and rows[1][12] == "'" + value


def test_ordinary_cells_are_left_alone() -> None:
    assert safe_cell("Коваленко") == "Коваленко"
    assert safe_cell("about 9 years old") == "about 9 years old"
    assert safe_cell(None) == "" and safe_cell(2012) == "2012"
    assert safe_cell(date(2012, 3, 12)) == "2012-03-12"


# --- PFIF 1.4 ----------------------------------------------------------------------

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def persons() -> list[PfifPerson]:
    created = datetime(2024, 5, 6, 9, 30, 15, tzinfo=UTC)
    result = []
    for code, name, sex, born in (
        ("HW-7K3M-9Q", "Коваленко Олександр", "male", "2012-03-12"),
        ("HW-2M4N-8R", "Шевчук Марія", None, "2014"),
    ):
        person_id = f"homeward.example/{code}"
        result.append(
            PfifPerson(
                person_record_id=person_id,
                entry_date=created,
                author_name="Homeward",
                source_name="Homeward",
                source_date=created,
                full_name=name,
                alternate_names="Kovalenko Oleksandr" if sex else None,
                sex=sex,
                date_of_birth=born,
                home_city="Мелітополь",
                home_country="UA",
                description="Separated: весна 2022 & <Мелітополь>",
                notes=(
                    PfifNote(
                        note_record_id=f"{person_id}.status",
                        person_record_id=person_id,
                        entry_date=NOW,
                        author_name="Homeward",
                        source_date=NOW,
                        status="information_sought",
                        text="Homeward status: in_tracing",
                        last_known_location="Євпаторія",
                    ),
                    PfifNote(
                        note_record_id=f"{person_id}.located",
                        person_record_id=person_id,
                        entry_date=NOW,
                        author_name="Homeward",
                        source_date=NOW,
                        status="believed_alive",
                        text="",
                        author_made_contact=False,
                    ),
                ),
            )
        )
    return result


def test_a_pfif_document_of_two_persons_validates() -> None:
    xml = pfif_document(persons(), now=NOW)
    assert validate_pfif(xml) == []
    text = xml.decode("utf-8")
    assert text.count("<pfif:person>") == 2 and text.count("<pfif:note>") == 4
    assert "<pfif:expiry_date>2026-06-01T12:00:00Z</pfif:expiry_date>" in text
    assert "<pfif:entry_date>2024-05-06T09:30:15Z</pfif:entry_date>" in text
    assert "&amp; &lt;Мелітополь&gt;" in text
    assert "<pfif:sex>" in text and text.count("<pfif:sex>") == 1  # unknown sex left out
    assert "<pfif:author_made_contact>false</pfif:author_made_contact>" in text
    # the element order of the specification
    first = text.split("</pfif:person>")[0]
    order = [
        "person_record_id",
        "entry_date",
        "expiry_date",
        "author_name",
        "source_name",
        "source_date",
        "full_name",
        "alternate_names",
        "description",
        "sex",
        "date_of_birth",
        "home_city",
        "home_country",
        "note",
    ]
    positions = [first.index(f"<pfif:{name}>") for name in order]
    assert positions == sorted(positions)


def test_the_schema_refuses_a_wrong_element_order() -> None:
    xml = pfif_document(persons()[:1], now=NOW).decode("utf-8")
    lines = xml.split("\n")
    full = next(i for i, line in enumerate(lines) if "<pfif:full_name>" in line)
    given = "    <pfif:given_name>Олександр</pfif:given_name>"
    assert validate_pfif("\n".join([*lines[: full + 1], given, *lines[full + 1 :]]).encode()) == []
    swapped = "\n".join([*lines[:full], given, *lines[full:]])  # given_name before full_name
    assert validate_pfif(swapped.encode()) != []
    note_first = xml.replace(
        "<pfif:note_record_id>homeward.example/HW-7K3M-9Q.status</pfif:note_record_id>\n"
        "      <pfif:person_record_id>homeward.example/HW-7K3M-9Q</pfif:person_record_id>",
        "<pfif:person_record_id>homeward.example/HW-7K3M-9Q</pfif:person_record_id>\n"
        "      <pfif:note_record_id>homeward.example/HW-7K3M-9Q.status</pfif:note_record_id>",
    )
    assert note_first != xml and validate_pfif(note_first.encode()) != []


def test_the_schema_refuses_bad_values() -> None:
    xml = pfif_document(persons(), now=NOW).decode("utf-8")
    bad_status = xml.replace("<pfif:status>believed_alive<", "<pfif:status>found<", 1)
    assert bad_status != xml
    assert any("status" in error for error in validate_pfif(bad_status.encode()))
    for old, new in (
        ("<pfif:sex>male<", "<pfif:sex>boy<"),
        ("2024-05-06T09:30:15Z", "2024-05-06 09:30:15"),
        ("<pfif:date_of_birth>2012-03-12<", "<pfif:date_of_birth>12.03.2012<"),
        ("<pfif:home_country>UA<", "<pfif:home_country>Ukraine<"),
        ("homeward.example/HW-7K3M-9Q<", "HW-7K3M-9Q<"),
    ):
        changed = xml.replace(old, new, 1)
        assert changed != xml and validate_pfif(changed.encode()) != [], new
    no_name = "\n".join(line for line in xml.split("\n") if "<pfif:full_name>" not in line)
    assert validate_pfif(no_name.encode()) != []
    no_text = "\n".join(line for line in xml.split("\n") if "<pfif:text>" not in line)
    assert validate_pfif(no_text.encode()) != []
    assert validate_pfif(xml.replace("zesty.ca/pfif/1.4", "zesty.ca/pfif/1.3").encode()) != []
    assert validate_pfif(b"<pfif:pfif") != []


def test_pfif_records_refuse_values_the_format_has_no_place_for() -> None:
    person = persons()[0]
    with pytest.raises(ValueError):
        PfifNote("homeward.example/1.n", "homeward.example/1", NOW, "Homeward", NOW, status="found")
    with pytest.raises(ValueError):
        PfifPerson("HW-1", NOW, "Homeward", "Homeward", NOW, "X")
    with pytest.raises(ValueError):
        PfifPerson(person.person_record_id, NOW, "Homeward", "Homeward", NOW, "X", sex="boy")
    with pytest.raises(ValueError):
        PfifPerson(
            person.person_record_id, NOW, "Homeward", "Homeward", NOW, "X", date_of_birth="2012/3"
        )


def test_the_exchange_modules_import_no_xml_schema_library() -> None:
    code = (
        "import sys, bot.exchange.records, bot.exchange.export, bot.exchange.pfif; "
        "assert not {'xmlschema', 'lxml', 'elementpath'} & set(sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
