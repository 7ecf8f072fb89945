"""The verification dossier: a PDF in two languages that opens, reads and shows the photos."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage
from pypdf import PdfReader

from bot import PROJECT_ROOT
from bot.i18n import CatalogI18n, format_day, translate
from bot.texts import dossier as dossier_module
from bot.texts import fonts
from bot.texts.dossier import (
    Approval,
    Dossier,
    Field,
    MatchedRecord,
    NoCyrillicFont,
    StatusStep,
    dossier_pdf,
)

CHILD = "Ковальчук Олександр Петрович"
MOTHER = "Шевченко Катерина"
WHEN = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)
WELFARE = "Здоровий, ходить до школи. Потребує інгалятора."
MESSAGE = "Шановна пані Катерино, ми знайшли запис, який може стосуватися вашого сина."


_shades = itertools.count(1)


def picture(kind: str, size: tuple[int, int] = (120, 90), mode: str = "RGB") -> bytes:
    """A small image of its own colour (ReportLab shares an image whose pixels are the same)."""
    n = next(_shades)
    rgb = ((n * 67) % 256, (n * 131) % 256, (n * 29) % 256)
    image = (
        PILImage.new("RGBA", size, (*rgb, 200))
        if mode == "RGBA"
        else PILImage.new("RGB", size, rgb)
    )
    image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, format=kind)
    return out.getvalue()


def make_dossier(locale: str, **changes: Any) -> Dossier:
    default = Dossier(
        code="HW-7K3P-9Q",
        locale=locale,
        status="located",
        request_fields=(
            Field("Surname, first name, patronymic", CHILD),
            Field("Sex", "Male", translatable=True),
            Field("Date of birth or age", "12.03.2012"),
            Field("Place of birth", "Маріуполь"),
            Field("Circumstances", "Other", translatable=True, context="circumstances"),
            Field("Your name", MOTHER),
        ),
        family_photos=(picture("JPEG"), picture("PNG", (60, 100))),
        records=(
            MatchedRecord(
                source="Уповноважений з прав людини",
                source_id="UA-2024-00123",
                fields=(
                    Field("Surname, first name, patronymic", CHILD),
                    Field("Sex", "Male", translatable=True),
                ),
                welfare=WELFARE,
                score=0.87,
                reasons=("Same name", "Same date of birth"),
            ),
        ),
        record_photos=(picture("JPEG", (90, 120)),),
        history=(
            StatusStep(WHEN, None, "submitted", None, None),
            StatusStep(WHEN + timedelta(days=1), "submitted", "in_review", "liaison 123456", None),
            StatusStep(
                WHEN + timedelta(days=20), "in_tracing", "located", "liaison 123456", "Реєстр"
            ),
            StatusStep(
                WHEN + timedelta(days=30), "located", "closed", "liaison 654321", "duplicate"
            ),
        ),
        approvals=(
            Approval(
                written_at=WHEN + timedelta(days=21),
                author="liaison 123456",
                approved_at=WHEN + timedelta(days=22),
                approver="liaison 654321",
                text=MESSAGE,
            ),
        ),
        generated_at=WHEN + timedelta(days=40),
    )
    return replace(default, **changes)


def norm(text: str) -> str:
    """Any run of spaces (Babel's narrow ones, line ends) as one plain space."""
    return " ".join(text.split())


def render(i18n: CatalogI18n, dossier: Dossier) -> tuple[bytes, PdfReader, str]:
    with i18n.context():
        pdf = dossier_pdf(dossier)
    reader = PdfReader(io.BytesIO(pdf))
    return pdf, reader, norm(" ".join(page.extract_text() for page in reader.pages))


def image_count(reader: PdfReader) -> int:
    return sum(len(page.images) for page in reader.pages)


@pytest.mark.parametrize("locale", ["uk", "ru"])
def test_a_cyrillic_case_reads_in_its_language_and_in_english(
    i18n: CatalogI18n, locale: str
) -> None:
    pdf, reader, text = render(i18n, make_dossier(locale))

    assert pdf.startswith(b"%PDF")
    assert (
        reader.metadata is not None and reader.metadata.title == "Verification dossier HW-7K3P-9Q"
    )
    # Values as written, Cyrillic included.
    for value in (CHILD, MOTHER, "Маріуполь", "UA-2024-00123", WELFARE, MESSAGE, "87%"):
        assert value in text, value
    with i18n.context():
        # Headings and labels in both languages, whatever the catalogs say today.
        for msgid in (
            "Verification dossier",
            "Request",
            "Matched record",
            "Photos",
            "Status history",
            "Approved messages",
            "Welfare and health",
            "Confidential: contains personal data of a child",
            "Sex",
            "Place of birth",
            "Source",
            "Match score",
            "Same name",
        ):
            assert msgid in text, msgid
            assert translate(msgid, locale) in text, (msgid, translate(msgid, locale))
        assert translate("Sex", locale) != "Sex"  # a label that is translated already
        # Choice codes translated in both languages, "Other" in its own context.
        assert translate("Male", locale) in text and "Male" in text
        assert {"uk": "Інше", "ru": "Другое"}[locale] in text
        # The status, and the dates, in both languages.
        assert translate("Located", locale) in text and "Located" in text
        assert norm(format_day(WHEN, locale)) in text and format_day(WHEN, "en") in text


def test_an_english_case_is_in_english_only(i18n: CatalogI18n) -> None:
    text = render(i18n, make_dossier("en"))[2]

    assert "Verification dossier HW-7K3P-9Q" in text
    assert "Request / Request" not in text and "Photos / Photos" not in text
    assert text.count("12 March 2026") == 1  # the first step's date, shown once
    for value in (CHILD, MOTHER, WELFARE, MESSAGE, "Male", "Other", "Located"):
        assert value in text, value
    assert "Стать" not in text and "Чоловіча" not in text


def test_the_photos_are_embedded_side_by_side(i18n: CatalogI18n) -> None:
    _, reader, text = render(i18n, make_dossier("uk"))

    assert image_count(reader) == 3  # two from the family, one from the record
    assert "Photos from the family" in text and "Photos from the record" in text


def test_photos_of_every_kind_fit_and_many_flow_over_pages(i18n: CatalogI18n) -> None:
    def photos() -> tuple[bytes, ...]:
        return (
            picture("PNG", (80, 60), mode="RGBA"),
            picture("PNG", (80, 60), mode="L"),
            picture("GIF", (80, 60), mode="P"),
            picture("JPEG", (3000, 2000)),
            *(picture("JPEG", (300, 400)) for _ in range(6)),
        )

    family, record = photos(), photos()
    few = render(i18n, make_dossier("uk", family_photos=family[:1], record_photos=()))[1]
    _, reader, _ = render(i18n, make_dossier("uk", family_photos=family, record_photos=record))

    assert image_count(reader) == len(family) + len(record)
    assert len(reader.pages) > len(few.pages) + 3
    widths = [image.image.width for page in reader.pages for image in page.images if image.image]
    assert max(widths) <= 1600  # the huge one was scaled down


def test_a_broken_photo_shows_a_placeholder(i18n: CatalogI18n) -> None:
    good = picture("JPEG")
    broken = (b"not an image at all", good[: len(good) // 3], picture("PNG")[:60], b"")
    _, reader, text = render(
        i18n, make_dossier("uk", family_photos=(good, *broken), record_photos=(b"\x89PNG",))
    )

    assert image_count(reader) == 1
    with i18n.context():
        placeholder = translate("This image could not be read.", "uk")
    assert text.count(placeholder) == len(broken) + 1


def test_history_and_approvals_have_their_rows(i18n: CatalogI18n) -> None:
    _, _, text = render(i18n, make_dossier("uk"))

    with i18n.context():
        for msgid in ("Date", "Change", "Changed by", "Reason", "Written by", "Approved by"):
            assert translate(msgid, "uk") in text and msgid in text
        # Statuses and a close reason are codes: translated; a reason typed is as written.
        for msgid in ("Received", "Under review", "Tracing in progress", "Closed"):
            assert translate(msgid, "uk") in text and msgid in text
        assert translate("a duplicate of another request", "uk") in text
    assert "Реєстр" in text
    assert text.count("liaison 123456") == 3  # two status changes, one message written
    assert text.count("liaison 654321") == 2  # one status change, one approval
    assert format_day(WHEN + timedelta(days=22), "en") in text  # the approval's date


def test_nothing_matched_nothing_approved(i18n: CatalogI18n) -> None:
    empty = make_dossier(
        "ru",
        request_fields=(),
        family_photos=(),
        records=(),
        record_photos=(),
        history=(),
        approvals=(),
    )
    _, reader, text = render(i18n, empty)

    assert image_count(reader) == 0
    for msgid in ("No matched record.", "No photos.", "No approved messages."):
        assert msgid in text


def test_markup_in_values_is_shown_as_typed(i18n: CatalogI18n) -> None:
    typed = "Астма <b>важка</b> & алергія > 2 роки"
    _, _, text = render(
        i18n,
        make_dossier("uk", request_fields=(Field("Health needs", typed),)),
    )
    assert typed in text


def test_long_texts_flow_over_pages(i18n: CatalogI18n) -> None:
    long = "Дитина здорова, відвідує школу, займається футболом. " * 400
    record = MatchedRecord("Омбудсман", "X-1", (), long, 0.7, ())
    approval = Approval(WHEN, "liaison 1", WHEN, "liaison 2", long)
    _, reader, text = render(
        i18n,
        make_dossier(
            "uk",
            request_fields=(Field("Distinguishing features", long),),
            records=(record, record),
            approvals=(approval,),
        ),
    )
    assert len(reader.pages) > 8
    assert text.count("футболом") == 4 * 400  # the request, two records, the message
    assert "Matched record 2/2" in text


def test_importing_the_module_does_not_load_reportlab() -> None:
    code = "import bot.texts.dossier, sys; assert 'reportlab' not in sys.modules, 'reportlab'"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True)


# --- the font -----------------------------------------------------------------------


def test_no_font_anywhere_is_a_clear_error(
    i18n: CatalogI18n, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    monkeypatch.setattr(fonts, "candidates", lambda environ=None: iter(()))
    with i18n.context(), pytest.raises(NoCyrillicFont, match=fonts.FONT_ENV):
        dossier_pdf(make_dossier("uk"))


def test_a_wrong_override_is_an_error_not_a_silent_fallback(
    i18n: CatalogI18n, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(fonts.FONT_ENV, str(tmp_path / "missing.ttf"))
    with i18n.context(), pytest.raises(NoCyrillicFont, match="not a file"):
        dossier_pdf(make_dossier("uk"))
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"\x00\x01\x00\x00" + b"garbage" * 20)
    monkeypatch.setenv(fonts.FONT_ENV, str(not_a_font))
    with i18n.context(), pytest.raises(NoCyrillicFont, match="Cyrillic"):
        dossier_pdf(make_dossier("uk"))


def test_the_override_and_the_system_fonts_work(
    i18n: CatalogI18n, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = [Path(regular) for regular, _ in fonts.SYSTEM_FONTS if Path(regular).is_file()]
    if not system:
        pytest.skip("no system font with Cyrillic on this machine")
    monkeypatch.setattr(fonts, "_packaged", lambda: None)  # as if fontpkg-pt-sans were absent
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    assert fonts.pdf_font().path == str(system[0])
    assert CHILD in render(i18n, make_dossier("uk"))[2]

    override = system[-1]
    monkeypatch.setenv(fonts.FONT_ENV, str(override))
    font = fonts.pdf_font()
    assert font.path == str(override)
    assert (font.bold != font.regular) == (fonts.bold_sibling(override) != override)
    assert CHILD in render(i18n, make_dossier("ru"))[2]


def test_the_packaged_font_comes_first_when_installed() -> None:
    packaged = fonts._packaged()
    if packaged is None:
        pytest.skip("fontpkg-pt-sans is not installed")
    assert next(fonts.candidates({})) == packaged
    assert packaged.regular.name == "PT_Sans-Web-Regular.ttf"
    assert packaged.bold.name == "PT_Sans-Web-Bold.ttf"


@pytest.mark.parametrize(
    ("regular", "bold"),
    [
        ("Sans-Regular.ttf", "Sans-Bold.ttf"),
        ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
        ("arial.ttf", "arialbd.ttf"),
        ("Arial.ttf", "Arial Bold.ttf"),
        ("Lonely.ttf", None),
    ],
)
def test_the_bold_face_is_found_beside_the_regular_one(
    tmp_path: Path, regular: str, bold: str | None
) -> None:
    (tmp_path / regular).write_bytes(b"")
    if bold:
        (tmp_path / bold).write_bytes(b"")
    found = fonts.bold_sibling(tmp_path / regular)
    assert found == tmp_path / (bold or regular)


def test_the_arrow_falls_back_where_the_font_has_none() -> None:
    font = fonts.PdfFont("r", "b", frozenset(map(ord, "abc")), "r.ttf")
    assert font.pick("→", "->") == "->"
    assert font.pick("a", "x") == "a"
    assert dossier_module.score_text(0.873) == "87%"


def test_a_turned_camera_photo_stands_upright(i18n: CatalogI18n) -> None:
    exif = PILImage.Exif()
    exif[0x0112] = 6  # taken with the camera on its side: turn 90° to view
    out = io.BytesIO()
    PILImage.new("RGB", (120, 60), (200, 40, 40)).save(out, format="JPEG", exif=exif)
    _, reader, _ = render(
        i18n, make_dossier("en", family_photos=(out.getvalue(),), record_photos=())
    )

    sizes = [image.image.size for page in reader.pages for image in page.images if image.image]
    assert sizes == [(60, 120)]
