"""The tracing work: /find, possible matches on a case card, list import and export,
the verification dossier. Liaisons only (see StaffOnly); families never reach any of it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot, F
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Document, Message

from bot.config import Settings
from bot.domain.reference import normalize_reference_code
from bot.domain.statuses import RequestStatus
from bot.exchange.export import requests_csv
from bot.exchange.pfif import pfif_document
from bot.exchange.records import read_records
from bot.i18n import _
from bot.matcher import Matcher
from bot.services import cases, records, tracing
from bot.services.uow import UnitOfWork
from bot.texts import tracing as texts
from bot.texts.callbacks import FindCb, MatchAction, MatchCb
from bot.texts.dossier import NoCyrillicFont, dossier_pdf
from handlers.editing import edit_in_place
from handlers.liaison.cases import card_keyboard, render_card
from handlers.routing import RouterSpec

log = logging.getLogger(__name__)
router = RouterSpec("staff.tracing")

FIND_STATE_KEY = "find_query"
MAX_QUERY = 200
MAX_LIST_BYTES = 20 * 1024 * 1024  # what a bot may download from Telegram


# --- /find ------------------------------------------------------------------------


@router.message(Command("find"))
async def find(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
) -> None:
    assert message.from_user
    text = (command.args or "").strip()
    if not text:
        await message.answer(texts.find_usage())
        return
    if len(text) > MAX_QUERY:
        await message.answer(texts.query_too_long(MAX_QUERY))
        return
    page = await tracing.find(uow, message.from_user.id, admin_ids, text)
    await state.update_data({FIND_STATE_KEY: text})
    shown, markup = texts.render_found(page, text)
    await message.answer(shown, reply_markup=markup)


@router.callback_query(FindCb.filter())
async def turn_find_page(
    query: CallbackQuery,
    callback_data: FindCb,
    state: FSMContext,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
) -> None:
    text = (await state.get_data()).get(FIND_STATE_KEY)
    if not text:
        await query.answer(_("This search has expired. Please search again with /find."))
        return
    page = await tracing.find(uow, query.from_user.id, admin_ids, text, callback_data.page)
    await query.answer()
    if isinstance(query.message, Message):
        await edit_in_place(query.message, *texts.render_found(page, text))


# --- possible matches ---------------------------------------------------------------


async def _decide(
    query: CallbackQuery,
    callback_data: MatchCb,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    same: bool,
) -> None:
    decision = await tracing.decide_match(
        uow, query.from_user.id, admin_ids, callback_data.match_id, same
    )
    await query.answer(texts.decision_text(decision))
    case = await cases.open_case(uow, query.from_user.id, admin_ids, code=decision.code)
    if isinstance(query.message, Message):
        await edit_in_place(
            query.message, render_card(case), card_keyboard(case, query.from_user.id)
        )


@router.callback_query(MatchCb.filter(F.action == MatchAction.SAME))
async def confirm_match(
    query: CallbackQuery, callback_data: MatchCb, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    await _decide(query, callback_data, uow, admin_ids, True)


@router.callback_query(MatchCb.filter(F.action == MatchAction.NOT_SAME))
async def dismiss_match(
    query: CallbackQuery, callback_data: MatchCb, uow: UnitOfWork, admin_ids: frozenset[int]
) -> None:
    await _decide(query, callback_data, uow, admin_ids, False)


# --- list import ------------------------------------------------------------------


def _attached(message: Message) -> Document | None:
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


@router.message(Command("import"))
async def import_list(
    message: Message,
    bot: Bot,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    matcher: Matcher | None = None,
) -> None:
    """A list sent as a file with the caption /import, or /import in reply to the file."""
    assert message.from_user
    document = _attached(message)
    if document is None:
        await message.answer(texts.import_usage())
        return
    name = document.file_name or "list.csv"
    if not name.lower().endswith((".csv", ".zip", ".txt")):
        await message.answer(texts.import_wrong_type())
        return
    if document.file_size and document.file_size > MAX_LIST_BYTES:
        await message.answer(texts.import_too_large())
        return
    downloaded = await bot.download(document.file_id)
    assert downloaded is not None
    parsed = read_records(name, downloaded.read())
    if parsed.fatal is not None:
        await message.answer(texts.file_problem_text(parsed.fatal))
        return
    report = await records.import_records(uow, message.from_user.id, admin_ids, parsed)
    if matcher is not None:
        matcher.wake()
    for part in texts.import_report(report):
        await message.answer(part)


# --- export -----------------------------------------------------------------------


def _selection(args: str) -> records.Selection | None:
    words = args.replace(",", " ").split()
    if not words:
        return records.Selection()
    codes = [normalize_reference_code(word) for word in words]
    if all(codes):
        return records.Selection(codes=tuple(c for c in codes if c))
    statuses = []
    for word in words:
        try:
            statuses.append(RequestStatus(word.lower()))
        except ValueError:
            return None
    return records.Selection(statuses=tuple(statuses))


@router.message(Command("export"))
async def export(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
    settings: Settings | None = None,
) -> None:
    assert message.from_user
    selection = _selection(command.args or "")
    if selection is None:
        await message.answer(texts.export_usage())
        return
    exported = await records.export_requests(
        uow,
        message.from_user.id,
        admin_ids,
        selection,
        domain=settings.pfif_domain if settings else records.PFIF_DOMAIN,
        organisation=settings.organisation_name if settings else "Homeward",
    )
    if not exported.cases:
        await message.answer(_("No requests match this selection."))
        return
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    await message.answer_document(
        BufferedInputFile(requests_csv(exported.cases), f"homeward-requests-{stamp}.csv"),
        caption=texts.export_caption(len(exported.cases)),
    )
    await message.answer_document(
        BufferedInputFile(
            pfif_document(exported.persons, now=datetime.now(UTC)),
            f"homeward-requests-{stamp}.pfif.xml",
        ),
        caption=_("The same requests in PFIF 1.4 (XML)."),
    )


# --- the verification dossier -----------------------------------------------------


@router.message(Command("dossier"))
async def dossier(
    message: Message,
    command: CommandObject,
    bot: Bot,
    uow: UnitOfWork,
    admin_ids: frozenset[int],
) -> None:
    assert message.from_user
    code = normalize_reference_code(command.args or "")
    if code is None:
        await message.answer(_("Please add the reference code: /dossier HW-7K3P-9Q"))
        return
    data = await records.dossier_data(uow, message.from_user.id, admin_ids, code)
    family_photos = []
    for file_id in data.photo_file_ids[:10]:
        try:
            photo = await bot.download(file_id)
        except Exception:
            log.warning("dossier: a photo could not be downloaded")
            continue
        if photo is not None:
            family_photos.append(photo.read())
    try:
        pdf = dossier_pdf(texts.build_dossier(data, tuple(family_photos)))
    except NoCyrillicFont:
        await message.answer(texts.no_font())
        return
    caption = texts.dossier_caption(code)
    if len(family_photos) < min(len(data.photo_file_ids), 10):
        caption += "\n" + _("Some of the family's photos could not be fetched from Telegram.")
    await message.answer_document(BufferedInputFile(pdf, f"dossier-{code}.pdf"), caption=caption)
