"""What liaisons read in the tracing work: search results, possible matches, import
reports, export captions, and the verification dossier's contents. Staff only."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from html import unescape

from aiogram.types import InlineKeyboardMarkup

from bot.domain import intake
from bot.domain.intake import Kind
from bot.domain.statuses import RequestStatus
from bot.exchange.records import FileError, FileProblem, Problem, RowProblem
from bot.i18n import N_, _, ngettext, pgettext, translate
from bot.services.cases import CaseView
from bot.services.records import DossierData, ImportReport
from bot.services.tracing import Decision, FindPage, MatchState, MatchView
from bot.texts.callbacks import CaseAction, CaseCb, FindCb, MatchAction, MatchCb
from bot.texts.common import h, status_label
from bot.texts.dossier import Approval, Dossier, Field, MatchedRecord, StatusStep
from bot.texts.keyboards import Buttons, keyboard
from bot.texts.privacy import erased_label
from bot.tracing.matching import Reason

MESSAGE_LIMIT = 4000
MAX_LISTED_PROBLEMS = 60


# --- search -----------------------------------------------------------------------


def find_usage() -> str:
    return _(
        "Search the requests by name in any spelling, by reference code, by birth year or "
        "date, or by place. For example:\n/find Kovalchuk Oleksandr\n/find Коваленко 2012\n"
        "/find HW-7K3P-9Q"
    )


def query_too_long(limit: int) -> str:
    return _("The search text is too long: at most {limit} characters, please.").format(limit=limit)


def _age(age: int, approx: bool) -> str:
    text = ngettext("{count} year", "{count} years", age).format(count=age)
    return "~" + text if approx else text


def render_found(page: FindPage, query: str) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("<b>Search:</b> {query}").format(query=h(query))]
    if not page.items:
        lines.append(_("Nothing found. Try another spelling, only the surname, or the birth year."))
        return "\n".join(lines), keyboard([])
    found = ngettext("{count} request found", "{count} requests found", page.total).format(
        count=page.total
    )
    if page.capped:
        found += " " + _("(the most likely ones; add a birth year or a place to narrow it)")
    lines.append(found)
    rows: list[list[tuple[str, str]]] = []
    for item in page.items:
        if item.erased_reason is not None:
            lines.append(
                f"P{item.priority} · <code>{item.code}</code> · {status_label(item.status)} · "
                + erased_label(item.erased_reason)
            )
        else:
            lines.append(
                f"P{item.priority} · <code>{item.code}</code> · {h(item.name)} · "
                f"{_age(item.age, item.birth_year_approx)} · {status_label(item.status)}"
            )
        rows.append([(item.code, CaseCb(action=CaseAction.OPEN, request_id=item.id).pack())])
    lines.append(_("Page {page} of {pages}").format(page=page.page + 1, pages=page.pages))
    nav = []
    if page.page > 0:
        nav.append(("«", FindCb(page=page.page - 1).pack()))
    if page.page + 1 < page.pages:
        nav.append(("»", FindCb(page=page.page + 1).pack()))
    rows.append(nav)
    return "\n".join(lines), keyboard(rows)


# --- possible matches -------------------------------------------------------------

REASON_LABELS: dict[Reason, str] = {
    Reason.SAME_NAME: N_("same name"),
    Reason.SAME_SURNAME: N_("same surname"),
    Reason.SAME_SURNAME_OTHER_SPELLING: N_("same surname in another spelling"),
    Reason.NAME_OTHER_SPELLING: N_("same name in another spelling or language"),
    Reason.NAME_DIMINUTIVE: N_("a diminutive of the same first name"),
    Reason.NAME_TYPO: N_("the name differs by a typing error"),
    Reason.NAME_ORDER: N_("the same names in another order"),
    Reason.SAME_PATRONYMIC: N_("same patronymic"),
    Reason.SAME_BIRTH_DATE: N_("same date of birth"),
    Reason.SAME_BIRTH_YEAR: N_("same birth year"),
    Reason.NEAR_BIRTH_YEAR: N_("birth year one apart"),
    Reason.SAME_SEX: N_("same sex"),
    Reason.SAME_PLACE: N_("same place"),
    Reason.SAME_REGION: N_("same region"),
}


def reason_label(reason: Reason) -> str:
    label = REASON_LABELS.get(reason)
    return _(label) if label else reason.value


def _other(match: MatchView) -> str:
    if match.other_request_code:
        return _("request {code}").format(code=f"<code>{match.other_request_code}</code>")
    return _("record {id} from {source}").format(
        id=f"<code>{h(match.record_source_id or '')}</code>", source=h(match.record_source or "")
    )


def match_section(case: CaseView) -> list[str]:
    lines: list[str] = []
    if case.lead_code:
        lines.append(
            _("Linked: the same person as case {code}, which leads.").format(
                code=f"<code>{case.lead_code}</code>"
            )
        )
    if case.leads:
        lines.append(
            _("Linked: this case leads {codes}.").format(
                codes=", ".join(f"<code>{code}</code>" for code in case.leads)
            )
        )
    if not case.matches:
        return lines
    lines.append("\n<b>" + _("Possible matches") + "</b>")
    for number, match in enumerate(case.matches, start=1):
        state = {
            MatchState.OPEN: _("to check"),
            MatchState.CONFIRMED: _("the same person"),
        }.get(match.state, match.state)
        reasons = ", ".join(reason_label(r) for r in match.reasons)
        birth = f", {h(match.other_birth)}" if match.other_birth else ""
        lines.append(
            f"{number}. {_other(match)}: {h(match.other_name)}{birth} · "
            + _("score {score}").format(score=f"{round(match.score * 100)}%")
            + f" · {state}"
            + (f"\n   {reasons}" if reasons else "")
        )
        if match.record_status:
            lines.append(
                "   " + _("Status at the source: {status}").format(status=h(match.record_status))
            )
    return lines


def add_match_buttons(buttons: Buttons, case: CaseView) -> None:
    if case.status is RequestStatus.CLOSED:
        return
    for number, match in enumerate(case.matches, start=1):
        if match.state != MatchState.OPEN:
            continue
        buttons.button(
            text=_("{number}: the same person").format(number=number),
            callback_data=MatchCb(action=MatchAction.SAME, match_id=match.id),
        )
        buttons.button(
            text=_("{number}: not the same").format(number=number),
            callback_data=MatchCb(action=MatchAction.NOT_SAME, match_id=match.id),
        )


def decision_text(decision: Decision) -> str:
    if not decision.confirmed:
        return _("Dismissed: not the same person.")
    if decision.lead_code:
        return _("Confirmed. The cases are linked; {code} leads.").format(code=decision.lead_code)
    return _("Confirmed: the record is the person sought in this case.")


# --- import -----------------------------------------------------------------------

PROBLEM_LABELS: dict[str, str] = {
    Problem.MISSING_NAME: N_("no surname and no first name"),
    Problem.MISSING_SOURCE: N_("no source (the body the list comes from)"),
    Problem.MISSING_ID: N_("no id of the source"),
    Problem.BAD_DATE: N_("not a date (write 2012-03-14, 14.03.2012 or 2012)"),
    Problem.FUTURE_DATE: N_("the date is in the future"),
    Problem.TOO_OLD: N_("born before 1990: not a child of this programme"),
    Problem.BAD_SEX: N_("sex not understood (write female or male, or leave it empty)"),
    Problem.TOO_LONG: N_("the text is too long"),
    Problem.DUPLICATE_ID: N_("the same source and id appear on more than one line"),
    Problem.PHOTOS_WITHOUT_ZIP: N_("photos are named, but no ZIP with photos came with the list"),
    Problem.PHOTO_NOT_IN_ZIP: N_("a photo named here is not in the ZIP"),
    Problem.PHOTO_AMBIGUOUS: N_("several files in the ZIP have this photo's name"),
    Problem.PHOTO_NOT_IMAGE: N_("a photo is not a JPEG or PNG image"),
    Problem.PHOTO_TOO_LARGE: N_("a photo is larger than 5 MB"),
    Problem.TOO_MANY_PHOTOS: N_("more than 10 photos"),
}
FILE_PROBLEM_LABELS: dict[str, str] = {
    FileError.NOT_CSV: N_("the file is neither a CSV file nor a ZIP"),
    FileError.SPREADSHEET: N_("this is a spreadsheet: save it as CSV (UTF-8) and send that"),
    FileError.BAD_ZIP: N_("the ZIP is damaged or can't be read"),
    FileError.ZIP_ENCRYPTED: N_("the ZIP has a password: send it without one"),
    FileError.UNSAFE_ZIP: N_("the ZIP holds paths outside its folder"),
    FileError.ZIP_TOO_LARGE: N_("the ZIP unpacks to more than 200 MB"),
    FileError.ZIP_TOO_MANY_ENTRIES: N_("the ZIP holds more than 5,000 files"),
    FileError.NO_CSV_IN_ZIP: N_("the ZIP holds no CSV file"),
    FileError.SEVERAL_CSV_IN_ZIP: N_("the ZIP holds more than one CSV file"),
    FileError.FILE_TOO_LARGE: N_("the CSV file is larger than 50 MB"),
    FileError.BAD_ENCODING: N_("the text is neither UTF-8 nor Windows-1251"),
    FileError.BAD_CSV: N_("the CSV can't be read (a quote that is never closed?)"),
    FileError.NO_HEADER: N_("the file is empty: the first line must name the columns"),
    FileError.MISSING_COLUMN: N_("required columns are missing"),
    FileError.DUPLICATE_COLUMN: N_("a column appears twice"),
    FileError.TOO_MANY_ROWS: N_("too many lines: split the list"),
}


def import_usage() -> str:
    return _(
        "Send the list as a file with the caption /import, or answer the message with the "
        "file by /import. A CSV file, or a ZIP with one CSV file and the photos it names. "
        "The columns are described in the README."
    )


def import_wrong_type() -> str:
    return _("Please send a .csv file, or a .zip with the .csv file and the photos.")


def import_too_large() -> str:
    return _("This file is larger than 20 MB, which is all a bot can receive. Please split it.")


def file_problem_text(problem: FileProblem) -> str:
    label = FILE_PROBLEM_LABELS.get(problem.problem)
    text = _(label) if label else problem.problem.value
    if problem.detail:
        text += f" ({h(problem.detail)})"
    return _("The list was not imported: {problem}").format(problem=text)


def problem_text(problem: RowProblem) -> str:
    label = PROBLEM_LABELS.get(str(problem.problem))
    return _("line {line}, {field}: {problem}").format(
        line=problem.line, field=h(problem.field), problem=_(label) if label else problem.problem
    )


def import_report(report: ImportReport) -> list[str]:
    """The report, cut into messages that fit Telegram."""
    lines = [
        _("<b>List imported</b>"),
        ngettext("{count} new record", "{count} new records", report.created).format(
            count=report.created
        ),
        ngettext("{count} record updated", "{count} records updated", report.updated).format(
            count=report.updated
        ),
        ngettext(
            "{count} record already up to date",
            "{count} records already up to date",
            report.unchanged,
        ).format(count=report.unchanged),
        ngettext(
            "{count} possible match found",
            "{count} possible matches found",
            report.matches_found,
        ).format(count=report.matches_found),
    ]
    if report.ignored_columns:
        lines.append(
            _("Columns not used: {columns}").format(columns=h(", ".join(report.ignored_columns)))
        )
    if report.problems:
        lines.append(
            "\n"
            + ngettext(
                "<b>{count} line was not imported:</b>",
                "<b>{count} lines were not imported:</b>",
                report.rejected_lines,
            ).format(count=report.rejected_lines)
        )
        for problem in report.problems[:MAX_LISTED_PROBLEMS]:
            lines.append(problem_text(problem))
        if len(report.problems) > MAX_LISTED_PROBLEMS:
            rest = len(report.problems) - MAX_LISTED_PROBLEMS
            lines.append(
                ngettext("…and {count} more problem", "…and {count} more problems", rest).format(
                    count=rest
                )
            )
        lines.append(_("Correct these lines and send the list again: nothing is imported twice."))
    return _split(lines)


def _split(lines: Sequence[str]) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > MESSAGE_LIMIT:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        parts.append("\n".join(current))
    return parts


_TAG = re.compile(r"<[^>]+>")


def plain(html: str) -> str:
    """A message for the terminal: no tags, entities back to characters."""
    return unescape(_TAG.sub("", html))


# --- export -----------------------------------------------------------------------


def export_usage() -> str:
    return _(
        "Export the open requests: /export\nOnly some cases: /export HW-7K3P-9Q HW-2M4N-8R\n"
        "By status: /export in_tracing located"
    )


def export_caption(count: int) -> str:
    return ngettext(
        "{count} request for the verification body (CSV). It holds no contact details "
        "of the family.",
        "{count} requests for the verification body (CSV). They hold no contact details "
        "of the families.",
        count,
    ).format(count=count)


# --- the verification dossier -----------------------------------------------------

# What the commissioners need to verify identity and welfare: no contact details.
_DOSSIER_LEFT_OUT = frozenset({"contact"})


def _both(message: str, locale: str, context: str | None = None) -> str:
    """A choice in the case's language and in English, for the dossier."""
    if context:
        here = pgettext(context, message, locale)
        english = pgettext(context, message, "en")
    else:
        here, english = translate(message, locale), translate(message, "en")
    return here if here == english else f"{here} / {english}"


