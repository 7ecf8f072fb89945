"""Reading a verification body's list of located persons.

The list is a CSV file (a header row, then one person a row), or a ZIP holding exactly one
CSV file and the photos it names; photos may also come in a ZIP of their own. Everything is
checked row by row: a row with any problem is left out whole, and every problem of it is
named (line, column, code), so the liaison can correct the list and send it again.

Pure: no database, no bot, no gettext; problems are codes, never sentences, and nothing
here logs (the rows hold children's personal data).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import PurePosixPath

# --- limits ------------------------------------------------------------------------

MAX_ROWS = 20_000
MIN_BIRTH_YEAR = 1990  # the persons sought are children and young adults
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTOS_PER_ROW = 10
MAX_ZIP_ENTRIES = 5_000
MAX_ZIP_UNCOMPRESSED = 200 * 1024 * 1024
MAX_CSV_BYTES = 50 * 1024 * 1024  # the list itself, plain or inside the ZIP

# The longest value each column may hold (after cleaning), in characters.
MAX_LENGTHS: dict[str, int] = {
    "source": 64,
    "source_id": 64,
    "surname": 100,
    "first_name": 100,
    "patronymic": 100,
    "other_names": 300,
    "birth_place": 200,
    "current_place": 200,
    "status": 100,
    "welfare": 2000,
    "photos": 2000,
}

JPEG = "image/jpeg"
PNG = "image/png"


# --- the columns -------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the list, for the README and the checks."""

    name: str
    required: str  # "yes", "no", or when it is needed
    text: str


# Accepted values of the `sex` column (case-insensitive, a final dot ignored).
SEX_VALUES: dict[str, str] = {
    **dict.fromkeys(
        ("female", "f", "ж", "жін", "жіноча", "жінка", "жен", "женский", "женская"), "female"
    ),
    **dict.fromkeys(
        ("male", "m", "ч", "чол", "чоловіча", "чоловік", "м", "муж", "мужской", "мужчина"),
        "male",
    ),
}

RECORD_COLUMNS: tuple[Column, ...] = (
    Column(
        "source",
        "yes, unless given for the whole file",
        "The body the record comes from, e.g. UA-CCMP. Up to 64 characters.",
    ),
    Column(
        "source_id",
        "yes",
        "The body's own id of the record, unique within the body. Up to 64 characters.",
    ),
    Column("surname", "surname or first_name", "Surname. Up to 100 characters."),
    Column("first_name", "surname or first_name", "First name. Up to 100 characters."),
    Column("patronymic", "no", "Patronymic. Up to 100 characters."),
    Column(
        "other_names",
        "no",
        "Aliases and other spellings (e.g. in Latin letters or in Russian). Up to 300 characters.",
    ),
    Column(
        "sex",
        "no",
        "female: "
        + ", ".join(k for k, v in SEX_VALUES.items() if v == "female")
        + "; male: "
        + ", ".join(k for k, v in SEX_VALUES.items() if v == "male")
        + "; or empty. Case and a final dot do not matter.",
    ),
    Column(
        "birth_date",
        "no",
        f"YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY, or only the year YYYY. Not in the future, not "
        f"before {MIN_BIRTH_YEAR}.",
    ),
    Column("birth_place", "no", "Place of birth. Up to 200 characters."),
    Column(
        "current_place", "no", "Where the person is now (institution, town). Up to 200 characters."
    ),
    Column(
        "status",
        "no",
        "The body's own status, e.g. located, in care, verified. Up to 100 characters.",
    ),
    Column("welfare", "no", "Welfare and health summary, free text. Up to 2000 characters."),
    Column(
        "photos",
        "no",
        f"Names of photo files in the ZIP, separated by ';'. JPEG or PNG, up to "
        f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB each, at most {MAX_PHOTOS_PER_ROW} a row.",
    ),
)

