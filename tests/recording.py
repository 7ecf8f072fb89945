"""A bot session that records every API call and answers like Telegram would, offline."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, File, Message, User

BOT_USER = User(id=42, is_bot=True, first_name="Homeward", username="homeward_test_bot")


class RecordingSession(BaseSession):
    def __init__(self, keep: bool = True) -> None:
        super().__init__()
        self.keep = keep
        self.calls: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1000)
        self._templates: dict[int, Message] = {}
        self.files: dict[str, bytes] = {}  # file_id -> what a download of it gives

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        if self.keep:
            self.calls.append(method)
        returning = method.__returning__
        if returning is bool:
            return True  # type: ignore[return-value]
        if returning is User:
            return BOT_USER  # type: ignore[return-value]
        if returning is File:
            file_id = method.file_id  # type: ignore[attr-defined]
            return File(  # type: ignore[return-value]
                file_id=file_id,
                file_unique_id=file_id + "u",
                file_size=len(self.files.get(file_id, b"")),
                file_path=f"documents/{file_id}",
            )
        chat_id = int(getattr(method, "chat_id", None) or 1)
        # A canned answer: one validated message per chat, copied with new fields, so that
        # the harness costs as little as possible next to the bot it measures.
        base = self._templates.get(chat_id)
        if base is None:
            base = self._templates[chat_id] = Message(
                message_id=0,
                date=datetime.now(UTC),
                chat=Chat(id=chat_id, type="private"),
                from_user=BOT_USER,
            )
        message = base.model_copy(
            update={
                "message_id": next(self._ids),
                "text": getattr(method, "text", None),
                "caption": getattr(method, "caption", None),
            }
        )
        if returning is Message or str(returning).startswith("typing.Union"):
            return message  # type: ignore[return-value]
        if getattr(returning, "__origin__", None) is list:
            return [message]  # type: ignore[return-value]
        return message  # type: ignore[return-value]

    async def close(self) -> None:
        pass

    async def stream_content(
        self, url: str, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[bytes, None]:
        file_id = url.rsplit("/", 1)[-1]
        if file_id not in self.files:
            raise OSError(f"no such file: {file_id}")
        yield self.files[file_id]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """What the chat shows, in order: sent messages and messages edited into new text."""
        return [
            c.text  # type: ignore[attr-defined]
            for c in self.calls
            if type(c).__name__ in {"SendMessage", "EditMessageText"}
            and (chat_id is None or c.chat_id == chat_id)  # type: ignore[attr-defined]
        ]

    def clear(self) -> None:
        self.calls.clear()


def make_bot(session: RecordingSession | None = None) -> Bot:
    from aiogram.client.default import DefaultBotProperties
    from aiogram.enums import ParseMode

    return Bot(
        token="42:" + "T" * 35,
        session=session or RecordingSession(),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
