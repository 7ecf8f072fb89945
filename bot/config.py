"""Settings from the environment or a `.env` file."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import SUPPORTED_LOCALES

# Telegram tokens look like "123456789:AAH...": a numeric bot id, a colon, a 30+ char secret.
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,}$")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/homeward.db"


class ConfigError(Exception):
    """A configuration problem, explained in one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = SecretStr("")
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str = "https://api.telegram.org"
    redis_url: str | None = None
    default_locale: str = "en"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    draft_retention_days: int = Field(default=30, ge=1, le=3650)
    review_mode: str = "four_eyes"
    liaison_chat_id: int | None = None
    # Messages a second over all chats (Telegram allows about 30).
    broadcast_rate: int = Field(default=25, ge=1, le=1000)
    # The version a family gets when there is none in its language: the first one there is.
    broadcast_fallback: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["uk", "ru", "en"]
    )

    # Who the exported lists come from: PFIF record ids are "<pfif_domain>/<code>".
    pfif_domain: str = "homeward.example"
    organisation_name: str = "Homeward"

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token:
            raise ValueError(
                "BOT_TOKEN is not set: put the token from @BotFather in the environment or .env"
            )
        if not _TOKEN_RE.match(token):
            raise ValueError(
                "BOT_TOKEN looks malformed: expected '<digits>:<secret>' as given by @BotFather"
            )
        return SecretStr(token)

    @field_validator("default_locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[\s,;]+", value.strip()) if p]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError(
                    "ADMIN_IDS must be Telegram user ids separated by commas"
                ) from None
        return value

    @field_validator("broadcast_fallback", mode="before")
    @classmethod
    def _check_fallback(cls, value: object) -> object:
        if isinstance(value, str):
            value = [p.lower() for p in re.split(r"[\s,;]+", value.strip()) if p]
        if isinstance(value, list):
            unknown = [p for p in value if p not in SUPPORTED_LOCALES]
            if unknown or not value or len(set(value)) != len(value):
                raise ValueError(
                    "BROADCAST_FALLBACK must list languages from "
                    f"{', '.join(SUPPORTED_LOCALES)} once each, e.g. uk,ru,en"
                )
        return value

    @field_validator("telegram_api_url", "redis_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip().rstrip("/") or None
        return value

    @field_validator("review_mode")
    @classmethod
    def _check_review_mode(cls, value: str) -> str:
        value = value.strip().lower().replace("-", "_")
        if value not in {"four_eyes", "single"}:
            raise ValueError("REVIEW_MODE must be four_eyes (default) or single")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value


def load_settings(**overrides: object) -> Settings:
    """Load settings, turning validation errors into one readable line each."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]).upper() if error["loc"] else "config"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(message if message.startswith(field) else f"{field}: {message}")
        raise ConfigError("; ".join(lines)) from None