KNOWN_COLUMNS = frozenset(column.name for column in RECORD_COLUMNS)
NAME_COLUMNS = ("surname", "first_name")


def columns_markdown(columns: tuple[Column, ...] = RECORD_COLUMNS) -> str:
    """The columns as a Markdown table (for the README)."""
    lines = ["| column | required | what it holds |", "| --- | --- | --- |"]
    for column in columns:
        text = column.text.replace("|", "\\|")
        lines.append(f"| `{column.name}` | {column.required} | {text} |")
    return "\n".join(lines)


def sample_csv() -> str:
    """A short example list (fictional persons), as a body would send it.

    The first row names a photo: send it in a ZIP with `kovalenko-1.jpg`.
    """
    return (
        "source,source_id,surname,first_name,patronymic,other_names,sex,birth_date,"
        "birth_place,current_place,status,welfare,photos\n"
        "UA-CCMP,2024-0153,Коваленко,Олександр,Петрович,Kovalenko Oleksandr; Коваленко Александр,"
        'm,12.03.2012,Мелітополь,Київ,verified,"Healthy; attends school.",kovalenko-1.jpg\n'
        "UA-CCMP,2024-0154,Шевчук,Марія,,Shevchuk Mariia,ж,2015,Херсон,Одеса,located,,\n"
    )


# --- results -----------------------------------------------------------------------


class Problem(StrEnum):
    """What is wrong with one value of a row; the row is then left out whole."""

    MISSING_NAME = "missing_name"  # neither surname nor first_name
    MISSING_SOURCE = "missing_source"  # no source in the row, and none for the file
    MISSING_ID = "missing_id"
    BAD_DATE = "bad_date"  # not one of the accepted forms, or no such day
    FUTURE_DATE = "future_date"
    TOO_OLD = "too_old"  # born before MIN_BIRTH_YEAR
    BAD_SEX = "bad_sex"
    TOO_LONG = "too_long"
    DUPLICATE_ID = "duplicate_id"  # the same source and id on more than one row
    PHOTOS_WITHOUT_ZIP = "photos_without_zip"  # photos named, but no ZIP came with the list
    PHOTO_NOT_IN_ZIP = "photo_not_in_zip"
    PHOTO_AMBIGUOUS = "photo_ambiguous"  # several files in the ZIP have that name
    PHOTO_NOT_IMAGE = "photo_not_image"  # not JPEG or PNG (by its first bytes), or unreadable
    PHOTO_TOO_LARGE = "photo_too_large"
    TOO_MANY_PHOTOS = "too_many_photos"


class FileError(StrEnum):
    """Why a whole file was refused: nothing of it is imported."""

    NOT_CSV = "not_csv"  # neither a CSV text nor a ZIP
    SPREADSHEET = "spreadsheet"  # an Excel/OpenDocument file: save it as CSV
    BAD_ZIP = "bad_zip"  # damaged, or a compression that cannot be read
    ZIP_ENCRYPTED = "zip_encrypted"
    UNSAFE_ZIP = "unsafe_zip"  # an entry with an absolute path or '..'
    ZIP_TOO_LARGE = "zip_too_large"  # more than MAX_ZIP_UNCOMPRESSED unpacked
    ZIP_TOO_MANY_ENTRIES = "zip_too_many_entries"
    NO_CSV_IN_ZIP = "no_csv_in_zip"
    SEVERAL_CSV_IN_ZIP = "several_csv_in_zip"
    FILE_TOO_LARGE = "file_too_large"  # the CSV itself is over MAX_CSV_BYTES
    BAD_ENCODING = "bad_encoding"  # neither UTF-8 (or UTF-16 with BOM) nor cp1251
    BAD_CSV = "bad_csv"  # e.g. a quote never closed
    NO_HEADER = "no_header"  # an empty file
    MISSING_COLUMN = "missing_column"  # detail: the column names
    DUPLICATE_COLUMN = "duplicate_column"  # detail: the column names
    TOO_MANY_ROWS = "too_many_rows"  # detail: the limit


