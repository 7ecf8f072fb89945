"""In-process Telegram Bot API emulator: the sandbox's Bot API (`python -m bot sandbox`) and
the end-to-end tests' (`tests/emulator.py` re-exports it).

The bot talks to it over real HTTP (``TelegramAPIServer.from_base(emu.base_url)``) and long-polls
``getUpdates`` exactly as it would against api.telegram.org, while tests play users
(``send_text``, ``press_button`` ...) and inspect what the bot sent (``sent_to``,
``wait_for_message``). Validation mirrors Telegram's checks and error texts, so a bug that would
make Telegram answer 400 fails the test instead of passing silently: the emulator is strict,
and ``stop()`` (or leaving ``async with``) fails the test if it answered a 400 that the test
did not announce with ``expect_errors``. Faults a test injected (``fail_next`` ...), 429s of
the rate limiter and other codes (403 for a user the test blocked) are not checked.

Deliberate differences from Telegram (documented so nobody is surprised):

* a stray ``&`` in HTML mode is rejected; Telegram keeps it literally, but the Bot API docs
  require escaping and an unescaped ``&`` almost always means ``<`` is unescaped too.
  ``strict_html_entities=False`` restores Telegram's lenient behaviour;
* Markdown / MarkdownV2 are not parsed: such text is stored verbatim without entities;
* file ids must be known (seen in an update, uploaded by the bot, or ``add_file``) unless
  ``strict_file_ids=False``;
* ``sendMediaGroup`` requires 2-10 items (the documented range);
* inline keyboard buttons must carry exactly one action field;
* ``setWebhook`` accepts ``http://`` URLs on any port (Telegram wants https on 443, 80, 88
  or 8443), and a failed delivery is tried again after ``webhook_retry_delays`` (short, for
  tests) up to ``webhook_max_attempts`` times, then dropped as Telegram gives up.

Webhook mode: after ``setWebhook`` the emulator posts each update to the URL, as JSON with the
``X-Telegram-Bot-Api-Secret-Token`` header, up to ``max_connections`` at once in update
order, and forgets it only once the bot answered 2xx (``webhook_deliveries`` records every
attempt); ``getUpdates`` then answers 409 as Telegram does. ``deleteWebhook`` returns to
polling with the undelivered updates kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import inspect
import json
import logging
import math
import re
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiohttp
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:" + "A" * 35
MESSAGE_MAX = 4096
CAPTION_MAX = 1024
CALLBACK_DATA_MAX = 64

# Methods that create messages: rate limited, and the default target of outages.
SEND_METHODS: frozenset[str] = frozenset(
    "sendMessage sendPhoto sendMediaGroup sendDocument sendVoice sendSticker sendVideo "
    "sendAnimation sendAudio sendLocation sendContact forwardMessage copyMessage".split()
)
# Polling / lifecycle calls. ``fail_next(methods=None)`` skips them because their timing is
# driven by the dispatcher, not by the test, and failing them only adds backoff sleeps.
INFRA_METHODS: frozenset[str] = frozenset(
    {"getUpdates", "getMe", "deleteWebhook", "setWebhook", "getWebhookInfo", "close", "logOut"}
)
_INFRA_LC = frozenset(m.lower() for m in INFRA_METHODS)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice "
    "upload_document choose_sticker find_location record_video_note upload_video_note".split()
)
_COMMAND_SCOPES = frozenset(
    "default all_private_chats all_group_chats all_chat_administrators chat "
    "chat_administrators chat_member".split()
)
_CHAT_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_LANG_RE = re.compile(r"^[a-z]{2}$")

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class ApiError(Exception):
    """A Bot API error answer. Raise it from ``register_method`` hooks too."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# ---------------------------------------------------------------------------------------------
# Telegram HTML parse mode
# ---------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """The reason part of Telegram's ``can't parse entities: ...`` error."""


_SUPPORTED_TAGS = frozenset(
    "a b strong i em u ins s strike del code pre tg-spoiler span blockquote tg-emoji".split()
)
_TAG_ENTITY = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,10}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z][a-zA-Z0-9]{0,31});")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: the unit of Telegram entity offsets and length limits."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity_at(source: str, i: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(source, i)
    if match is None:
        return None
    body = match.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), match.end()
    char = _NAMED_ENTITIES.get(body)
    return (char, match.end()) if char is not None else None


def _decode_lenient(raw: str) -> str:
    # Attribute values (URLs with "&" in the query) are decoded leniently, like TDLib does.
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "&" and (decoded := _decode_entity_at(raw, i)) is not None:
            out.append(decoded[0])
            i = decoded[1]
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


@dataclass
class _OpenTag:
    name: str
    start: int  # UTF-16 offset in the rendered text
    attrs: dict[str, str]


def _parse_attributes(
    source: str, i: int, tag: str, at: Callable[[], str]
) -> tuple[dict[str, str], int]:
    attrs: dict[str, str] = {}
    n = len(source)

    def skip_spaces(k: int) -> int:
        while k < n and source[k].isspace():
            k += 1
        if k >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {at()}")
        return k

    while True:
        i = skip_spaces(i)
        if source[i] == ">":
            return attrs, i + 1
        name_start = i
        while i < n and not source[i].isspace() and source[i] not in "=>":
            i += 1
        name = source[name_start:i].lower()
        if not name:
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {at()}')
        i = skip_spaces(i)
        if source[i] != "=":
            if tag == "blockquote" and name == "expandable":
                attrs[name] = ""
                continue
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {at()}'
            )
        i = skip_spaces(i + 1)
        quote = source[i]
        if quote in "\"'":
            end = source.find(quote, i + 1)
            if end == -1:
                raise HtmlParseError(f"Unclosed start tag at byte offset {at()}")
            raw, i = source[i + 1 : end], end + 1
        else:
            value_start = i
            while i < n and not source[i].isspace() and source[i] != ">":
                i += 1
            raw = source[value_start:i]
        attrs[name] = _decode_lenient(raw)


