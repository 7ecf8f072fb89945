"""The web chat: one static page, a small JSON API and Server-Sent Events.

GET  /                              the page (static/index.html, app.js, app.css)
GET  /api/state                     bot, people, every chat, the recent Bot API calls
GET  /api/events                    SSE: "update" (changed messages, keyboards, menus, answers,
                                    calls) and "person" (someone new)
POST /api/people                    {"role": family|liaison|admin, "locale": uk|ru|en, "name"?}
POST /api/chats/{id}/text           {"text": ...}: the person sends a message
POST /api/chats/{id}/press          {"message_id", "data"}: presses an inline button
POST /api/chats/{id}/reply          {"text"}: taps a button of the reply keyboard
POST /api/chats/{id}/file           multipart "file", "caption", "as" (photo|document)
GET  /api/files/{file_id}           a file of the emulator's store (photos, documents)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections import deque
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.sandbox.emulator import StoredMessage, TelegramEmulator
from bot.sandbox.people import LOCALES, ROLES, PeopleError, Person
from bot.sandbox.render import to_html

if TYPE_CHECKING:
    from bot.sandbox.runner import Sandbox

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # what a Telegram app lets a person send in one message
MAX_CAPTION = 1024
MAX_UPLOAD = 20 * 1024 * 1024
LOG_KEEP = 300
DEBOUNCE = 0.03  # seconds: changes that arrive together go out as one event
SUBSCRIBER_QUEUE = 200
# Calls shown in the log; polling itself would drown the rest.
_QUIET_METHODS = frozenset({"getUpdates"})
_STATIC = ("index.html", "app.js", "app.css")
_CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
}


# ---- views of the emulator's state ----------------------------------------------------------


def history(emu: TelegramEmulator, chat_id: int) -> list[StoredMessage]:
    """Every message of a chat, the person's and the bot's, in order."""
    return list(emu._messages.get(chat_id, {}).values())


def _file_view(kind: str, media: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "file_id": media.get("file_id"),
        "name": media.get("file_name") or kind,
        "mime": media.get("mime_type"),
    }


def message_view(msg: StoredMessage) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": msg.message_id,
        "from_bot": msg.from_bot,
        "date": msg.date,
        "deleted": msg.deleted,
        "edited": bool(msg.edit_date),
        "kind": msg.kind,
        "html": to_html(msg.text, msg.entities) if msg.text is not None else "",
    }
    if msg.caption:
        view["html"] = to_html(msg.caption, msg.caption_entities)
    if msg.photo:
        view["photo"] = msg.photo[-1]["file_id"]
    if msg.media_group_id:
        view["album"] = msg.media_group_id
    media = msg.media
    if "document" in media:
        view["document"] = _file_view("document", media["document"])
    elif "sticker" in media:
        view["note"] = media["sticker"].get("emoji") or "sticker"
    elif "contact" in media:
        view["note"] = "☎ " + str(media["contact"].get("phone_number", ""))
    elif "location" in media:
        location = media["location"]
        view["note"] = f"📍 {location.get('latitude')}, {location.get('longitude')}"
    elif media and msg.text is None and not msg.photo:
        view["note"] = msg.kind
    markup = msg.inline_markup
    if markup:
        view["buttons"] = [
            [
                {
                    "text": str(button.get("text", "")),
                    **({"data": button["callback_data"]} if "callback_data" in button else {}),
                    **({"url": button["url"]} if "url" in button else {}),
                }
                for button in row
            ]
            for row in markup["inline_keyboard"]
        ]
    return view


def keyboard_view(markup: Mapping[str, Any] | None) -> list[list[str]] | None:
    if not markup:
        return None
    return [
        [button if isinstance(button, str) else str(button.get("text", "")) for button in row]
        for row in markup.get("keyboard", [])
    ]


def commands_for(emu: TelegramEmulator, person: Person) -> list[dict[str, str]]:
    """The menu Telegram shows in this person's chat: the narrowest scope that has one."""
    for scope in (
        {"type": "chat", "chat_id": person.id},
        {"type": "all_private_chats"},
        {"type": "default"},
    ):
        for language in (person.locale, ""):
            commands = emu.get_commands(scope, language)
            if commands:
                return commands
    return []