def _answer_text(step: intake.Step, value: object, locale: str) -> str:
    if step.kind is Kind.CHOICE:
        chosen = next((c for c in step.choices if c.value == value), None)
        return _both(chosen.label, locale, chosen.context) if chosen else str(value)
    if step.kind in (Kind.DATE, Kind.BIRTH) and isinstance(value, dict):
        if value.get("kind") == "age":
            return "~" + str(value.get("text"))
        return str(value.get("text"))
    return str(value)


def _actor(actor_id: int | None) -> str | None:
    if actor_id is None:
        return None
    return f"#{actor_id}"


def build_dossier(data: DossierData, family_photos: tuple[bytes, ...]) -> Dossier:
    fields = []
    for step in intake.STEPS:
        if step.kind in (Kind.CONSENT, Kind.PHOTOS) or step.key in _DOSSIER_LEFT_OUT:
            continue
        value = data.answers.get(step.key)
        if value is None:
            continue
        fields.append(Field(label=step.label, value=_answer_text(step, value, data.locale)))
    matched = []
    record_photos: list[bytes] = []
    for record in data.records:
        record_fields = [Field(label=N_("Name"), value=record.name)]
        if record.other_names:
            record_fields.append(Field(label=N_("Other names"), value=record.other_names))
        if record.sex:
            record_fields.append(
                Field(label=N_("Sex"), value=record.sex.capitalize(), translatable=True)
            )
        if record.birth:
            record_fields.append(Field(label=N_("Date of birth"), value=record.birth))
        if record.places:
            record_fields.append(Field(label=N_("Places"), value="; ".join(record.places)))
        if record.status:
            record_fields.append(Field(label=N_("Status at the source"), value=record.status))
        matched.append(
            MatchedRecord(
                source=record.source,
                source_id=record.source_id,
                fields=tuple(record_fields),
                welfare=record.welfare,
                score=record.score,
                reasons=tuple(REASON_LABELS.get(r, r.value) for r in record.reasons),
            )
        )
        record_photos.extend(record.photos)
    return Dossier(
        code=data.code,
        locale=data.locale,
        status=data.status,
        request_fields=tuple(fields),
        family_photos=family_photos,
        records=tuple(matched),
        record_photos=tuple(record_photos),
        history=tuple(
            StatusStep(
                at=step.at,
                from_status=step.from_status,
                to_status=step.to_status,
                actor=_actor(step.actor_id),
                reason=step.reason,
            )
            for step in data.history
        ),
        approvals=tuple(
            Approval(
                written_at=a.written_at,
                author=_actor(a.author_id) or "",
                approved_at=a.approved_at,
                approver=_actor(a.approver_id) or "",
                text=a.text,
            )
            for a in data.approvals
        ),
        generated_at=datetime.now(UTC),
    )


def dossier_caption(code: str) -> str:
    return _(
        "Verification dossier of case {code}. It holds a child's personal data: share it "
        "only with the commissioners of the verification."
    ).format(code=code)


def no_font() -> str:
    return _(
        "The dossier could not be made: the server has no font with Cyrillic letters. "
        "Ask the technical volunteer to install DejaVu fonts or set HOMEWARD_PDF_FONT."
    )