def _close_tag(
    tag: _OpenTag, end: int, stack: list[_OpenTag], entities: list[dict[str, Any]]
) -> None:
    if tag.name == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            # <pre><code class="language-x"> becomes a single "pre" entity with a language.
            stack[-1].attrs["\0language"] = language.removeprefix("language-")
            return
    length = end - tag.start
    if length <= 0:
        return  # Telegram drops empty entities
    entity: dict[str, Any] = {"type": _TAG_ENTITY[tag.name], "offset": tag.start, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.attrs.get("\0language"):
        entity["language"] = tag.attrs["\0language"]
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        emoji_id = tag.attrs.get("emoji-id")
        if not emoji_id:
            return
        entity["custom_emoji_id"] = emoji_id
    entities.append(entity)


def parse_html(source: str, *, strict_entities: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram-flavoured HTML into (plain text, entities with UTF-16 offsets).

    Follows TDLib's parser: same tag set, attribute syntax and error texts (with UTF-8 byte
    offsets). Raises :class:`HtmlParseError` with the reason Telegram would report.
    """
    out: list[str] = []
    pos16 = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    n = len(source)
    i = 0

    def byte_offset(p: int) -> int:
        return len(source[:p].encode())

    def emit(text: str) -> None:
        nonlocal pos16
        out.append(text)
        pos16 += utf16_len(text)

    while i < n:
        char = source[i]
        if char == "&":
            decoded = _decode_entity_at(source, i)
            if decoded is not None:
                emit(decoded[0])
                i = decoded[1]
                continue
            if strict_entities:
                raise HtmlParseError(
                    f'Unescaped "&" at byte offset {byte_offset(i)}: '
                    "only &lt; &gt; &amp; &quot; and numeric entities are supported"
                )
            emit(char)
            i += 1
            continue
        if char != "<":
            j = i + 1
            while j < n and source[j] not in "<&":
                j += 1
            emit(source[i:j])
            i = j
            continue

        begin = i
        i += 1
        if i < n and source[i] == "/":
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            close = source.find(">", i)
            if close == -1:
                raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            name = source[i + 1 : close].strip().lower()
            top = stack[-1]
            if name != top.name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{top.name}>", found "</{name}>"'
                )
            stack.pop()
            _close_tag(top, pos16, stack, entities)
            i = close + 1
            continue

        j = i
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        name = source[i:j].lower()
        if name not in _SUPPORTED_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}'
            )

        def where(at: int = begin) -> str:
            return str(byte_offset(at))

        attrs, i = _parse_attributes(source, j, name, where)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        stack.append(_OpenTag(name, pos16, attrs))

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _strip_formatted(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram does, shifting and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


_BOT_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")


def command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities Telegram would attach to a user's text."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
        for m in _BOT_COMMAND_RE.finditer(text)
    ]


# ---------------------------------------------------------------------------------------------
# Stored state
# ---------------------------------------------------------------------------------------------


def _unique_id(file_id: str) -> str:
    # Deterministic stand-in for Telegram's file_unique_id.
    return "AQAD" + hashlib.sha1(file_id.encode()).hexdigest()[:16]


@dataclass
class StoredFile:
    file_id: str
    kind: str  # photo | document | sticker | voice | video | animation | audio
    content: bytes | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str = ""

    @property
    def file_unique_id(self) -> str:
        return _unique_id(self.file_id)

    @property
    def data(self) -> bytes:
        return self.content if self.content is not None else f"emulated {self.file_id}".encode()


@dataclass(repr=False)
class StoredMessage:
    """A message in an emulated chat (sent by the bot or by a user).

    Attributes are also readable dict-style (``msg["text"]``). ``text``/``caption`` are the
    plain rendered strings; ``html``/``caption_html`` are the sources exactly as the bot sent
    them (HTML markup when ``parse_mode="HTML"``). ``reply_markup`` is whatever markup was sent,
    including reply keyboards (Telegram itself only echoes inline keyboards back).
    """

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: dict[str, Any]
    chat: dict[str, Any]
    method: str  # API method that created it, or "user"
    text: str | None = None
    html: str | None = None
    entities: list[dict[str, Any]] | None = None
    caption: str | None = None
    caption_html: str | None = None
    caption_entities: list[dict[str, Any]] | None = None
    parse_mode: str | None = None
    photo: list[dict[str, Any]] | None = None
    media: dict[str, Any] = field(default_factory=dict)  # document / sticker / voice / location
    reply_markup: dict[str, Any] | None = None
    media_group_id: str | None = None
    reply_to_message: dict[str, Any] | None = None
    forward_origin: dict[str, Any] | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)  # API snapshots before edits

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    @property
    def kind(self) -> str:
        if self.text is not None:
            return "text"
        if self.photo:
            return "photo"
        return next(iter(self.media), "unknown")

    @property
    def content(self) -> str | None:
        """Text, or caption for media messages."""
        return self.text if self.text is not None else self.caption

    @property
    def inline_markup(self) -> dict[str, Any] | None:
        markup = self.reply_markup
        return markup if markup and "inline_keyboard" in markup else None

    @property
    def buttons(self) -> list[str]:
        return button_texts(self.reply_markup)

    @property
    def callback_data(self) -> list[str]:
        markup = self.inline_markup or {}
        return [
            b["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for b in row
            if "callback_data" in b
        ]

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.forward_origin:
            data["forward_origin"] = self.forward_origin
        if self.reply_to_message:
            data["reply_to_message"] = self.reply_to_message
        if self.edit_date:
            data["edit_date"] = self.edit_date
        if self.media_group_id:
            data["media_group_id"] = self.media_group_id
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo:
            data["photo"] = self.photo
        data.update(self.media)
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.inline_markup:
            data["reply_markup"] = self.inline_markup
        return copy.deepcopy(data)

    def __repr__(self) -> str:
        who = "bot" if self.from_bot else f"user {self.sender.get('id')}"
        flags = " [deleted]" if self.deleted else ""
        flags += " [edited]" if self.edit_date else ""
        buttons = f" buttons={self.buttons}" if self.reply_markup else ""
        return f"<#{self.message_id} {self.kind} from {who}{flags}: {self.content!r}{buttons}>"


def button_texts(markup: Mapping[str, Any] | None) -> list[str]:
    """Flat list of button texts of an inline or reply keyboard markup."""
    return [text for row in button_rows(markup) for text in row]


def button_rows(markup: Mapping[str, Any] | None) -> list[list[str]]:
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]


class ApiRequest(NamedTuple):
    method: str
    params: dict[str, Any]
    timestamp: float  # emulator clock (monotonic by default)


class WebhookDelivery(NamedTuple):
    """One POST of an update to the webhook: the HTTP status (0: no answer)."""

    update_id: int
    attempt: int
    status: int
    timestamp: float  # time.monotonic()


class ApiErrorRecord(NamedTuple):
    method: str
    params: dict[str, Any]
    error_code: int
    description: str
    injected: bool  # came from fail_next/fail_for/outage or the rate limiter

    def __str__(self) -> str:
        return f"{self.method} -> {self.error_code} {self.description}"


class ErrorExpectation:
    """Errors a test provokes on purpose; see ``TelegramEmulator.expect_errors``."""

    def __init__(
        self,
        emulator: TelegramEmulator,
        fragments: tuple[str, ...],
        methods: frozenset[str] | None,
    ) -> None:
        self._emulator = emulator
        self.fragments = tuple(f.lower() for f in fragments)
        self.methods = methods  # lowercase names; None = any method
        self.seen: list[ApiErrorRecord] = []  # the errors it matched

    def matches(self, record: ApiErrorRecord) -> bool:
        if self.methods is not None and record.method.lower() not in self.methods:
            return False
        description = record.description.lower()
        return not self.fragments or any(f in description for f in self.fragments)

    def __enter__(self) -> ErrorExpectation:
        return self

    def __exit__(self, *exc: object) -> None:
        self._emulator._expectations.remove(self)


@dataclass
class CallbackQueryRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    answer: dict[str, Any] | None = None


@dataclass
class _Fault:
    status: int
    retry_after: int
    methods: frozenset[str] | None  # lowercase names; None = everything but INFRA_METHODS
    description: str | None
    remaining: int | None = None  # counted fault (fail_next)
    until: float | None = None  # time-window fault (fail_until / outage)

    def matches(self, method_lc: str, now: float) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.until is not None and now >= self.until:
            return False
        if self.methods is None:
            return method_lc not in _INFRA_LC
        return method_lc in self.methods

    def error(self) -> ApiError:
        if self.status == 429:
            return too_many_requests(self.retry_after)
        text = self.description or _STATUS_TEXT.get(self.status, "Error")
        return ApiError(self.status, text)


@dataclass
class _Upload:
    filename: str | None
    content: bytes
    content_type: str | None


# ---------------------------------------------------------------------------------------------
# Request decoding
# ---------------------------------------------------------------------------------------------

# Multipart/form values are plain strings; aiogram JSON-encodes nested objects and scalars
# other than str, so decode by field name (never guess on free text like "text").
_JSON_FIELDS = frozenset(
    "reply_markup entities caption_entities media commands scope allowed_updates "
    "link_preview_options reply_parameters message_ids permissions results menu_button "
    "rights options explanation_entities".split()
)
_INT_FIELDS = frozenset(
    "chat_id from_chat_id message_id offset limit timeout user_id reply_to_message_id "
    "message_thread_id cache_time duration width height live_period heading "
    "proximity_alert_radius until_date".split()
)
_FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_BOOL_PREFIXES = ("is_", "has_", "can_", "disable_", "allow_", "show_", "protect_", "drop_")
_FILE_PARAMS = frozenset({"photo", "document", "sticker", "voice", "video", "animation", "audio"})


def _decode_value(key: str, value: Any, *, from_form: bool) -> Any:
    if key in _JSON_FIELDS and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if key == "reply_markup" else key
            raise bad_request(f"can't parse {what} JSON object") from None
    if key in _INT_FIELDS and isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
        return value
    if from_form and key in _FLOAT_FIELDS:
        with contextlib.suppress(ValueError):
            return float(value)
        return value
    if from_form and key.startswith(_BOOL_PREFIXES) and value in ("true", "false"):
        return value == "true"
    return value


def _json_dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _scope_key(scope: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(scope or {"type": "default"}), sort_keys=True, separators=(",", ":"))


def _int_param(params: Mapping[str, Any], key: str, missing: str | None = None) -> int:
    value = params.get(key)
    if value is None or value == "":
        raise bad_request(missing or f'parameter "{key}" is required')
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f'field "{key}" must be of type Integer') from None


Handler = Callable[[dict[str, Any], dict[str, _Upload]], Any]


# ---------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------


class TelegramEmulator:
    """A fake ``api.telegram.org`` bound to 127.0.0.1 on a free port.

    Lives in the test's event loop. See the module docstring for the deliberate differences
    from Telegram. Public state (all safe to read in tests): ``requests``, ``errors``,
    ``stats``, ``commands``, ``callback_queries``, ``chat_actions``, ``files``, ``users``,
    ``chats``, ``blocked``, ``unopened``, ``reply_keyboards``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_id: int | None = None,
        bot_username: str = "homeward_test_bot",
        *,
        bot_first_name: str = "Homeward Test Bot",
        global_rate: float | None = None,
        per_chat_rate: float | None = None,
        per_chat_burst: int = 1,
        strict_html_entities: bool = True,
        strict_file_ids: bool = True,
        max_poll_timeout: float = 50.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        strict_errors: Iterable[int] = (400,),
    ) -> None:
        token_id = token.split(":", 1)[0]
        if not token_id.isdigit():
            raise ValueError(f"token {token!r} must look like '<digits>:<secret>'")
        if bot_id is not None and bot_id != int(token_id):
            # aiogram derives bot.id from the token; a different getMe id would confuse it.
            raise ValueError(f"bot_id {bot_id} must equal the token's numeric prefix {token_id}")
        self.token = token
        self.bot_id = int(token_id)
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.global_rate = global_rate  # messages/second over all chats; None = unlimited
        self.per_chat_rate = per_chat_rate  # messages/second per chat; None = unlimited
        # Telegram lets a short burst into one chat as long as the average keeps the rate:
        # at most `per_chat_burst` messages in any `per_chat_burst / per_chat_rate` seconds
        # (1, the default: strictly `per_chat_rate` in any second).
        self.per_chat_burst = per_chat_burst
        self.strict_html_entities = strict_html_entities
        self.strict_file_ids = strict_file_ids
        self.max_poll_timeout = max_poll_timeout
        self.clock = clock  # rate windows, fault windows and request timestamps
        self.wall_clock = wall_clock  # message dates
        # Error codes the bot must not provoke unless the test expects them; () = no check.
        self.strict_errors = frozenset(strict_errors)

        # Public, inspectable state.
        self.requests: list[ApiRequest] = []
        self.errors: list[ApiErrorRecord] = []
        self.unexpected_errors: list[ApiErrorRecord] = []  # strict codes nobody expected
        self.internal_errors: list[BaseException] = []
        self.stats: Counter[str] = Counter()
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        # Users who never wrote to the bot: their private chat does not exist for it yet.
        self.unopened: set[int] = set()
        self.kicked_from: set[int] = set()
        self.members: dict[int, dict[int, str]] = {}  # chat -> user -> status
        self.phone_numbers: dict[int, str] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.bot_settings: dict[tuple[str, str], Any] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.files: dict[str, StoredFile] = {}
        self.reply_keyboards: dict[int, dict[str, Any] | None] = {}
        self.webhook_url = ""
        # Webhook mode (see the module docstring).
        self.webhook_secret: str | None = None
        self.webhook_allowed_updates: list[str] | None = None
        self.webhook_max_connections = 40
        # About 75 s of retries in all: long enough for an instance's lapsed claim.
        self.webhook_retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
        self.webhook_max_attempts = 40
        self.webhook_timeout = 30.0
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.webhook_last_error: str | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_posting: set[int] = set()
        self._webhook_workers: set[asyncio.Task[None]] = set()

        self._messages: dict[int, dict[int, StoredMessage]] = {}
        self._bot_messages: dict[int, list[StoredMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._cursors: dict[int, int] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._next_query_id = 1
        self._next_media_group = 1
        self._next_file = 1
        self._faults: list[_Fault] = []
        self._outage: _Fault | None = None
        self._expectations: list[ErrorExpectation] = []
        # How many unexpected errors and emulator bugs were reported already.
        self._reported_errors = 0
        self._reported_bugs = 0
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}
        self._poll_generation = 0
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, tuple[str, Handler]] = {}
        self._register_builtin_methods()

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # handler_cancellation: a getUpdates whose client went away must stop waiting.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._closing = False

    async def stop(self, *, check: bool = True) -> None:
        """Shut the server down; then, with ``check``, fail on the errors nobody expected
        (``assert_no_unexpected_errors``)."""
        self._closing = True
        self._notify()  # parked long polls answer [] right away instead of holding shutdown
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if check:
            self.assert_no_unexpected_errors()

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        await self.stop(check=exc is None)
        if exc is not None and (problems := self._unreported_problems()):
            # The test failed already: say what else went wrong, without hiding its error.
            exc.add_note("The emulator also answered:\n  " + "\n  ".join(problems))

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("emulator is not started; await emu.start() first")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_server(self) -> TelegramAPIServer:
        return TelegramAPIServer.from_base(self.base_url)

    # ---- world setup ------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "User",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        phone_number: str | None = None,
        opened_chat: bool = True,
    ) -> dict[str, Any]:
        """Register a user and their private chat (chat id == user id). Returns User JSON.

        ``opened_chat=False``: the user has never written to the bot. As with Telegram, the
        bot can't reach that chat until they do: a chat-scoped ``setMyCommands`` answers 400
        "chat not found" and a message 403; their first message opens it."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value:
                user[key] = chat[key] = value
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        self.chats[user_id] = chat
        self.phone_numbers[user_id] = phone_number or f"+380{user_id:09d}"[-13:]
        if opened_chat:
            self.unopened.discard(user_id)
        else:
            self.unopened.add(user_id)
        return user

    def add_group(
        self,
        chat_id: int,
        title: str = "Group",
        *,
        type: str | None = None,  # mirrors the Telegram field
        members: Iterable[int] = (),
    ) -> dict[str, Any]:
        """Register a group (supergroup when the id starts with -100). Returns Chat JSON."""
        kind = type or ("supergroup" if str(chat_id).startswith("-100") else "group")
        chat = {"id": chat_id, "type": kind, "title": title}
        self.chats[chat_id] = chat
        self.members.setdefault(chat_id, {}).update(dict.fromkeys(members, "member"))
        return chat

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """status: creator | administrator | member | restricted | left | kicked."""
        self.members.setdefault(chat_id, {})[user_id] = status

    def block_user(self, user_id: int, *, notify: bool = False) -> None:
        """The user blocks the bot: sends to their chat get 403. notify=True also queues the
        ``my_chat_member`` update Telegram sends in that case."""
        self.blocked.add(user_id)
        if notify:
            self._push_member_update(user_id, "member", "kicked")

    def unblock_user(self, user_id: int) -> None:
        self.blocked.discard(user_id)

    def remove_bot_from_group(self, chat_id: int) -> None:
        self.kicked_from.add(chat_id)

    def add_file(
        self,
        file_id: str,
        kind: str = "photo",
        content: bytes | None = None,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        """Make a file id known (as if the bot had received it earlier)."""
        return self._register_file(file_id, kind, content, file_name=file_name, mime_type=mime_type)

    # ---- fault injection --------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        retry_after: int = 1,
        methods: Iterable[str] | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``n`` matching requests fail. ``methods=None`` matches every method except
        :data:`INFRA_METHODS` (polling must keep working); name getUpdates explicitly to break
        polling."""
        self._faults.append(
            _Fault(status, retry_after, self._method_set(methods), description, remaining=n)
        )

    def fail_until(
        self,
        deadline: float,
        status: int = 500,
        retry_after: int = 1,
        methods: Iterable[str] | None = SEND_METHODS,
        description: str | None = None,
    ) -> None:
        """Matching requests fail until ``emu.clock()`` reaches ``deadline``."""
        self._faults.append(
            _Fault(status, retry_after, self._method_set(methods), description, until=deadline)
        )

    def fail_for(
        self,
        seconds: float,
        status: int = 500,
        retry_after: int = 1,
        methods: Iterable[str] | None = SEND_METHODS,
        description: str | None = None,
    ) -> None:
        self.fail_until(self.clock() + seconds, status, retry_after, methods, description)

    def set_outage(
        self,
        on: bool,
        status: int = 500,
        retry_after: int = 1,
        methods: Iterable[str] | None = SEND_METHODS,
    ) -> None:
        """Switch: while on, matching requests (send* by default) fail with ``status``."""
        self._outage = (
            _Fault(status, retry_after, self._method_set(methods), None, until=math.inf)
            if on
            else None
        )

    def clear_faults(self) -> None:
        self._faults.clear()
        self._outage = None

    @staticmethod
    def _method_set(methods: Iterable[str] | None) -> frozenset[str] | None:
        return None if methods is None else frozenset(m.lower() for m in methods)

    def _take_fault(self, method_lc: str, now: float) -> ApiError | None:
        self._faults = [
            f
            for f in self._faults
            if not (
                (f.remaining is not None and f.remaining <= 0)
                or (f.until is not None and f.until <= now)
            )
        ]
        for fault in [*self._faults, *([self._outage] if self._outage else [])]:
            if fault.matches(method_lc, now):
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault.error()
        return None

    # ---- rate limiting ----------------------------------------------------------------------

    def _rate_gate(self, chat_id: int, count: int = 1) -> None:
        """Sliding windows (one second over all chats; `per_chat_burst / per_chat_rate`
        seconds in one chat); call right before a send commits its messages."""
        now = self.clock()
        chat_window = self._chat_windows.setdefault(chat_id, deque())
        chat_seconds = self.per_chat_burst / self.per_chat_rate if self.per_chat_rate else 1.0
        for window, seconds in ((self._global_window, 1.0), (chat_window, chat_seconds)):
            while window and window[0] <= now - seconds:
                window.popleft()
        for scope, limit, window, seconds in (
            ("global", self.global_rate, self._global_window, 1.0),
            (
                "per_chat",
                self.per_chat_burst if self.per_chat_rate else None,
                chat_window,
                chat_seconds,
            ),
        ):
            if limit is not None and len(window) + count > limit:
                retry_after = max(1, math.ceil(window[0] + seconds - now)) if window else 1
                self.stats["rate_limited"] += 1
                self.stats[f"rate_limited:{scope}"] += 1
                raise _RateLimited(too_many_requests(retry_after))
        self._global_window.extend([now] * count)
        chat_window.extend([now] * count)

    # ---- HTTP plumbing ----------------------------------------------------------------------

    def register_method(self, name: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """Add or override a Bot API method. ``handler(params)`` returns the ``result`` (may be
        a coroutine) or raises :class:`ApiError`."""
        self._methods[name.lower()] = (name, lambda params, _uploads: handler(params))

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
        params: dict[str, Any] = {}
        uploads: dict[str, _Upload] = {}
        for key, value in request.query.items():
            params[key] = _decode_value(key, value, from_form=True)
        if not request.can_read_body:
            return params, uploads
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("JSON object expected")
            for key, value in body.items():
                params[key] = _decode_value(key, value, from_form=False)
            return params, uploads
        form = await request.post()
        for key, item in form.items():
            if isinstance(item, web.FileField):
                uploads[key] = _Upload(item.filename, item.file.read(), item.content_type)
            else:
                params[key] = _decode_value(key, item, from_form=True)
        for key in uploads.keys() & _FILE_PARAMS:
            params.setdefault(key, f"attach://{key}")  # file posted directly under its name
        return params, uploads

    async def _handle_api(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        entry = self._methods.get(raw_method.lower())
        name = entry[0] if entry else raw_method
        now = self.clock()
        if request.match_info["token"] != self.token:
            self.stats["unauthorized"] += 1
            return self._error_response(name, {}, ApiError(401, "Unauthorized"), injected=False)
        try:
            params, uploads = await self._read_params(request)
        except ApiError as error:
            self.requests.append(ApiRequest(name, {}, now))
            return self._error_response(name, {}, error, injected=False)
        self.requests.append(ApiRequest(name, params, now))
        self.stats["requests"] += 1
        self.stats[f"method:{name}"] += 1
        if entry is None:
            missing = ApiError(404, "Not Found: method not found")
            return self._error_response(name, params, missing, injected=False)

        tracked = name != "getUpdates"  # a parked long poll is not "activity"
        if tracked:
            self._inflight += 1
            self._last_activity = time.monotonic()
        try:
            fault = self._take_fault(name.lower(), now)
            if fault is not None:
                self.stats["injected"] += 1
                return self._error_response(name, params, fault, injected=True)
            result = entry[1](params, uploads)
            if inspect.isawaitable(result):
                result = await result
        except _RateLimited as limited:
            return self._error_response(name, params, limited.error, injected=True)
        except ApiError as error:
            return self._error_response(name, params, error, injected=False)
        except Exception as exc:  # an emulator bug must not hang the bot: answer and record it
            log.exception("emulator failed on %s %r", name, params)
            self.internal_errors.append(exc)
            failure = ApiError(500, f"Internal Server Error: emulator failure: {exc!r}")
            return self._error_response(name, params, failure, injected=False)
        finally:
            if tracked:
                self._inflight -= 1
                self._last_activity = time.monotonic()
                self._notify()
        self.stats["ok"] += 1
        return web.json_response({"ok": True, "result": result}, dumps=_json_dumps)

    def _error_response(
        self, method: str, params: dict[str, Any], error: ApiError, *, injected: bool
    ) -> web.Response:
        record = ApiErrorRecord(method, params, error.error_code, error.description, injected)
        self.errors.append(record)
        if not injected and error.error_code in self.strict_errors:
            expectation = next((e for e in self._expectations if e.matches(record)), None)
            if expectation is not None:
                expectation.seen.append(record)
            else:
                log.warning("unexpected Bot API error: %s", record)
                self.unexpected_errors.append(record)
        self.stats["errors"] += 1
        self.stats[f"status:{error.error_code}"] += 1
        self._notify()
        return web.json_response(error.payload(), status=error.error_code, dumps=_json_dumps)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data)
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)

    # ---- change notification and waiting ----------------------------------------------------

    def _notify(self) -> None:
        # Wake every waiter (long polls, wait_for_message, wait_idle) and arm a fresh event.
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, timeout: float) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(timeout, 0.0))

    async def wait_until(
        self,
        condition: Callable[[], Any],
        timeout: float = 5.0,
        message: str | Callable[[], str] = "condition not met",
        *,
        poll: float | None = 0.01,
    ) -> Any:
        """Re-check ``condition()`` after every emulator state change (and every ``poll``
        seconds, for conditions on state the emulator cannot see, e.g. a handler's side
        effects); return its first truthy value or raise AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                text = message() if callable(message) else message
                raise AssertionError(f"{text} (waited {timeout}s)")
            await self._wait_change(remaining if poll is None else min(remaining, poll))

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[StoredMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        contains: str | None = None,
    ) -> StoredMessage:
        """Next bot message in ``chat_id`` after the chat's read cursor that matches
        ``predicate`` (and contains ``contains`` in its text/caption). Messages before the match
        are skipped: the cursor moves past the returned message."""

        def matches(msg: StoredMessage) -> bool:
            if contains is not None and contains not in (msg.content or ""):
                return False
            return predicate is None or bool(predicate(msg))

        def find() -> StoredMessage | None:
            messages = self._bot_messages.get(chat_id, [])
            for index in range(self._cursors.get(chat_id, 0), len(messages)):
                if matches(messages[index]):
                    self._cursors[chat_id] = index + 1
                    return messages[index]
            return None

        what = "a new bot message" + (f" containing {contains!r}" if contains else "")
        if predicate is not None:
            what += f" matching {getattr(predicate, '__name__', predicate)}"
        return await self.wait_until(
            find,
            timeout,
            lambda: f"No {what} in chat {chat_id}. {self.describe_chat(chat_id)}",
            poll=None,
        )

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,
    ) -> list[StoredMessage]:
        """The next ``count`` unread bot messages (e.g. a whole album), advancing the cursor."""

        def ready() -> bool:
            unread = len(self._bot_messages.get(chat_id, [])) - self._cursors.get(chat_id, 0)
            return unread >= count

        await self.wait_until(
            ready,
            timeout,
            lambda: (
                f"Expected {count} new bot messages in chat {chat_id}. "
                + self.describe_chat(chat_id)
            ),
            poll=None,
        )
        start = self._cursors.get(chat_id, 0)
        self._cursors[chat_id] = start + count
        return self._bot_messages[chat_id][start : start + count]

    async def assert_no_message(self, chat_id: int, within: float = 0.1) -> None:
        """Fail if the bot sends anything unread to ``chat_id`` within ``within`` seconds."""
        start = self._cursors.get(chat_id, 0)
        try:
            await self.wait_until(
                lambda: len(self._bot_messages.get(chat_id, [])) > start, within, poll=None
            )
        except AssertionError:
            return  # nothing arrived: the expected outcome
        unexpected = self._bot_messages[chat_id][start:]
        raise AssertionError(f"Unexpected bot message(s) in chat {chat_id}: {unexpected}")

    async def wait_idle(
        self,
        timeout: float = 5.0,
        quiet: float = 0.05,
    ) -> None:
        """Wait until every queued update has been fetched and confirmed, no API call is in
        flight, and no call has started for ``quiet`` seconds (handlers finished talking)."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            busy = bool(self._updates) or self._inflight > 0
            idle_for = now - self._last_activity
            if not busy and idle_for >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"Bot not idle after {timeout}s: {len(self._updates)} unconfirmed "
                    f"update(s), {self._inflight} request(s) in flight "
                    "(is the dispatcher polling?)"
                )
            wait = deadline - now if busy else min(quiet - idle_for, deadline - now)
            await self._wait_change(wait)

    # ---- inspection -------------------------------------------------------------------------

    def sent_to(self, chat_id: int, *, include_deleted: bool = True) -> list[StoredMessage]:
        """Bot messages in the chat in send order, in their current (edited) state."""
        messages = self._bot_messages.get(chat_id, [])
        return [m for m in messages if include_deleted or not m.deleted]

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        try:
            return self._messages[chat_id][message_id]
        except KeyError:
            raise KeyError(f"no message {message_id} in chat {chat_id}") from None

    def last_message(self, chat_id: int) -> StoredMessage | None:
        live = self.sent_to(chat_id, include_deleted=False)
        return live[-1] if live else None

    def last_text(self, chat_id: int) -> str | None:
        """Text (or caption) of the newest non-deleted bot message in the chat."""
        last = self.last_message(chat_id)
        return last.content if last else None

    @staticmethod
    def buttons(message: StoredMessage | Mapping[str, Any] | Any) -> list[str]:
        """Button texts of a stored message, an aiogram Message, an API message dict, or a
        markup (dict or aiogram object)."""
        if isinstance(message, StoredMessage):
            return message.buttons
        if hasattr(message, "model_dump"):  # an aiogram Message / markup object
            message = message.model_dump(exclude_none=True)
        markup = message.get("reply_markup", message)
        return button_texts(markup)

    def mark_read(self, chat_id: int) -> None:
        """Move the chat's read cursor past everything sent so far."""
        self._cursors[chat_id] = len(self._bot_messages.get(chat_id, []))

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Params of every recorded request to ``method`` (case-insensitive)."""
        return [r.params for r in self.requests if r.method.lower() == method.lower()]

    def get_commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]] | None:
        return self.commands.get((_scope_key(scope), language_code))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._updates)

    def expect_errors(
        self, *fragments: str, methods: Iterable[str] | None = None
    ) -> ErrorExpectation:
        """Announce errors the test provokes on purpose: a strict error (a 400) whose
        description contains one of ``fragments`` (any, if none are given; case ignored),
        from one of ``methods`` (any, if None), does not fail the test.

        Use it as a context manager to allow them only inside the block::

            with emu.expect_errors("message is not modified", methods=["editMessageText"]):
                ...

        or call it plainly to allow them until the emulator stops. The returned
        expectation's ``seen`` lists the errors it matched. Announce before provoking:
        each error is judged when it is answered.
        """
        names = None if methods is None else frozenset(m.lower() for m in methods)
        expectation = ErrorExpectation(self, fragments, names)
        self._expectations.append(expectation)
        return expectation

    def _unreported_problems(self) -> list[str]:
        """The unexpected errors and emulator bugs not reported yet; now they are."""
        problems = [str(e) for e in self.unexpected_errors[self._reported_errors :]]
        problems += [f"emulator bug: {x!r}" for x in self.internal_errors[self._reported_bugs :]]
        self._reported_errors = len(self.unexpected_errors)
        self._reported_bugs = len(self.internal_errors)
        return problems

    def assert_no_unexpected_errors(self) -> None:
        """Fail if the emulator answered a strict error (a 400) the test did not announce
        with ``expect_errors``, or failed itself. Each problem is reported once."""
        problems = self._unreported_problems()
        if problems:
            raise AssertionError(
                "Bot API errors the test did not expect (provoked by the bot; a test that "
                "provokes one on purpose says so with emu.expect_errors):\n  "
                + "\n  ".join(problems)
            )

    def assert_no_errors(self, *, include_injected: bool = False) -> None:
        """Fail if the bot got any error answer (injected faults ignored by default)."""
        errors = [e for e in self.errors if include_injected or not e.injected]
        if errors or self.internal_errors:
            lines = [f"{e.method} -> {e.error_code} {e.description}" for e in errors]
            lines += [f"emulator bug: {exc!r}" for exc in self.internal_errors]
            raise AssertionError("Bot API errors:\n  " + "\n  ".join(lines))

    def describe_chat(self, chat_id: int, last: int = 5) -> str:
        messages = self._bot_messages.get(chat_id, [])
        cursor = self._cursors.get(chat_id, 0)
        lines = [f"Bot messages: {len(messages)}, read cursor at {cursor}."]
        lines += [f"  {m!r}" for m in messages[-last:]]
        related = [
            e
            for e in self.errors
            if str(e.params.get("chat_id")) == str(chat_id) or "chat_id" not in e.params
        ][-3:]
        if related:
            lines.append("Recent API errors:")
            lines += [f"  {e.method} -> {e.error_code} {e.description}" for e in related]
        if self.internal_errors:
            lines.append(f"Emulator bugs: {self.internal_errors[-3:]!r}")
        return "\n".join(lines)

    # ---- playing users ----------------------------------------------------------------------

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The user sends ``text``; bot_command entities are filled in like Telegram does."""
        ents = command_entities(text) if entities is None else entities
        return self._user_message(
            user_id, chat_id, {"text": text, "entities": ents or None}, reply_to=reply_to
        )

    async def send_photo(
        self,
        user_id: int,
        file_id: str = "photo1",
        caption: str | None = None,
        media_group_id: str | None = None,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
        content: bytes | None = None,
    ) -> dict[str, Any]:
        self._register_file(file_id, "photo", content)
        fields: dict[str, Any] = {"photo": self._photo_sizes(file_id)}
        if caption:
            fields["caption"] = caption
            fields["caption_entities"] = command_entities(caption) or None
        return self._user_message(
            user_id, chat_id, fields, reply_to=reply_to, media_group_id=media_group_id
        )

    async def send_media_group(
        self,
        user_id: int,
        file_ids: Iterable[str],
        caption: str | None = None,
        *,
        chat_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """An album: one update per photo, sharing a media_group_id; caption on the first."""
        group_id = self._new_media_group_id()
        return [
            await self.send_photo(
                user_id,
                file_id,
                caption if index == 0 else None,
                group_id,
                chat_id=chat_id,
            )
            for index, file_id in enumerate(file_ids)
        ]

    async def send_sticker(
        self,
        user_id: int,
        file_id: str = "sticker1",
        emoji: str = "👍",
        *,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        self._register_file(file_id, "sticker")
        return self._user_message(
            user_id, chat_id, {"sticker": self._file_object("sticker", file_id, emoji=emoji)}
        )

    async def send_voice(
        self,
        user_id: int,
        file_id: str = "voice1",
        duration: int = 3,
        *,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        self._register_file(file_id, "voice")
        voice = self._file_object("voice", file_id, duration=duration)
        return self._user_message(user_id, chat_id, {"voice": voice})

    async def send_location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(user_id, chat_id, {"location": location})

    async def send_document(
        self,
        user_id: int,
        file_id: str = "doc1",
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        *,
        chat_id: int | None = None,
        content: bytes | None = None,
    ) -> dict[str, Any]:
        self._register_file(file_id, "document", content, file_name=file_name, mime_type=mime_type)
        fields: dict[str, Any] = {"document": self._file_object("document", file_id)}
        if caption:
            fields["caption"] = caption
        return self._user_message(user_id, chat_id, fields)

    async def send_contact(
        self,
        user_id: int,
        phone_number: str | None = None,
        first_name: str | None = None,
        *,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """Defaults to sharing the user's own contact (what request_contact buttons do)."""
        user = self._user(user_id)
        contact: dict[str, Any] = {
            "phone_number": phone_number or self.phone_numbers[user_id],
            "first_name": first_name or user["first_name"],
        }
        if phone_number is None:
            contact["user_id"] = user_id
        return self._user_message(user_id, chat_id, {"contact": contact})

    async def send_raw_message(
        self, user_id: int, fields: Mapping[str, Any], *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """Any other message content, given as Telegram Message fields."""
        return self._user_message(user_id, chat_id, dict(fields))

    async def push_update(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Queue an arbitrary update (``kind`` is the Update field, e.g. "my_chat_member")."""
        return self._push_update(kind, dict(payload))

    async def press(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        check: bool = True,
    ) -> str:
        """The user presses an inline button of a bot message; returns the callback query id.
        ``check`` insists the message currently shows a button with this callback_data."""
        user = self._user(user_id)
        cid = user_id if chat_id is None else chat_id
        msg = self._messages.get(cid, {}).get(message_id)
        if msg is None or msg.deleted or not msg.from_bot:
            state = "unknown" if msg is None else "deleted" if msg.deleted else "not the bot's"
            raise AssertionError(
                f"message {message_id} in chat {cid} is {state}. " + self.describe_chat(cid)
            )
        if check and callback_data not in msg.callback_data:
            raise AssertionError(
                f"message {message_id} in chat {cid} has no button with callback_data "
                f"{callback_data!r}; available: {msg.callback_data}"
            )
        query_id = str(4_000_000_000_000_000 + self._next_query_id)
        self._next_query_id += 1
        self.callback_queries[query_id] = CallbackQueryRecord(
            query_id, user_id, cid, message_id, callback_data
        )
        self._push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user,
                "chat_instance": str(7_000_000_000_000 + abs(cid)),
                "message": msg.to_api(),
                "data": callback_data,
            },
        )
        return query_id

    async def press_button(self, user_id: int, text: str, *, chat_id: int | None = None) -> str:
        """Press the inline button labelled ``text`` on the newest bot message showing it.
        Exact label match first, then a unique substring match (handy with emoji prefixes)."""
        cid = user_id if chat_id is None else chat_id
        live = [m for m in reversed(self.sent_to(cid)) if not m.deleted and m.inline_markup]
        for exact in (True, False):
            for msg in live:
                buttons = [
                    b
                    for row in msg.inline_markup["inline_keyboard"]  # type: ignore[index]
                    for b in row
                    if (b.get("text") == text if exact else text in b.get("text", ""))
                ]
                if len(buttons) > 1 and not exact:
                    labels = [b.get("text") for b in buttons]
                    raise AssertionError(f"button {text!r} is ambiguous in {msg!r}: {labels}")
                if buttons:
                    button = buttons[0]
                    if "callback_data" not in button:
                        raise AssertionError(f"button {button!r} has no callback_data")
                    return await self.press(
                        user_id, msg.message_id, button["callback_data"], chat_id=cid
                    )
        available = {m.message_id: m.buttons for m in live}
        raise AssertionError(
            f"no inline button {text!r} in chat {cid}; buttons by message id: {available}"
        )

    async def tap_reply_button(self, user_id: int, text: str) -> dict[str, Any]:
        """Tap a button of the reply keyboard currently shown in the user's private chat."""
        keyboard = self.reply_keyboards.get(user_id)
        if not keyboard:
            raise AssertionError(f"no reply keyboard is shown to user {user_id}")
        for row in keyboard["keyboard"]:
            for button in row:
                button = {"text": button} if isinstance(button, str) else button
                if button.get("text") != text:
                    continue
                if button.get("request_contact"):
                    return await self.send_contact(user_id)
                if button.get("request_location"):
                    return await self.send_location(user_id, 50.4501, 30.5234)
                return await self.send_text(user_id, text)
        raise AssertionError(f"no reply button {text!r}; shown: {button_texts(keyboard)}")

    async def wait_for_answer(
        self,
        query_id: str,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """Wait until the bot answers the callback query; returns the answer params."""
        record = self.callback_queries[query_id]
        await self.wait_until(
            lambda: record.answered,
            timeout,
            f"callback query {query_id} was not answered",
            poll=None,
        )
        return record.answer or {}

    def _user(self, user_id: int) -> dict[str, Any]:
        try:
            return self.users[user_id]
        except KeyError:
            raise ValueError(f"user {user_id} is not registered: call emu.add_user()") from None

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        fields: dict[str, Any],
        *,
        reply_to: int | None = None,
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        user = self._user(user_id)
        cid = user_id if chat_id is None else chat_id
        chat = self.chats.get(cid)
        if chat is None:
            raise ValueError(f"chat {cid} is not registered: call emu.add_group()")
        if chat["type"] == "private":
            self.blocked.discard(user_id)  # writing to a bot requires unblocking it
            self.unopened.discard(user_id)  # and opens the chat
        else:
            self.members.setdefault(cid, {}).setdefault(user_id, "member")
        reply = self._messages.get(cid, {}).get(reply_to) if reply_to is not None else None
        msg = StoredMessage(
            chat_id=cid,
            message_id=self._alloc_message_id(cid),
            date=int(self.wall_clock()),
            from_bot=False,
            sender=user,
            chat=chat,
            method="user",
            text=fields.pop("text", None),
            entities=fields.pop("entities", None),
            caption=fields.pop("caption", None),
            caption_entities=fields.pop("caption_entities", None),
            photo=fields.pop("photo", None),
            media={k: v for k, v in fields.items() if v is not None},
            media_group_id=media_group_id,
            reply_to_message=reply.to_api() if reply else None,
        )
        self._store(msg)
        api = msg.to_api()
        self._push_update("message", api)
        return api

    def _push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self.stats["updates_queued"] += 1
        self._last_activity = time.monotonic()
        self._notify()
        return update

    def _push_member_update(self, user_id: int, old: str, new: str) -> None:
        def member(status: str) -> dict[str, Any]:
            data: dict[str, Any] = {"status": status, "user": self.bot_user}
            if status == "kicked":
                data["until_date"] = 0
            return data

        self._push_update(
            "my_chat_member",
            {
                "chat": self.chats[user_id],
                "from": self.users[user_id],
                "date": int(self.wall_clock()),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )

    # ---- message store ----------------------------------------------------------------------

    def _alloc_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _store(self, msg: StoredMessage) -> None:
        self._messages.setdefault(msg.chat_id, {})[msg.message_id] = msg
        if msg.from_bot:
            self._bot_messages.setdefault(msg.chat_id, []).append(msg)
            self.stats["messages_sent"] += 1
            markup = msg.reply_markup or {}
            if "keyboard" in markup:
                self.reply_keyboards[msg.chat_id] = markup
            elif markup.get("remove_keyboard"):
                self.reply_keyboards[msg.chat_id] = None
        self._notify()

    def _new_bot_message(self, chat_id: int, method: str, **fields: Any) -> StoredMessage:
        msg = StoredMessage(
            chat_id=chat_id,
            message_id=self._alloc_message_id(chat_id),
            date=int(self.wall_clock()),
            from_bot=True,
            sender=self.bot_user,
            chat=self.chats[chat_id],
            method=method,
            **fields,
        )
        self._store(msg)
        return msg

    def _new_media_group_id(self) -> str:
        group_id = str(13_000_000_000_000_000 + self._next_media_group)
        self._next_media_group += 1
        return group_id

    # ---- files ------------------------------------------------------------------------------

    def _register_file(
        self,
        file_id: str,
        kind: str,
        content: bytes | None = None,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None:
            extension = {"photo": "jpg", "voice": "oga", "sticker": "webp"}.get(kind, "bin")
            stored = StoredFile(
                file_id,
                kind,
                content,
                file_name,
                mime_type,
                f"{kind}s/file_{len(self.files)}.{extension}",
            )
            self.files[file_id] = stored
            if kind == "photo":
                # The smaller PhotoSize ids are usable too (no recursion: they get no sizes).
                for suffix in ("_s", "_m"):
                    size_id = file_id + suffix
                    self.files.setdefault(
                        size_id,
                        StoredFile(size_id, "photo", None, None, None, f"photos/{size_id}.jpg"),
                    )
        elif content is not None:
            stored.content = content
        return stored

    @staticmethod
    def _photo_sizes(file_id: str) -> list[dict[str, Any]]:
        # Largest last, carrying the original file id (what handlers take as photo[-1]).
        sizes = ((file_id + "_s", 90, 68), (file_id + "_m", 320, 240), (file_id, 1280, 960))
        return [
            {
                "file_id": fid,
                "file_unique_id": _unique_id(fid),
                "width": width,
                "height": height,
                "file_size": width * height // 10,
            }
            for fid, width, height in sizes
        ]

    def _file_object(self, kind: str, file_id: str, **extra: Any) -> dict[str, Any]:
        stored = self.files[file_id]
        data: dict[str, Any] = {"file_id": file_id, "file_unique_id": stored.file_unique_id}
        if kind == "sticker":
            data |= {"type": "regular", "width": 512, "height": 512}
            data |= {"is_animated": False, "is_video": False, "emoji": extra.get("emoji", "👍")}
        elif kind == "voice":
            data |= {"duration": extra.get("duration", 3), "mime_type": "audio/ogg"}
        elif kind in ("video", "animation"):
            data |= {"width": 640, "height": 360, "duration": extra.get("duration", 5)}
        elif kind == "audio":
            data |= {"duration": extra.get("duration", 120)}
        elif kind == "document":
            data["file_name"] = stored.file_name or "document.bin"
            data["mime_type"] = stored.mime_type or "application/octet-stream"
        data["file_size"] = len(stored.data)
        return data

    def _resolve_file(
        self, params: Mapping[str, Any], uploads: Mapping[str, _Upload], key: str, kind: str
    ) -> str:
        """Turn a file_id / URL / attach:// reference into a known file id."""
        value = params.get(key)
        if not value or not isinstance(value, str):
            raise bad_request(f'parameter "{key}" is required')
        if value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f'can\'t find attached file "{value.removeprefix("attach://")}"')
            file_id = f"emu-{kind}-{self._next_file}"
            self._next_file += 1
            self._register_file(
                file_id,
                kind,
                upload.content,
                file_name=upload.filename,
                mime_type=upload.content_type,
            )
            return file_id
        if value.startswith(("http://", "https://")):
            file_id = f"emu-{kind}-{self._next_file}"
            self._next_file += 1
            self._register_file(file_id, kind)
            return file_id
        stored = self.files.get(value)
        if stored is None:
            if self.strict_file_ids:
                raise bad_request("wrong file identifier/HTTP URL specified")
            stored = self._register_file(value, kind)
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return value

    # ---- validation helpers -----------------------------------------------------------------

    def _chat_for_bot(self, params: Mapping[str, Any], key: str = "chat_id") -> int:
        raw = params.get(key)
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        chat_id: int | None
        if isinstance(raw, int):
            chat_id = raw
        elif isinstance(raw, str) and re.fullmatch(r"-?\d+", raw):
            chat_id = int(raw)
        else:
            name = str(raw).removeprefix("@").lower()
            chat_id = next(
                (cid for cid, c in self.chats.items() if c.get("username", "").lower() == name),
                None,
            )
        if chat_id is None or chat_id not in self.chats:
            raise bad_request("chat not found")
        if chat_id in self.unopened:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.kicked_from:
            kind = self.chats[chat_id]["type"]
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        return chat_id

    def _format(
        self,
        raw: Any,
        parse_mode: Any,
        entities: Any,
        *,
        limit: int,
        empty: str | None,
        too_long: str,
    ) -> tuple[str | None, list[dict[str, Any]] | None]:
        """Render text/caption like Telegram: parse mode, trimming, length limits."""
        source = "" if raw is None else str(raw)
        mode = str(parse_mode or "").lower()
        if mode == "html":
            try:
                plain, ents = parse_html(source, strict_entities=self.strict_html_entities)
            except HtmlParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif mode in ("", "markdown", "markdownv2"):
            plain = source
            ents = [dict(e) for e in entities] if isinstance(entities, list) else []
        else:
            raise bad_request("unsupported parse_mode")
        plain, ents = _strip_formatted(plain, ents)
        if not plain:
            if empty is not None:
                raise bad_request(empty)
            return None, None
        if utf16_len(plain) > limit:
            raise bad_request(too_long)
        return plain, ents or None

    def _text_fields(self, params: Mapping[str, Any], *, editing: bool = False) -> dict[str, Any]:
        text, entities = self._format(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            limit=MESSAGE_MAX,
            empty="message text is empty",
            too_long="MESSAGE_TOO_LONG" if editing else "message is too long",
        )
        return {"text": text, "entities": entities, "html": str(params.get("text"))}

    def _caption_fields(self, params: Mapping[str, Any]) -> dict[str, Any]:
        caption, entities = self._format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=CAPTION_MAX,
            empty=None,
            too_long="message caption is too long",
        )
        raw = params.get("caption")
        return {
            "caption": caption,
            "caption_entities": entities,
            "caption_html": None if raw is None else str(raw),
        }

    def _check_markup(self, markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise bad_request("object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of '
                    "Arrays"
                )
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
            return markup
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else button.get("text")
                    if not isinstance(text, str) or not text:
                        raise bad_request("can't parse keyboard button: Text must be non-empty")
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        prefix = "can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise bad_request(prefix + "InlineKeyboardButton must be an Object")
        text = button.get("text")
        if not isinstance(text, str):
            raise bad_request(prefix + 'Field "text" must be of type String')
        if not text.strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        actions = [k for k in _INLINE_ACTIONS if k in button]
        if not actions:
            raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise bad_request(prefix + f"exactly one action field expected, got {actions}")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_MAX:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.fullmatch(r"(https?|tg)://\S+", url):
                raise bad_request("BUTTON_URL_INVALID")

    def _reply_target(self, chat_id: int, params: Mapping[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            chat_id = int(reply.get("chat_id", chat_id))
            allow = allow or bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get("reply_to_message_id")
        if message_id is None:
            return None
        target = self._messages.get(chat_id, {}).get(int(message_id))
        if target is None or target.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return target.to_api()

    def _bot_message_for_edit(self, params: Mapping[str, Any]) -> StoredMessage:
        if params.get("inline_message_id"):
            raise bad_request("message to edit not found")  # inline mode is not emulated
        chat_id = self._chat_for_bot(params)
        message_id = _int_param(params, "message_id", "message identifier is not specified")
        msg = self._messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _apply_edit(self, msg: StoredMessage, markup: dict[str, Any] | None, **fields: Any) -> None:
        msg.history.append(msg.to_api())
        for key, value in fields.items():
            setattr(msg, key, value)
        # Telegram drops an inline keyboard that an edit does not repeat.
        if markup is not None or msg.inline_markup is not None:
            msg.reply_markup = markup
        msg.edit_date = int(self.wall_clock())
        self._notify()

    # ---- Bot API methods --------------------------------------------------------------------

    def _register_builtin_methods(self) -> None:
        # Every ``_m_snake_case`` method serves the Bot API method ``snakeCase``.
        for attr in dir(self):
            if attr.startswith("_m_"):
                head, *rest = attr.removeprefix("_m_").split("_")
                name = head + "".join(part.capitalize() for part in rest)
                self._methods[name.lower()] = (name, getattr(self, attr))

    def _m_get_me(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), self.max_poll_timeout)
        # Telegram allows one poller: a newer getUpdates terminates the parked one with 409.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()  # "all previous updates will be forgotten"
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                self.stats["conflicts"] += 1
                raise ApiError(409, CONFLICT_POLLING)
            if offset > 0 and self._updates and self._updates[0]["update_id"] < offset:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()  # confirmed
                # wait_idle measures quiet time from the moment the bot took its updates.
                self._last_activity = time.monotonic()
                self._notify()
            batch = [self._updates[i] for i in range(min(limit, len(self._updates)))]
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._closing:
                self.stats["updates_delivered"] += len(batch)
                return copy.deepcopy(batch)
            await self._wait_change(remaining)

    async def _m_delete_webhook(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        self.webhook_url = ""
        self.webhook_secret = None
        await self._stop_webhook()
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_set_webhook(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        url = str(params.get("url") or "")
        if not url:  # Telegram: an empty URL removes the webhook
            self.webhook_url = ""
            return True
        if not re.match(r"^https?://[^/\s]+", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates")
        connections = int(params.get("max_connections") or 40)
        if not 1 <= connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret is not None else None
        if allowed is not None:  # not given: the previous setting stays, as in Telegram
            self.webhook_allowed_updates = [str(a) for a in allowed] or None
        self.webhook_max_connections = connections
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._poll_generation += 1  # a parked getUpdates ends with 409, as in Telegram
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_loop())
        self._notify()
        return True

    def _m_get_webhook_info(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = self.webhook_max_connections
            if self.webhook_allowed_updates is not None:
                info["allowed_updates"] = list(self.webhook_allowed_updates)
            if self.webhook_last_error is not None:
                info["last_error_date"] = int(self.wall_clock())
                info["last_error_message"] = self.webhook_last_error
        return info

    # ---- webhook delivery -------------------------------------------------------------------

    def _webhook_wants(self, update: Mapping[str, Any]) -> bool:
        allowed = self.webhook_allowed_updates
        return allowed is None or any(kind in update for kind in allowed)

    async def _webhook_loop(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as client:
            while self.webhook_url and not self._closing:
                for update in list(self._updates):
                    if len(self._webhook_posting) >= self.webhook_max_connections:
                        break
                    update_id = update["update_id"]
                    if update_id in self._webhook_posting:
                        continue
                    if not self._webhook_wants(update):
                        self._updates.remove(update)  # Telegram never sends these
                        continue
                    self._webhook_posting.add(update_id)
                    worker = asyncio.get_running_loop().create_task(
                        self._deliver_webhook(client, update)
                    )
                    self._webhook_workers.add(worker)
                    worker.add_done_callback(self._webhook_workers.discard)
                await self._wait_change(1.0)
            if self._webhook_workers:
                await asyncio.gather(*self._webhook_workers, return_exceptions=True)

    async def _deliver_webhook(self, client: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        update_id = update["update_id"]
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        body = _json_dumps(update)
        try:
            for attempt in range(1, self.webhook_max_attempts + 1):
                url = self.webhook_url
                if not url or self._closing:
                    return  # back to polling: the update waits for getUpdates
                self._last_activity = time.monotonic()
                try:
                    async with client.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as error:
                    status = 0
                    self.webhook_last_error = f"Connection failed: {type(error).__name__}"
                self.webhook_deliveries.append(
                    WebhookDelivery(update_id, attempt, status, time.monotonic())
                )
                self.stats[f"webhook:{status}"] += 1
                if 200 <= status < 300:
                    with contextlib.suppress(ValueError):
                        self._updates.remove(update)
                    self.stats["updates_delivered"] += 1
                    return
                if status:
                    self.webhook_last_error = f"Wrong response from the webhook: {status}"
                delays = self.webhook_retry_delays
                await asyncio.sleep(delays[min(attempt, len(delays)) - 1] if delays else 0)
            with contextlib.suppress(ValueError):
                self._updates.remove(update)  # Telegram gives up on it
            self.stats["webhook_dropped"] += 1
        finally:
            self._webhook_posting.discard(update_id)
            self._last_activity = time.monotonic()
            self._notify()

    async def _stop_webhook(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is None:
            return
        self._notify()
        for worker in list(self._webhook_workers):
            worker.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._webhook_posting.clear()

    def webhook_statuses(self, update_id: int) -> list[int]:
        """The HTTP statuses the bot answered to the deliveries of one update, in order."""
        return [d.status for d in self.webhook_deliveries if d.update_id == update_id]

    def _m_close(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return True

    def _m_log_out(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return True

    def _m_send_message(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        fields = self._text_fields(params)
        markup = self._check_markup(params.get("reply_markup"))
        reply = self._reply_target(chat_id, params)
        self._rate_gate(chat_id)
        msg = self._new_bot_message(
            chat_id,
            "sendMessage",
            **fields,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message=reply,
        )
        return msg.to_api()

    def _send_file(self, kind: str, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        file_id = self._resolve_file(params, uploads, kind, kind)
        caption = self._caption_fields(params) if kind != "sticker" else {}
        markup = self._check_markup(params.get("reply_markup"))
        reply = self._reply_target(chat_id, params)
        self._rate_gate(chat_id)
        content: dict[str, Any] = {}
        if kind == "photo":
            content["photo"] = self._photo_sizes(file_id)
        else:
            extra = {"duration": params["duration"]} if "duration" in params else {}
            content["media"] = {kind: self._file_object(kind, file_id, **extra)}
        method = "send" + kind.capitalize()
        msg = self._new_bot_message(
            chat_id,
            method,
            **content,
            **caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message=reply,
        )
        return msg.to_api()

    def _m_send_photo(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._send_file("photo", params, uploads)

    def _m_send_document(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._send_file("document", params, uploads)

    def _m_send_voice(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._send_file("voice", params, uploads)

    def _m_send_sticker(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._send_file("sticker", params, uploads)

    def _m_send_video(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._send_file("video", params, uploads)

    def _m_send_animation(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._send_file("animation", params, uploads)

    def _m_send_audio(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._send_file("audio", params, uploads)

    def _m_send_media_group(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        media = params.get("media")
        if media is None or media == "":
            raise bad_request('parameter "media" is required')
        if not isinstance(media, list):
            raise bad_request("can't parse media JSON object")
        if len(media) > 10:
            raise bad_request("too much messages to send as an album")
        if len(media) < 2:
            raise bad_request("media group must contain 2-10 items")
        kinds = {item.get("type") if isinstance(item, dict) else None for item in media}
        if not kinds <= {"photo", "video"} and len(kinds) != 1:
            raise bad_request("documents and audio can't be mixed with other media types")
        prepared = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request("can't parse InputMedia: unsupported media type")
            file_id = self._resolve_file(item, uploads, "media", kind)
            prepared.append((kind, file_id, self._caption_fields(item), item.get("parse_mode")))
        reply = self._reply_target(chat_id, params)
        self._rate_gate(chat_id, len(prepared))
        group_id = self._new_media_group_id()
        messages = []
        for kind, file_id, caption, parse_mode in prepared:
            content: dict[str, Any] = (
                {"photo": self._photo_sizes(file_id)}
                if kind == "photo"
                else {"media": {kind: self._file_object(kind, file_id)}}
            )
            msg = self._new_bot_message(
                chat_id,
                "sendMediaGroup",
                **content,
                **caption,
                parse_mode=parse_mode,
                media_group_id=group_id,
                reply_to_message=reply,
            )
            messages.append(msg.to_api())
        return messages

    def _m_send_location(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        try:
            latitude = float(params["latitude"])
            longitude = float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude specified") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong latitude or longitude specified")
        markup = self._check_markup(params.get("reply_markup"))
        self._rate_gate(chat_id)
        location = {"latitude": latitude, "longitude": longitude}
        msg = self._new_bot_message(
            chat_id, "sendLocation", media={"location": location}, reply_markup=markup
        )
        return msg.to_api()

    def _m_send_contact(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        if not params.get("phone_number") or not params.get("first_name"):
            raise bad_request("phone number and first name must be non-empty")
        markup = self._check_markup(params.get("reply_markup"))
        self._rate_gate(chat_id)
        contact = {"phone_number": params["phone_number"], "first_name": params["first_name"]}
        msg = self._new_bot_message(
            chat_id, "sendContact", media={"contact": contact}, reply_markup=markup
        )
        return msg.to_api()

    def _source_message(self, params: Mapping[str, Any], missing: str) -> StoredMessage:
        from_chat = params.get("from_chat_id")
        try:
            source_chat = int(from_chat)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if source_chat not in self.chats:
            raise bad_request("chat not found")
        message_id = _int_param(params, "message_id", "message identifier is not specified")
        source = self._messages.get(source_chat, {}).get(message_id)
        if source is None or source.deleted:
            raise bad_request(missing)
        return source

    def _m_forward_message(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        source = self._source_message(params, "message to forward not found")
        self._rate_gate(chat_id)
        msg = self._new_bot_message(
            chat_id,
            "forwardMessage",
            text=source.text,
            html=source.html,
            entities=copy.deepcopy(source.entities),
            caption=source.caption,
            caption_html=source.caption_html,
            caption_entities=copy.deepcopy(source.caption_entities),
            photo=copy.deepcopy(source.photo),
            media=copy.deepcopy(source.media),
            forward_origin={"type": "user", "sender_user": source.sender, "date": source.date},
        )
        return msg.to_api()

    def _m_copy_message(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        source = self._source_message(params, "message to copy not found")
        caption = (
            self._caption_fields(params)
            if "caption" in params
            else {
                "caption": source.caption,
                "caption_html": source.caption_html,
                "caption_entities": copy.deepcopy(source.caption_entities),
            }
        )
        markup = self._check_markup(params.get("reply_markup"))
        reply = self._reply_target(chat_id, params)
        self._rate_gate(chat_id)
        msg = self._new_bot_message(
            chat_id,
            "copyMessage",
            text=source.text,
            html=source.html,
            entities=copy.deepcopy(source.entities),
            photo=copy.deepcopy(source.photo),
            media=copy.deepcopy(source.media),
            reply_markup=markup,
            reply_to_message=reply,
            **caption,
        )
        return {"message_id": msg.message_id}

    def _m_edit_message_text(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        msg = self._bot_message_for_edit(params)
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        fields = self._text_fields(params, editing=True)
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if (
            fields["text"] == msg.text
            and (fields["entities"] or []) == (msg.entities or [])
            and markup == msg.inline_markup
        ):
            raise bad_request(NOT_MODIFIED)
        self._apply_edit(msg, markup, **fields, parse_mode=params.get("parse_mode"))
        return msg.to_api()

    def _m_edit_message_caption(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        msg = self._bot_message_for_edit(params)
        if msg.text is not None:
            raise bad_request("there is no caption in the message to edit")
        fields = self._caption_fields(params)
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if (
            fields["caption"] == msg.caption
            and (fields["caption_entities"] or []) == (msg.caption_entities or [])
            and markup == msg.inline_markup
        ):
            raise bad_request(NOT_MODIFIED)
        self._apply_edit(msg, markup, **fields)
        return msg.to_api()

    def _m_edit_message_reply_markup(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        msg = self._bot_message_for_edit(params)
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if markup == msg.inline_markup:
            raise bad_request(NOT_MODIFIED)
        self._apply_edit(msg, markup)
        return msg.to_api()

    def _m_delete_message(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        message_id = _int_param(params, "message_id", "message identifier is not specified")
        msg = self._messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        msg.deleted = True
        self._notify()
        return True

    def _m_delete_messages(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        for message_id in ids:
            msg = self._messages.get(chat_id, {}).get(int(message_id))
            if msg is not None:
                msg.deleted = True
        self._notify()
        return True

    def _m_answer_callback_query(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        record = self.callback_queries.get(query_id)
        if record is None or record.answered:
            raise bad_request(QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        self._notify()
        return True

    def _command_target(self, params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _COMMAND_SCOPES:
            raise bad_request("can't parse BotCommandScope: unsupported scope type")
        language = str(params.get("language_code") or "")
        if language and not _LANG_RE.match(language):
            raise bad_request("invalid language code specified")
        if scope["type"] in _CHAT_SCOPES:
            # A chat the bot can't see: unknown, or a user who never wrote to it.
            try:
                chat_id = int(scope.get("chat_id"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise bad_request("chat not found") from None
            if chat_id not in self.chats or chat_id in self.unopened:
                raise bad_request("chat not found")
        return _scope_key(scope), language

    def _m_set_my_commands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("too much commands specified")
        cleaned = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand: BotCommand must be an Object")
            name, description = item.get("command"), item.get("description")
            if not isinstance(name, str) or not _COMMAND_RE.match(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not description.strip():
                raise bad_request("command description must be non-empty")
            if len(description) > 256:
                raise bad_request("command description is too long")
            cleaned.append({"command": name, "description": description})
        key = self._command_target(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)  # an empty list deletes, like Telegram
        return True

    def _m_get_my_commands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return copy.deepcopy(self.commands.get(self._command_target(params), []))

    def _m_delete_my_commands(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        self.commands.pop(self._command_target(params), None)
        return True

    def _bot_setting(
        self, kind: str, field_name: str, limit: int, params: Mapping[str, Any]
    ) -> Any:
        value = str(params.get(field_name) or "")
        if len(value) > limit:
            raise bad_request(f"{kind} is too long")
        self.bot_settings[(kind, str(params.get("language_code") or ""))] = value
        return True

    def _m_set_my_description(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._bot_setting("description", "description", 512, params)

    def _m_set_my_short_description(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        return self._bot_setting("short_description", "short_description", 120, params)

    def _m_set_my_name(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return self._bot_setting("name", "name", 64, params)

    def _get_setting(self, kind: str, params: Mapping[str, Any]) -> str:
        return self.bot_settings.get((kind, str(params.get("language_code") or "")), "")

    def _m_get_my_description(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return {"description": self._get_setting("description", params)}

    def _m_get_my_short_description(
        self, params: dict[str, Any], uploads: dict[str, _Upload]
    ) -> Any:
        return {"short_description": self._get_setting("short_description", params)}

    def _m_get_my_name(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        return {"name": self._get_setting("name", params) or self.bot_user["first_name"]}

    def _m_set_chat_menu_button(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        key = str(params.get("chat_id") or "")
        self.bot_settings[("menu_button", key)] = params.get("menu_button") or {"type": "default"}
        return True

    def _m_get_chat_menu_button(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        key = str(params.get("chat_id") or "")
        return self.bot_settings.get(("menu_button", key), {"type": "default"})

    def _m_send_chat_action(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._chat_for_bot(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append((chat_id, str(action)))
        return True

    def _known_chat(self, params: Mapping[str, Any]) -> int:
        try:
            chat_id = int(params.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if chat_id not in self.chats:
            raise bad_request("chat not found")
        return chat_id

    def _m_get_chat(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat = self.chats[self._known_chat(params)]
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_get_chat_member(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        chat_id = self._known_chat(params)
        user_id = _int_param(params, "user_id")
        if user_id == self.bot_id:
            user = self.bot_user
            status = "left" if chat_id in self.kicked_from else "member"
        else:
            found = self.users.get(user_id)
            if found is None:
                raise bad_request("user not found")
            user = found
            if self.chats[chat_id]["type"] == "private":
                status = "member" if chat_id == user_id else "left"
            else:
                status = self.members.get(chat_id, {}).get(user_id, "left")
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member |= {
                "can_be_edited": False,
                "is_anonymous": False,
                **dict.fromkeys(_ADMIN_RIGHTS, True),
            }
        elif status == "restricted":
            member |= {"is_member": True, "until_date": 0, **dict.fromkeys(_MEMBER_RIGHTS, False)}
        return member

    def _m_get_file(self, params: dict[str, Any], uploads: dict[str, _Upload]) -> Any:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }


_INLINE_ACTIONS = tuple(
    "url callback_data web_app login_url switch_inline_query "
    "switch_inline_query_current_chat switch_inline_query_chosen_chat copy_text "
    "callback_game pay".split()
)
_ADMIN_RIGHTS = tuple(
    "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
    "can_promote_members can_change_info can_invite_users can_post_stories "
    "can_edit_stories can_delete_stories can_send_welcome_messages".split()
)
_MEMBER_RIGHTS = tuple(
    "can_send_messages can_send_audios can_send_documents can_send_photos can_send_videos "
    "can_send_video_notes can_send_voice_notes can_send_polls can_send_other_messages "
    "can_add_web_page_previews can_change_info can_invite_users can_pin_messages "
    "can_manage_topics".split()
)


class _RateLimited(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(error.description)
        self.error = error


# ---------------------------------------------------------------------------------------------
# aiogram glue for tests
# ---------------------------------------------------------------------------------------------


class FastAiohttpSession(AiohttpSession):
    """AiohttpSession without aiogram's 250 ms post-close sleep (there is no TLS to drain)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(emu: TelegramEmulator, *, parse_mode: str | None = None, **bot_kwargs: Any) -> Bot:
    """An aiogram Bot wired to the emulator (pass ``default=`` or ``parse_mode=``)."""
    session = FastAiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    if parse_mode is not None and "default" not in bot_kwargs:
        bot_kwargs["default"] = DefaultBotProperties(parse_mode=parse_mode)
    return Bot(emu.token, session=session, **bot_kwargs)


@contextlib.asynccontextmanager
async def run_polling(
    dp: Dispatcher,
    bot: Bot,
    *,
    emu: TelegramEmulator | None = None,
    settle: float = 0.02,
    **polling_kwargs: Any,
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``dp.start_polling(bot)`` in a task for the duration of the block.

    With ``emu`` given, waits (up to 1 s) for the bot to go idle before stopping, so handler
    tasks spawned by the last updates are not cut off mid-request. Polling errors propagate.
    """
    polling_kwargs.setdefault("handle_signals", False)
    task = asyncio.create_task(dp.start_polling(bot, **polling_kwargs))
    try:
        yield task
        if emu is not None and settle:
            with contextlib.suppress(AssertionError):
                await emu.wait_idle(timeout=1.0, quiet=settle)
    finally:
        if not task.done():
            try:
                await dp.stop_polling()
            except RuntimeError:  # start_polling has not taken its lock yet
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = [
    "CALLBACK_DATA_MAX",
    "CAPTION_MAX",
    "DEFAULT_TOKEN",
    "INFRA_METHODS",
    "MESSAGE_MAX",
    "NOT_MODIFIED",
    "QUERY_INVALID",
    "SEND_METHODS",
    "ApiError",
    "ApiErrorRecord",
    "ApiRequest",
    "CallbackQueryRecord",
    "FastAiohttpSession",
    "HtmlParseError",
    "StoredFile",
    "StoredMessage",
    "TelegramEmulator",
    "WebhookDelivery",
    "bad_request",
    "button_rows",
    "button_texts",
    "command_entities",
    "make_bot",
    "parse_html",
    "run_polling",
    "too_many_requests",
    "utf16_len",
]