def _summary(params: Mapping[str, Any]) -> str:
    """A short description of a call for the log (the sandbox's data is fictional)."""
    parts = []
    for key in ("chat_id", "message_id", "callback_query_id"):
        if key in params:
            parts.append(f"{key}={params[key]}")
    scope = params.get("scope")
    if isinstance(scope, dict):
        parts.append(
            f"scope={scope.get('type')}{':' + str(scope['chat_id']) if 'chat_id' in scope else ''}"
        )
    if params.get("language_code"):
        parts.append(f"lang={params['language_code']}")
    for key in ("text", "caption"):
        value = params.get(key)
        if isinstance(value, str) and value:
            short = value.replace("\n", " ")
            parts.append(f"{key}={short[:60]!r}" + ("…" if len(short) > 60 else ""))
    return " ".join(parts)


# ---- the hub: one scan per change, fanned out to every page ----------------------------------


class Hub:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.emu = sandbox.emulator
        self.subscribers: set[asyncio.Queue[str | None]] = set()
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_KEEP)
        self._fingerprints: dict[tuple[int, int], tuple[int, bool, bool]] = {}
        self._keyboards: dict[int, Any] = {}
        self._commands: dict[int, Any] = {}
        self._requests_seen = 0
        self._errors_seen = 0
        self._queries_seen = 0
        self._pending_queries: list[str] = []
        self._task: asyncio.Task[None] | None = None
        sandbox.listeners.append(self._on_person)

    def start(self) -> None:
        self.collect()  # the state so far is in /api/state, not in events
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queue in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    def _signature(self) -> tuple[int, ...]:
        stats = self.emu.stats
        return (
            stats["ok"],
            stats["errors"],
            stats["updates_queued"],
            stats["requests"],
            len(self.emu.callback_queries),
        )

    async def _run(self) -> None:
        seen = self._signature()

        def changed() -> bool:
            return self._signature() != seen

        while True:
            with contextlib.suppress(AssertionError):
                await self.emu.wait_until(changed, 30, poll=None)
            await asyncio.sleep(DEBOUNCE)
            seen = self._signature()
            try:
                update = self.collect()
            except Exception:  # the page must keep working whatever one scan met
                log.exception("sandbox: could not collect the changes")
                continue
            if update:
                self.publish("update", update)

    def publish(self, event: str, data: Mapping[str, Any]) -> None:
        payload = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(payload)
            except asyncio.QueueFull:  # a page that stopped reading: it reloads the state
                self.subscribers.discard(queue)

    def _on_person(self, person: Person) -> None:
        self.publish("person", {"person": person.as_dict(), "chat": self.chat_state(person)})

    def chat_state(self, person: Person) -> dict[str, Any]:
        return {
            "messages": [message_view(m) for m in history(self.emu, person.id)],
            "keyboard": keyboard_view(self.emu.reply_keyboards.get(person.id)),
            "commands": commands_for(self.emu, person),
        }

    def collect(self) -> dict[str, Any]:
        """What changed since the last scan."""
        messages: dict[int, list[dict[str, Any]]] = {}
        keyboards: dict[int, Any] = {}
        commands: dict[int, Any] = {}
        for person in self.sandbox.people:
            for msg in history(self.emu, person.id):
                key = (person.id, msg.message_id)
                print_ = (len(msg.history), msg.deleted, msg.reply_markup is None)
                if self._fingerprints.get(key) != print_:
                    self._fingerprints[key] = print_
                    messages.setdefault(person.id, []).append(message_view(msg))
            keyboard = keyboard_view(self.emu.reply_keyboards.get(person.id))
            if self._keyboards.get(person.id, None) != keyboard or person.id not in self._keyboards:
                self._keyboards[person.id] = keyboard
                keyboards[person.id] = keyboard
            menu = commands_for(self.emu, person)
            if self._commands.get(person.id) != menu:
                self._commands[person.id] = menu
                commands[person.id] = menu
        answers = self._answers()
        calls = self._calls()
        update: dict[str, Any] = {}
        for name, value in (
            ("messages", messages),
            ("keyboards", keyboards),
            ("commands", commands),
            ("answers", answers),
            ("log", calls),
        ):
            if value:
                update[name] = value
        return update

    def _answers(self) -> list[dict[str, Any]]:
        """Callback query answers with a text: Telegram shows them as a toast or an alert."""
        queries = self.emu.callback_queries
        if len(queries) > self._queries_seen:
            self._pending_queries += list(queries)[self._queries_seen :]
            self._queries_seen = len(queries)
        shown, waiting = [], []
        for query_id in self._pending_queries:
            record = queries[query_id]
            if not record.answered:
                waiting.append(query_id)
                continue
            answer = record.answer or {}
            if answer.get("text"):
                shown.append(
                    {
                        "chat": record.chat_id,
                        "text": str(answer["text"]),
                        "alert": bool(answer.get("show_alert")),
                    }
                )
        self._pending_queries = waiting[-500:]
        return shown

    def _calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []
        requests = self.emu.requests
        for request in requests[self._requests_seen :]:
            if request.method in _QUIET_METHODS:
                continue
            calls.append({"method": request.method, "info": _summary(request.params)})
        self._requests_seen = len(requests)
        errors = self.emu.errors
        for error in errors[self._errors_seen :]:
            if error.method in _QUIET_METHODS and error.error_code != 409:
                continue
            calls.append(
                {
                    "method": error.method,
                    "info": f"{error.error_code} {error.description}",
                    "error": True,
                }
            )
        self._errors_seen = len(errors)
        self.log.extend(calls)
        return calls


