"""The verification dossier: one tracing case as a PDF for the joint verification.

A liaison hands it to the commissioners of both sides, so it is in two languages: the
case's language and English (English only for an English case). Every heading and label
reads "in the case's language / in English"; what people wrote (names in Cyrillic,
places, the welfare summary) is shown as written, and only choice codes (a sex, a
status) are translated.

ReportLab is imported inside `dossier_pdf` only: the bot does not carry it while idle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from itertools import zip_longest
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from bot.domain.statuses import CLOSE_REASON_LABELS, STATUS_LABELS, CloseReason, RequestStatus
from bot.i18n import N_, format_day, pgettext, translate
from bot.texts.common import LANGUAGE_NAMES
from bot.texts.fonts import NoCyrillicFont, PdfFont, pdf_font

if TYPE_CHECKING:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Flowable

__all__ = [
    "Approval",
    "Dossier",
    "Field",
    "MatchedRecord",
    "NoCyrillicFont",
    "StatusStep",
    "dossier_pdf",
]

ENGLISH = "en"
MM = 72 / 25.4  # points per millimetre (reportlab.lib.units.mm, without the import)
PAGE_MARGIN = 18 * MM
FRAME_PADDING = 6  # SimpleDocTemplate's frame keeps this inside the margins
PHOTO_WIDTH = 80 * MM
PHOTO_HEIGHT = 100 * MM  # a portrait photo still leaves room on the page
PHOTO_PIXELS = 1600  # larger photos are scaled down: enough for print, a smaller file
ORIENTATION_TAG = 0x0112  # EXIF: how a camera photo must be turned to stand upright
EMPTY = "—"
NARROW_SPACES = (0x2007, 0x2009, 0x202F)  # figure, thin and narrow no-break space

INK = "#222222"
MUTED = "#6b6b6b"
RULE = "#b9b9b9"
SHADE = "#f2f2f2"

# i18n: the verification dossier is a PDF for the commissioners of a joint verification.
# Its headings and labels are shown in the case's language and in English side by side.
TITLE = N_("Verification dossier")
CONFIDENTIAL = N_("Confidential: contains personal data of a child")
REFERENCE_CODE = N_("Reference code")
# i18n: the current status of the tracing request, in the verification dossier.
STATUS = N_("Status")
LANGUAGE = N_("Language")
GENERATED_ON = N_("Generated on")
REQUEST = N_("Request")
NOTHING_GIVEN = N_("Nothing was given.")
MATCHED_RECORD = N_("Matched record")
NO_MATCHED_RECORD = N_("No matched record.")
# i18n: the verification body that holds the record (a ministry, an ombudsman's office).
SOURCE = N_("Source")
SOURCE_ID = N_("Source's own id")
MATCH_SCORE = N_("Match score")
MATCH_REASONS = N_("Why it may be a match")
WELFARE = N_("Welfare and health")
PHOTOS = N_("Photos")
FAMILY_PHOTOS = N_("Photos from the family")
RECORD_PHOTOS = N_("Photos from the record")
NO_PHOTOS = N_("No photos.")
BROKEN_PHOTO = N_("This image could not be read.")
HISTORY = N_("Status history")
NO_HISTORY = N_("No status changes recorded.")
# i18n: column headings of the status history: when, which change, who made it, and why.
DATE = N_("Date")
STATUS_CHANGE = N_("Change")
CHANGED_BY = N_("Changed by")
REASON = N_("Reason")
APPROVALS = N_("Approved messages")
NO_APPROVALS = N_("No approved messages.")
WRITTEN_ON = N_("Written on")
WRITTEN_BY = N_("Written by")
APPROVED_BY = N_("Approved by")
APPROVED_ON = N_("Approved on")


# --- what goes in ------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One line of the request or of a record."""

    label: str  # an English msgid, translated into both languages
    value: str  # as written
    translatable: bool = False  # the value is itself an msgid (a choice such as "Female")
    context: str | None = None  # the msgctxt of a translatable value marked with NC_


@dataclass(frozen=True)
class StatusStep:
    at: datetime
    from_status: str | None  # RequestStatus values
    to_status: str
    actor: str | None  # a label such as "liaison 123456", never a personal name
    reason: str | None  # a CloseReason value, or text as written


