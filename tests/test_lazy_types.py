"""aiogram's types load lazily under `import bot` (see bot/__init__.py): every type and
method still builds on first use, whichever model is used first, and validates updates."""

from __future__ import annotations

import subprocess
import sys

from bot import PROJECT_ROOT

# In a fresh interpreter: this test process may have imported aiogram before `bot`.
CHECK = """
import bot  # first, as `python -m bot` does
import aiogram.methods as M
import aiogram.types as T
from aiogram.methods.base import Response
from pydantic import BaseModel

assert not T.Update.__pydantic_complete__, "aiogram's types were built at import"
user = {"id": 5, "is_bot": False, "first_name": "A"}
message = {
    "message_id": 2, "date": 0, "chat": {"id": 5, "type": "private"}, "from": user,
    "text": "hi", "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": "x"}]]},
}
press = {"id": "1", "chat_instance": "1", "data": "x", "from": user, "message": message}
# The first model built is a generic of the session, as when the bot polls.
parsed = Response[list[T.Update]].model_validate(
    {"ok": True, "result": [{"update_id": 1, "callback_query": press}]}
)
assert parsed.result[0].callback_query.message.reply_markup.inline_keyboard[0][0].text == "b"
for module in (T, M):
    for name in module.__all__:
        model = getattr(module, name)
        if isinstance(model, type) and issubclass(model, BaseModel):
            model.model_rebuild()  # raises if a name the schema needs cannot be found
            assert model.__pydantic_complete__, name
"""


def test_every_aiogram_type_builds_on_first_use() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
