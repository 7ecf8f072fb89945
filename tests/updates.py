"""Builders for Telegram updates fed straight into the dispatcher."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    Message,
    MessageEntity,
    PhotoSize,
    Sticker,
    Update,
    User,
)

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def user(user_id: int, language_code: str | None = "en") -> User:
    return User(id=user_id, is_bot=False, first_name="Test", language_code=language_code)


def _message(user_id: int, language_code: str | None, **fields: object) -> Message:
    return Message(
        message_id=next(_message_ids),
        date=datetime.now(UTC),
        chat=Chat(id=user_id, type="private"),
        from_user=user(user_id, language_code),
        **fields,
    )


def text(user_id: int, value: str, language_code: str | None = "en") -> Update:
    entities = None
    if value.startswith("/"):
        length = len(value.split()[0])
        entities = [MessageEntity(type="bot_command", offset=0, length=length)]
    return Update(
        update_id=next(_update_ids),
        message=_message(user_id, language_code, text=value, entities=entities),
    )


def photo(
    user_id: int,
    file_id: str,
    language_code: str | None = "en",
    media_group_id: str | None = None,
    caption: str | None = None,
) -> Update:
    sizes = [PhotoSize(file_id=file_id, file_unique_id=file_id + "u", width=800, height=600)]
    return Update(
        update_id=next(_update_ids),
        message=_message(
            user_id, language_code, photo=sizes, media_group_id=media_group_id, caption=caption
        ),
    )


def document(
    user_id: int,
    file_id: str,
    file_name: str,
    caption: str | None = None,
    size: int = 1000,
    language_code: str | None = "en",
) -> Update:
    item = Document(
        file_id=file_id, file_unique_id=file_id + "u", file_name=file_name, file_size=size
    )
    entities = None
    if caption and caption.startswith("/"):
        entities = [MessageEntity(type="bot_command", offset=0, length=len(caption.split()[0]))]
    return Update(
        update_id=next(_update_ids),
        message=_message(
            user_id, language_code, document=item, caption=caption, caption_entities=entities
        ),
    )


def sticker(user_id: int, language_code: str | None = "en") -> Update:
    item = Sticker(
        file_id="st",
        file_unique_id="stu",
        type="regular",
        width=512,
        height=512,
        is_animated=False,
        is_video=False,
    )
    return Update(
        update_id=next(_update_ids), message=_message(user_id, language_code, sticker=item)
    )


def press(user_id: int, data: str, language_code: str | None = "en") -> Update:
    bot_message = Message(
        message_id=next(_message_ids),
        date=datetime.now(UTC),
        chat=Chat(id=user_id, type="private"),
        from_user=User(id=42, is_bot=True, first_name="Homeward"),
        text="…",
    )
    return Update(
        update_id=next(_update_ids),
        callback_query=CallbackQuery(
            id=str(next(_update_ids)),
            from_user=user(user_id, language_code),
            chat_instance="ci",
            message=bot_message,
            data=data,
        ),
    )