@dataclass(frozen=True)
class Approval:
    written_at: datetime
    author: str
    approved_at: datetime
    approver: str
    text: str


@dataclass(frozen=True)
class MatchedRecord:
    source: str  # the verification body
    source_id: str  # the body's own id of the record
    fields: tuple[Field, ...]  # name, date of birth, sex, places, the body's status text
    welfare: str | None
    score: float  # 0..1
    reasons: tuple[str, ...]  # msgids of the reasons


@dataclass(frozen=True)
class Dossier:
    code: str
    locale: str  # the case's language: uk, ru or en
    status: str  # a RequestStatus value
    request_fields: tuple[Field, ...]
    family_photos: tuple[bytes, ...]
    records: tuple[MatchedRecord, ...]
    record_photos: tuple[bytes, ...]
    history: tuple[StatusStep, ...]
    approvals: tuple[Approval, ...]
    generated_at: datetime


# --- two languages -----------------------------------------------------------------


class _Languages:
    """The case's language first, then English; one language for an English case."""

    def __init__(self, locale: str) -> None:
        self.locales = (locale,) if locale == ENGLISH else (locale, ENGLISH)

    def texts(self, msgid: str, context: str | None = None) -> list[str]:
        found: list[str] = []
        for locale in self.locales:
            text = pgettext(context, msgid, locale) if context else translate(msgid, locale)
            if text not in found:  # not yet translated: say it once
                found.append(text)
        return found

    def inline(self, msgid: str, context: str | None = None) -> str:
        return " / ".join(self.texts(msgid, context))

    def days(self, value: datetime, with_time: bool = False) -> list[str]:
        value = value.astimezone(UTC) if value.tzinfo else value
        found: list[str] = []
        for locale in self.locales:
            text = format_day(value, locale)
            if text not in found:
                found.append(text)
        if with_time:
            found[0] += f", {value:%H:%M}\u00a0UTC"  # the time never splits from its zone
        return found


def status_msgid(status: str | None) -> str | None:
    """The N_ label of a RequestStatus value; None for an unknown one (shown as written)."""
    try:
        return STATUS_LABELS[RequestStatus(status)] if status else None
    except ValueError:
        return None


def score_text(score: float) -> str:
    return f"{score:.0%}" if 0 <= score <= 1 else f"{score:.2f}"