@dataclass(frozen=True)
class FileProblem:
    """A file-level refusal. `detail` holds only column names or numbers, never row data."""

    problem: FileError
    detail: str = ""


@dataclass(frozen=True)
class RowProblem:
    line: int  # as a spreadsheet numbers rows: the header is 1, the first data row 2
    field: str  # the column
    problem: Problem


@dataclass(frozen=True)
class Photo:
    name: str  # the file name, without folders
    data: bytes = field(repr=False)
    mime: str  # JPEG or PNG


@dataclass(frozen=True)
class RecordRow:
    """One good row. Texts are cleaned; an empty value is ''."""

    line: int
    source: str
    source_id: str
    surname: str
    first_name: str
    patronymic: str
    other_names: str
    sex: str  # "female", "male" or ""
    birth_date: date | None  # when the full date is known
    birth_year: int | None  # the year, whenever any birth date or year is known
    birth_place: str
    current_place: str
    status: str
    welfare: str
    photos: tuple[Photo, ...] = ()

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.surname, self.first_name, self.patronymic) if part)


@dataclass(frozen=True)
class RecordList:
    records: list[RecordRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()  # header names not known: reported once, not used
    fatal: FileProblem | None = None
    rows: int = 0  # the data rows read (empty rows aside)

    @property
    def rejected_lines(self) -> tuple[int, ...]:
        return tuple(sorted({problem.line for problem in self.problems}))


class _Refused(Exception):
    def __init__(self, problem: FileError, detail: str = "") -> None:
        super().__init__(problem.value)
        self.file_problem = FileProblem(problem, detail)


# --- the entry point ---------------------------------------------------------------

_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
_TEXT_SUFFIXES = (".csv", ".txt", ".tsv", "")
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"


def read_records(
    filename: str,
    data: bytes,
    *,
    photos_zip: bytes | None = None,
    default_source: str | None = None,
    max_rows: int = MAX_ROWS,
    today: date | None = None,
) -> RecordList:
    """Read a list: `data` is the CSV, or a ZIP with one CSV and the photos it names.

    `photos_zip` brings the photos separately (it wins over photos inside `data`).
    `default_source` fills the source of rows that name none (and stands for a missing
    `source` column). `today` is for tests: birth dates after it are refused.
    """
    today = today or date.today()
    try:
        csv_bytes, archive = _open(filename, data)
        photos = archive
        if photos_zip is not None:
            photos = _Archive(_open_zip(photos_zip))
        text = _decode(csv_bytes)
        return _parse(text, photos, _clean(default_source or ""), max_rows, today)
    except _Refused as refused:
        return RecordList(fatal=refused.file_problem)


def _suffix(filename: str) -> str:
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower()


def _open(filename: str, data: bytes) -> tuple[bytes, _Archive | None]:
    suffix = _suffix(filename)
    if suffix in _SPREADSHEET_SUFFIXES:
        raise _Refused(FileError.SPREADSHEET)
    if suffix == ".zip" or data.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        archive = _Archive(_open_zip(data))
        return archive.the_csv(), archive
    if suffix not in _TEXT_SUFFIXES:
        raise _Refused(FileError.NOT_CSV)
    if len(data) > MAX_CSV_BYTES:
        raise _Refused(FileError.FILE_TOO_LARGE, str(MAX_CSV_BYTES // (1024 * 1024)))
    return data, None


# --- ZIP ---------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:")


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        raise _Refused(FileError.BAD_ZIP) from error
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _Refused(FileError.ZIP_TOO_MANY_ENTRIES, str(MAX_ZIP_ENTRIES))
    total = 0
    for info in entries:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or _DRIVE.match(name) or ".." in name.split("/"):
            raise _Refused(FileError.UNSAFE_ZIP)
        if info.flag_bits & 0x1:
            raise _Refused(FileError.ZIP_ENCRYPTED)
        total += info.file_size
    if total > MAX_ZIP_UNCOMPRESSED:
        raise _Refused(FileError.ZIP_TOO_LARGE, str(MAX_ZIP_UNCOMPRESSED // (1024 * 1024)))
    return archive


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its author wrote it.

    Without the UTF-8 flag, Python reads names as cp437; Windows in Ukraine and Russia
    writes them in cp866, and some tools write UTF-8 without setting the flag.
    """
    name = info.filename
    if info.flag_bits & 0x800 or name.isascii():
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "cp866"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The entry's bytes, never more than `limit` (the declared size bounds zipfile too)."""
    with archive.open(info) as stream:
        return stream.read(limit + 1)


_UNREADABLE = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    zlib.error,
)


class _Archive:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.zip = archive
        self.by_path: dict[str, list[zipfile.ZipInfo]] = {}
        self.by_base: dict[str, list[zipfile.ZipInfo]] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            path = _entry_name(info).replace("\\", "/").strip("/")
            base = path.rsplit("/", 1)[-1]
            if path.startswith("__MACOSX/") or base.startswith("._"):
                continue  # macOS resource forks
            self.by_path.setdefault(path.casefold(), []).append(info)
            self.by_base.setdefault(base.casefold(), []).append(info)

    def the_csv(self) -> bytes:
        found = [
            infos[0] for path, infos in self.by_path.items() if path.endswith((".csv", ".tsv"))
        ]
        if not found:
            raise _Refused(FileError.NO_CSV_IN_ZIP)
        if len(found) > 1:
            raise _Refused(FileError.SEVERAL_CSV_IN_ZIP, str(len(found)))
        info = found[0]
        if info.file_size > MAX_CSV_BYTES:
            raise _Refused(FileError.FILE_TOO_LARGE, str(MAX_CSV_BYTES // (1024 * 1024)))
        try:
            return _read_entry(self.zip, info, MAX_CSV_BYTES)
        except _UNREADABLE as error:
            raise _Refused(FileError.BAD_ZIP) from error

    def find(self, name: str) -> zipfile.ZipInfo | Problem:
        path = name.replace("\\", "/").strip("/").casefold()
        for index in (self.by_path, self.by_base):
            infos = index.get(path if index is self.by_path else path.rsplit("/", 1)[-1])
            if infos:
                return infos[0] if len(infos) == 1 else Problem.PHOTO_AMBIGUOUS
        return Problem.PHOTO_NOT_IN_ZIP


# --- text --------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise _Refused(FileError.BAD_ENCODING) from error
    else:
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1251")
            except UnicodeDecodeError as error:
                raise _Refused(FileError.BAD_ENCODING) from error
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise _Refused(FileError.NOT_CSV)
    return text


_LINE_BREAKS = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def _clean(value: str, *, multiline: bool = False) -> str:
    """NFC; control and format characters removed; spaces collapsed (lines kept if asked)."""
    value = unicodedata.normalize("NFC", value)
    if multiline:
        value = value.replace("\r\n", "\n")
    kept: list[str] = []
    for char in value:
        if char == "\n" and multiline:
            kept.append(char)
        elif char == "\t" or char in _LINE_BREAKS:
            kept.append("\n" if multiline and char in _LINE_BREAKS else " ")
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(char)
    cleaned = "".join(kept)
    if not multiline:
        return " ".join(cleaned.split())
    lines = [" ".join(line.split()) for line in cleaned.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- CSV ---------------------------------------------------------------------------

_DELIMITERS = (",", ";", "\t")
_SEP_LINE = re.compile(r"sep=(.)\s*", re.IGNORECASE)


def _sniff(header_line: str) -> str:
    """The delimiter the header uses most, outside quotes (',' when it uses none)."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", _clean(name).casefold()).strip("_")


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0].rstrip("\r")
    sep = _SEP_LINE.fullmatch(first_line)
    skip = 0
    if sep and sep.group(1) in _DELIMITERS:  # Excel's "sep=;" first line
        delimiter = sep.group(1)
        skip = 1
    else:
        delimiter = _sniff(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            if number > skip:
                yield number - skip, cells
    except csv.Error as error:
        raise _Refused(FileError.BAD_CSV) from error


def _parse(
    text: str, photos: _Archive | None, default_source: str, max_rows: int, today: date
) -> RecordList:
    rows = _rows(text)
    header: list[str] | None = None
    for _line, cells in rows:
        if any(cell.strip() for cell in cells):
            header = cells
            break
    if header is None:
        raise _Refused(FileError.NO_HEADER)

    positions: dict[str, int] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    for position, raw in enumerate(header):
        key = _header_key(raw)
        if not key:
            continue
        if key in KNOWN_COLUMNS:
            if key in positions:
                duplicates.append(key)
            positions[key] = position
        elif _clean(raw) not in ignored:
            ignored.append(_clean(raw))
    if duplicates:
        raise _Refused(FileError.DUPLICATE_COLUMN, ", ".join(dict.fromkeys(duplicates)))
    missing = [name for name in ("source", "source_id") if name not in positions]
    if "source" in missing and default_source:
        missing.remove("source")
    if not any(name in positions for name in NAME_COLUMNS):
        missing.append("/".join(NAME_COLUMNS))
    if missing:
        raise _Refused(FileError.MISSING_COLUMN, ", ".join(missing))

    checked: list[tuple[RecordRow | None, list[RowProblem]]] = []
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(checked) >= max_rows:
            raise _Refused(FileError.TOO_MANY_ROWS, str(max_rows))
        values = {
            name: cells[position] if position < len(cells) else ""
            for name, position in positions.items()
        }
        checked.append(_check_row(line, values, default_source, photos, today))

    # The same source and id twice: no way to tell which row is right, so neither is taken.
    keys = [None if row is None else (row.source, row.source_id) for row, _found in checked]
    seen = Counter(key for key in keys if key is not None)
    records: list[RecordRow] = []
    problems: list[RowProblem] = []
    for (row, row_problems), identity in zip(checked, keys, strict=True):
        if row is not None and identity is not None and seen[identity] > 1:
            row_problems = [*row_problems, RowProblem(row.line, "source_id", Problem.DUPLICATE_ID)]
        if row_problems:
            problems.extend(row_problems)
        elif row is not None:
            records.append(row)
    return RecordList(records, problems, tuple(ignored), None, len(checked))


# --- one row -----------------------------------------------------------------------

# Dates as Excel may write them, with a midnight time; ASCII digits only.
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]0?0:00(?::00)?)?", re.ASCII)
_DMY_DATE = re.compile(r"(\d{1,2})([./])(\d{1,2})\2(\d{4})(?: 0?0:00(?::00)?)?", re.ASCII)
_YEAR = re.compile(r"\d{4}", re.ASCII)


def parse_birth(text: str, today: date) -> tuple[date | None, int | None, Problem | None]:
    """(full date, year, problem) of a birth_date cell; ('' gives no date and no problem)."""
    if not text:
        return None, None, None
    if _YEAR.fullmatch(text):
        year = int(text)
        if year > today.year:
            return None, None, Problem.FUTURE_DATE
        if year < MIN_BIRTH_YEAR:
            return None, None, Problem.TOO_OLD
        return None, year, None
    iso, dmy = _ISO_DATE.fullmatch(text), _DMY_DATE.fullmatch(text)
    try:
        if iso:
            born = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        elif dmy:
            born = date(int(dmy.group(4)), int(dmy.group(3)), int(dmy.group(1)))
        else:
            return None, None, Problem.BAD_DATE
    except ValueError:
        return None, None, Problem.BAD_DATE
    if born > today:
        return None, None, Problem.FUTURE_DATE
    if born.year < MIN_BIRTH_YEAR:
        return None, None, Problem.TOO_OLD
    return born, born.year, None


def parse_sex(text: str) -> str | None:
    """'female', 'male', '' (empty), or None when the value is not one of SEX_VALUES."""
    key = text.casefold().rstrip(".").strip()
    if not key:
        return ""
    return SEX_VALUES.get(key)


def _check_row(
    line: int,
    raw: Mapping[str, str],
    default_source: str,
    photos: _Archive | None,
    today: date,
) -> tuple[RecordRow | None, list[RowProblem]]:
    problems: list[RowProblem] = []

    def problem(column: str, code: Problem) -> None:
        problems.append(RowProblem(line, column, code))

    values: dict[str, str] = {}
    for column in MAX_LENGTHS:
        value = _clean(raw.get(column, ""), multiline=column == "welfare")
        if column == "source" and not value:
            value = default_source
            if not value:
                problem("source", Problem.MISSING_SOURCE)
        if len(value) > MAX_LENGTHS[column]:
            problem(column, Problem.TOO_LONG)
        values[column] = value

    if not values["source_id"]:
        problem("source_id", Problem.MISSING_ID)
    if not values["surname"] and not values["first_name"]:
        problem("surname", Problem.MISSING_NAME)

    sex = parse_sex(_clean(raw.get("sex", "")))
    if sex is None:
        problem("sex", Problem.BAD_SEX)

    born, year, birth_problem = parse_birth(_clean(raw.get("birth_date", "")), today)
    if birth_problem is not None:
        problem("birth_date", birth_problem)

    found: list[Photo] = []
    names = list(dict.fromkeys(n.strip() for n in values["photos"].split(";") if n.strip()))
    if names and photos is None:
        problem("photos", Problem.PHOTOS_WITHOUT_ZIP)
    elif len(names) > MAX_PHOTOS_PER_ROW:
        problem("photos", Problem.TOO_MANY_PHOTOS)
    elif photos is not None:
        for name in names:
            photo = _photo(photos, name)
            if isinstance(photo, Problem):
                problem("photos", photo)
            else:
                found.append(photo)

    if problems:
        row = None
        if values["source"] and values["source_id"]:
            row = _row(line, values, "", None, None, ())  # kept only to spot duplicate ids
        return row, problems
    return _row(line, values, sex or "", born, year, tuple(found)), []


def _row(
    line: int,
    values: Mapping[str, str],
    sex: str,
    born: date | None,
    year: int | None,
    photos: tuple[Photo, ...],
) -> RecordRow:
    return RecordRow(
        line=line,
        source=values["source"],
        source_id=values["source_id"],
        surname=values["surname"],
        first_name=values["first_name"],
        patronymic=values["patronymic"],
        other_names=values["other_names"],
        sex=sex,
        birth_date=born,
        birth_year=year,
        birth_place=values["birth_place"],
        current_place=values["current_place"],
        status=values["status"],
        welfare=values["welfare"],
        photos=photos,
    )


def image_type(data: bytes) -> str | None:
    """JPEG or PNG by the first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    return None


def _photo(archive: _Archive, name: str) -> Photo | Problem:
    info = archive.find(name)
    if isinstance(info, Problem):
        return info
    if info.file_size > MAX_PHOTO_BYTES:
        return Problem.PHOTO_TOO_LARGE
    try:
        data = _read_entry(archive.zip, info, MAX_PHOTO_BYTES)
    except _UNREADABLE:
        return Problem.PHOTO_NOT_IMAGE
    if len(data) > MAX_PHOTO_BYTES:
        return Problem.PHOTO_TOO_LARGE
    mime = image_type(data)
    if mime is None:
        return Problem.PHOTO_NOT_IMAGE
    base = _entry_name(info).replace("\\", "/").rsplit("/", 1)[-1]
    return Photo(name=base, data=data, mime=mime)