# ---- the web application --------------------------------------------------------------------


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class WebChat:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.emu = sandbox.emulator
        self.hub = Hub(sandbox)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_UPLOAD + 64 * 1024)
        app.router.add_get("/", self.page)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/state", self.state)
        app.router.add_get("/api/events", self.events)
        app.router.add_post("/api/people", self.add_person)
        app.router.add_post("/api/chats/{chat}/text", self.send_text)
        app.router.add_post("/api/chats/{chat}/press", self.press)
        app.router.add_post("/api/chats/{chat}/reply", self.reply)
        app.router.add_post("/api/chats/{chat}/file", self.send_file)
        app.router.add_get("/api/files/{file_id}", self.file)
        return app

    async def start(self, host: str, port: int) -> str:
        self.hub.start()
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        await self.hub.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- static -----------------------------------------------------------------------------

    @staticmethod
    def _asset(name: str) -> web.Response:
        if name not in _STATIC:
            raise web.HTTPNotFound()
        body = resources.files("bot.sandbox").joinpath("static", name).read_bytes()
        suffix = name[name.rfind(".") :]
        return web.Response(
            body=body,
            content_type=_CONTENT_TYPES[suffix],
            charset="utf-8",
            headers={"Cache-Control": "no-cache"},
        )

    async def page(self, request: web.Request) -> web.Response:
        return self._asset("index.html")

    async def static(self, request: web.Request) -> web.Response:
        return self._asset(request.match_info["name"])

    # ---- state and events -------------------------------------------------------------------

    async def state(self, request: web.Request) -> web.Response:
        people = list(self.sandbox.people)
        return web.json_response(
            {
                "bot": self.emu.bot_user,
                "people": [p.as_dict() for p in people],
                "chats": {str(p.id): self.hub.chat_state(p) for p in people},
                "log": list(self.hub.log),
            },
            dumps=lambda data: json.dumps(data, ensure_ascii=False),
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.hub.subscribers.add(queue)
        try:
            await response.write(b"event: hello\ndata: {}\n\n")
            while True:
                try:
                    payload = await asyncio.wait_for(queue.get(), 15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if payload is None:
                    break
                await response.write(payload.encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.hub.subscribers.discard(queue)
        return response

    # ---- acting as a person -----------------------------------------------------------------

    def _person(self, request: web.Request) -> Person:
        try:
            person = self.sandbox.people.get(int(request.match_info["chat"]))
        except ValueError:
            person = None
        if person is None:
            raise web.HTTPNotFound(text="no such person in the sandbox")
        return person

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="a JSON object is expected") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="a JSON object is expected")
        return body

    async def add_person(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        role, locale = str(body.get("role", "")), str(body.get("locale", "en"))
        if role not in ROLES or locale not in LOCALES:
            return _error(400, "role: family, liaison or admin; locale: uk, ru or en")
        name = body.get("name")
        try:
            person = await self.sandbox.add_person(
                role, locale, str(name) if isinstance(name, str) else None
            )
        except PeopleError as error:
            return _error(400, str(error))
        return web.json_response({"person": person.as_dict()})

    async def send_text(self, request: web.Request) -> web.Response:
        person = self._person(request)
        text = str((await self._json(request)).get("text", "")).strip()
        if not text:
            return _error(400, "the message is empty")
        if len(text) > MAX_TEXT:
            return _error(400, f"a message holds at most {MAX_TEXT} characters")
        sent = await self.emu.send_text(person.id, text)
        return web.json_response({"message_id": sent["message_id"]})

    async def press(self, request: web.Request) -> web.Response:
        person = self._person(request)
        body = await self._json(request)
        try:
            query = await self.emu.press(person.id, int(body["message_id"]), str(body["data"]))
        except (KeyError, ValueError, TypeError):
            return _error(400, "message_id and data are needed")
        except AssertionError:
            return _error(409, "that button is no longer shown")
        return web.json_response({"query_id": query})

    async def reply(self, request: web.Request) -> web.Response:
        person = self._person(request)
        text = str((await self._json(request)).get("text", ""))
        try:
            sent = await self.emu.tap_reply_button(person.id, text)
        except AssertionError:
            return _error(409, "that button is no longer shown")
        return web.json_response({"message_id": sent["message_id"]})

    async def send_file(self, request: web.Request) -> web.Response:
        person = self._person(request)
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return _error(400, "a file is needed")
        content = upload.file.read()
        caption = str(form.get("caption") or "").strip() or None
        if caption and len(caption) > MAX_CAPTION:
            return _error(400, f"a caption holds at most {MAX_CAPTION} characters")
        mime = upload.content_type or "application/octet-stream"
        as_photo = str(form.get("as") or "") == "photo" or (
            not form.get("as") and mime in ("image/jpeg", "image/png", "image/webp")
        )
        file_id = f"sandbox-{uuid.uuid4().hex[:16]}"
        if as_photo:
            sent = await self.emu.send_photo(person.id, file_id, caption, content=content)
        else:
            sent = await self.emu.send_document(
                person.id,
                file_id,
                upload.filename or "document",
                mime,
                caption,
                content=content,
            )
        return web.json_response({"message_id": sent["message_id"], "file_id": file_id})

    async def file(self, request: web.Request) -> web.Response:
        stored = self.emu.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        if stored.content is None:  # a file id the emulator only knows by name
            return web.Response(body=_PLACEHOLDER, content_type="image/svg+xml")
        sniffed = _sniff(stored.content)
        headers = {
            "Cache-Control": "max-age=3600",
            "X-Content-Type-Options": "nosniff",
            # Whatever was uploaded, it never runs as a page of the sandbox's origin.
            "Content-Security-Policy": "sandbox; default-src 'none'",
        }
        if stored.kind == "photo" and sniffed.startswith("image/"):
            return web.Response(body=stored.content, content_type=sniffed, headers=headers)
        name = re.sub(r"[^A-Za-z0-9._() -]", "_", stored.file_name or "document")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return web.Response(
            body=stored.content, content_type="application/octet-stream", headers=headers
        )


def _sniff(content: bytes) -> str:
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content.startswith(b"%PDF"):
        return "application/pdf"
    return "application/octet-stream"


_PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240">'
    b'<rect width="100%" height="100%" fill="#d9e2ec"/>'
    b'<text x="50%" y="50%" text-anchor="middle" font-family="sans-serif" fill="#52606d">'
    b"photo</text></svg>"
)