def markup(text: str) -> str:
    """Text as written, safe in ReportLab's Paragraph markup; line breaks kept."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br/>".join(escape(line) for line in lines)


# --- the document ------------------------------------------------------------------


def dossier_pdf(dossier: Dossier) -> bytes:
    """The dossier as PDF bytes. Raises NoCyrillicFont when no usable font is installed.

    Needs aiogram's I18n context (active in the bot; `build_i18n().context()` elsewhere).
    """
    font = pdf_font()  # first: without a font there is nothing to build
    return _Builder(dossier, font).build()


class _Builder:
    def __init__(self, dossier: Dossier, font: PdfFont) -> None:
        from reportlab.lib import colors
        from reportlab.lib.enums import TA_CENTER
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle

        self.dossier = dossier
        self.font = font
        self.lang = _Languages(dossier.locale)
        self.page_size = A4
        self.width = A4[0] - 2 * (PAGE_MARGIN + FRAME_PADDING)
        self.arrow = font.pick("→", "->")
        # Babel writes "2026 р." with narrow spaces that some fonts lack: use a plain no-break one.
        self.spaces = {code: "\u00a0" for code in NARROW_SPACES if code not in font.characters}
        base = ParagraphStyle(
            "dossier",
            fontName=font.regular,
            fontSize=9.5,
            leading=12.5,
            textColor=colors.HexColor(INK),
            splitLongWords=True,
        )

        def style(name: str, **changes: Any) -> ParagraphStyle:
            return ParagraphStyle(name, parent=base, **changes)

        self.body = base
        self.title = style("title", fontName=font.bold, fontSize=18, leading=23)
        self.subtitle = style(
            "subtitle", fontSize=12.5, leading=16, textColor=colors.HexColor(MUTED)
        )
        self.heading = style(
            "heading",
            fontName=font.bold,
            fontSize=12.5,
            leading=16,
            spaceBefore=14,
            spaceAfter=6,
            keepWithNext=1,
        )
        self.subheading = style(
            "subheading",
            fontName=font.bold,
            fontSize=10.5,
            leading=14,
            spaceBefore=8,
            spaceAfter=4,
            keepWithNext=1,
        )
        self.notice = style("notice", fontName=font.bold, spaceBefore=8)
        self.muted = style("muted", textColor=colors.HexColor(MUTED))
        self.placeholder = style(
            "placeholder", textColor=colors.HexColor(MUTED), alignment=TA_CENTER
        )
        self.boxed = style(
            "boxed",
            borderColor=colors.HexColor(RULE),
            borderWidth=0.5,
            borderPadding=6,
            leftIndent=6,  # the border is drawn outside the text: keep it within the margins
            rightIndent=6,
            spaceBefore=10,
            spaceAfter=14,
        )
        self.second_size = 8.5  # the English line under a label

    # --- small pieces ---

    def para(self, text: str, style: ParagraphStyle | None = None) -> Flowable:
        from reportlab.platypus import Paragraph

        return Paragraph(text.translate(self.spaces), style or self.body)

    def lines(self, texts: Sequence[str], style: ParagraphStyle | None = None) -> Flowable:
        """Several versions of one thing: the first as is, the others muted beneath."""
        first, *others = [markup(text) for text in texts] or [EMPTY]
        rest = "".join(
            f'<br/><font color="{MUTED}" size="{self.second_size}">{text}</font>' for text in others
        )
        return self.para(first + rest, style)

    def label(self, msgid: str, context: str | None = None) -> Flowable:
        return self.lines(self.lang.texts(msgid, context))

    def heading_of(self, msgid: str, suffix: str = "") -> Flowable:
        return self.para(markup(self.lang.inline(msgid) + suffix), self.heading)

    def value(self, field: Field) -> Flowable:
        if not field.value.strip():
            return self.para(EMPTY)
        if field.translatable:
            return self.lines(self.lang.texts(field.value, field.context))
        return self.para(markup(field.value))

    def status(self, status: str | None) -> list[str]:
        msgid = status_msgid(status)
        return self.lang.texts(msgid) if msgid else [status or EMPTY]

    def table(
        self,
        rows: list[list[Any]],
        widths: Sequence[float],
        header: bool = False,
        label_column: bool = False,
        centred: bool = False,
    ) -> Flowable:
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        commands: list[tuple[Any, ...]] = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor(RULE)),
            ("LEFTPADDING", (0, 0), (-1, -1), 5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 5),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(SHADE)))
        if label_column:
            commands.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor(SHADE)))
        if centred:
            commands.append(("ALIGN", (0, 1), (-1, -1), "CENTER"))
        return Table(
            rows,
            colWidths=list(widths),
            style=TableStyle(commands),
            repeatRows=1 if header else 0,
            splitInRow=1,  # a very long value goes on over the page instead of failing
            hAlign="LEFT",
        )

    def fields_table(self, rows: list[list[Any]]) -> Flowable:
        label_width = 55 * MM
        return self.table(rows, (label_width, self.width - label_width), label_column=True)

    # --- the sections ---

    def front(self) -> list[Flowable]:
        from reportlab.platypus import Spacer

        d = self.dossier
        titles = self.lang.texts(TITLE)
        story: list[Flowable] = [self.para(markup(f"{titles[0]} {d.code}"), self.title)]
        story += [self.para(markup(title), self.subtitle) for title in titles[1:]]
        story.append(Spacer(1, 8))
        rows = [
            [self.label(REFERENCE_CODE), self.para(markup(d.code))],
            [self.label(STATUS), self.lines(self.status(d.status))],
            [self.label(LANGUAGE), self.para(markup(LANGUAGE_NAMES.get(d.locale, d.locale)))],
            [self.label(GENERATED_ON), self.lines(self.lang.days(d.generated_at, True))],
        ]
        story.append(self.fields_table(rows))
        story.append(self.lines(self.lang.texts(CONFIDENTIAL), self.notice))
        return story

    def request(self) -> list[Flowable]:
        story = [self.heading_of(REQUEST)]
        fields = self.dossier.request_fields
        if not fields:
            return [*story, self.lines(self.lang.texts(NOTHING_GIVEN), self.muted)]
        rows = [[self.label(f.label), self.value(f)] for f in fields]
        return [*story, self.fields_table(rows)]

    def records(self) -> list[Flowable]:
        records = self.dossier.records
        if not records:
            return [
                self.heading_of(MATCHED_RECORD),
                self.lines(self.lang.texts(NO_MATCHED_RECORD), self.muted),
            ]
        story: list[Flowable] = []
        for number, record in enumerate(records, 1):
            suffix = f" {number}/{len(records)}" if len(records) > 1 else ""
            story.append(self.heading_of(MATCHED_RECORD, suffix))
            rows = [
                [self.label(SOURCE), self.para(markup(record.source or EMPTY))],
                [self.label(SOURCE_ID), self.para(markup(record.source_id or EMPTY))],
                *([self.label(f.label), self.value(f)] for f in record.fields),
                [self.label(MATCH_SCORE), self.para(score_text(record.score))],
            ]
            if record.reasons:
                reasons = [
                    "<br/>".join(markup(text) for text in self.lang.texts(reason))
                    for reason in record.reasons
                ]
                rows.append([self.label(MATCH_REASONS), self.para("<br/><br/>".join(reasons))])
            story.append(self.fields_table(rows))
            # Outside the table: a long summary flows over pages like any paragraph.
            story.append(self.para(markup(self.lang.inline(WELFARE)), self.subheading))
            welfare = (record.welfare or "").strip()
            story.append(self.para(markup(welfare), self.boxed) if welfare else self.para(EMPTY))
        return story

    def photos(self) -> list[Flowable]:
        d = self.dossier
        story = [self.heading_of(PHOTOS)]
        if not d.family_photos and not d.record_photos:
            return [*story, self.lines(self.lang.texts(NO_PHOTOS), self.muted)]
        column = self.width / 2
        rows: list[list[Any]] = [[self.label(FAMILY_PHOTOS), self.label(RECORD_PHOTOS)]]
        none = self.lines(self.lang.texts(NO_PHOTOS), self.placeholder)
        for index, (family, record) in enumerate(zip_longest(d.family_photos, d.record_photos)):
            cells: list[Any] = []
            for photo, given in ((family, d.family_photos), (record, d.record_photos)):
                if photo is not None:
                    cells.append(self.photo(photo))
                else:
                    cells.append(none if index == 0 and not given else "")
            rows.append(cells)
        return [*story, self.table(rows, (column, column), header=True, centred=True)]

    def photo(self, data: bytes) -> Flowable:
        from reportlab.platypus import Image

        prepared = _prepared_image(data)
        if prepared is None:
            return self.lines(self.lang.texts(BROKEN_PHOTO), self.placeholder)
        stream, (width, height) = prepared
        scale = min(PHOTO_WIDTH / width, PHOTO_HEIGHT / height)
        return Image(stream, width=width * scale, height=height * scale)

    def history(self) -> list[Flowable]:
        story = [self.heading_of(HISTORY)]
        if not self.dossier.history:
            return [*story, self.lines(self.lang.texts(NO_HISTORY), self.muted)]
        widths = [44 * MM, 58 * MM, 30 * MM]
        widths.append(self.width - sum(widths))
        rows: list[list[Any]] = [
            [
                self.label(DATE),
                self.label(STATUS_CHANGE),
                self.label(CHANGED_BY),
                self.label(REASON),
            ]
        ]
        for step in self.dossier.history:
            to = self.status(step.to_status)
            if step.from_status:
                before = self.status(step.from_status)
                before += [before[-1]] * (len(to) - len(before))
                to += [to[-1]] * (len(before) - len(to))
                change = [f"{b} {self.arrow} {t}" for b, t in zip(before, to, strict=True)]
            else:
                change = to
            rows.append(
                [
                    self.lines(self.lang.days(step.at, True)),
                    self.lines(change),
                    self.para(markup(step.actor or EMPTY)),
                    self.reason(step.reason),
                ]
            )
        return [*story, self.table(rows, widths, header=True)]

    def reason(self, reason: str | None) -> Flowable:
        if not reason or not reason.strip():
            return self.para(EMPTY)
        try:
            return self.lines(self.lang.texts(CLOSE_REASON_LABELS[CloseReason(reason)]))
        except ValueError:
            return self.para(markup(reason))

    def approvals(self) -> list[Flowable]:
        from reportlab.platypus import KeepTogether

        story = [self.heading_of(APPROVALS)]
        if not self.dossier.approvals:
            return [*story, self.lines(self.lang.texts(NO_APPROVALS), self.muted)]
        quarter = self.width / 4
        for approval in self.dossier.approvals:
            rows = [
                [
                    self.label(WRITTEN_ON),
                    self.label(WRITTEN_BY),
                    self.label(APPROVED_ON),
                    self.label(APPROVED_BY),
                ],
                [
                    self.lines(self.lang.days(approval.written_at, True)),
                    self.para(markup(approval.author or EMPTY)),
                    self.lines(self.lang.days(approval.approved_at, True)),
                    self.para(markup(approval.approver or EMPTY)),
                ],
            ]
            text = approval.text.strip()
            body = self.para(markup(text), self.boxed) if text else self.para(EMPTY)
            # Together on one page where they fit; a very long message still splits.
            story.append(KeepTogether([self.table(rows, [quarter] * 4, header=True), body]))
        return story

    # --- assembly ---

    def footer(self, canvas: Any, document: Any) -> None:
        from reportlab.lib import colors

        canvas.saveState()
        canvas.setFont(self.font.regular, 7.5)
        canvas.setFillColor(colors.HexColor(MUTED))
        y = PAGE_MARGIN / 2
        text = f"{self.dossier.code} · {self.lang.inline(CONFIDENTIAL)}"
        if canvas.stringWidth(text) > self.width - 20 * MM:
            text = f"{self.dossier.code} · {self.lang.texts(CONFIDENTIAL)[0]}"
        text = text.translate(self.spaces)
        left, right = PAGE_MARGIN + FRAME_PADDING, self.page_size[0] - PAGE_MARGIN - FRAME_PADDING
        canvas.drawString(left, y, text)
        canvas.drawRightString(right, y, str(document.page))
        canvas.restoreState()

    def build(self) -> bytes:
        from reportlab.platypus import SimpleDocTemplate

        out = BytesIO()
        document = SimpleDocTemplate(
            out,
            pagesize=self.page_size,
            leftMargin=PAGE_MARGIN,
            rightMargin=PAGE_MARGIN,
            topMargin=PAGE_MARGIN,
            bottomMargin=PAGE_MARGIN,
            title=f"{translate(TITLE, ENGLISH)} {self.dossier.code}",
            subject=translate(CONFIDENTIAL, ENGLISH),
            author="Homeward",
            creator="Homeward",
            lang=self.dossier.locale,
        )
        story = [
            *self.front(),
            *self.request(),
            *self.records(),
            *self.photos(),
            *self.history(),
            *self.approvals(),
        ]
        document.build(story, onFirstPage=self.footer, onLaterPages=self.footer)
        return out.getvalue()


def _prepared_image(data: bytes) -> tuple[BytesIO, tuple[int, int]] | None:
    """The photo ready to embed, with its size in pixels; None if it cannot be read.

    Decoded in full here, so a truncated or corrupt file becomes a placeholder instead
    of failing halfway through the build. A plain JPEG of sensible size goes in unchanged;
    anything else is turned upright, scaled down if huge, and stored as JPEG.
    """
    from PIL import Image as PILImage
    from PIL import ImageOps

    try:
        with PILImage.open(BytesIO(data)) as opened:
            opened.load()
            upright = opened.getexif().get(ORIENTATION_TAG, 1) == 1
            if (
                opened.format == "JPEG"
                and upright
                and opened.mode in ("RGB", "L")
                and max(opened.size) <= PHOTO_PIXELS
            ):
                return BytesIO(data), opened.size
            image = ImageOps.exif_transpose(opened)
            if max(image.size) > PHOTO_PIXELS:
                image.thumbnail((PHOTO_PIXELS, PHOTO_PIXELS))
            if image.mode in ("RGBA", "LA", "PA") or (
                image.mode == "P" and "transparency" in image.info
            ):
                rgba = image.convert("RGBA")
                image = PILImage.new("RGB", rgba.size, "white")
                image.paste(rgba, mask=rgba.getchannel("A"))
            elif image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = BytesIO()
            image.save(out, format="JPEG", quality=88)
            out.seek(0)
            return out, image.size
    except Exception:  # any unreadable photo becomes a placeholder, never a failure
        return None
