"""Settings from the environment or a `.env` file."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import SUPPORTED_LOCALES

# Telegram tokens look like "123456789:AAH...": a numeric bot id, a colon, a 30+ char secret.
_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,}$")
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/homeward.db"
# Telegram's rule for the secret token of a webhook (the X-Telegram-Bot-Api-Secret-Token header).
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Paths of the health and metrics endpoints, which the webhook must not take.
RESERVED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ConfigError(Exception):
    """A configuration problem, explained in one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = SecretStr("")
    database_url: str = DEFAULT_DATABASE_URL
    # The key that seals personal data: a key file path or base64 key(s); see storage.crypto.
    data_key: SecretStr = SecretStr("")
    telegram_api_url: str = "https://api.telegram.org"
    redis_url: str | None = None
    default_locale: str = "en"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    draft_retention_days: int = Field(default=30, ge=1, le=3650)
    # Closed and reunited cases lose their personal data this long after they ended; 0: never.
    closed_retention_days: int = Field(default=365, ge=0, le=36500)
    review_mode: str = "four_eyes"
    liaison_chat_id: int | None = None
    # Messages a second over all chats (Telegram allows about 30).
    broadcast_rate: int = Field(default=25, ge=1, le=1000)
    # Messages that go into one chat at once before the bot keeps to one a second there
    # (Telegram tolerates short bursts in a chat).
    chat_burst: int = Field(default=3, ge=1, le=100)
    # The version a family gets when there is none in its language: the first one there is.
    broadcast_fallback: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["uk", "ru", "en"]
    )

    # Who the exported lists come from: PFIF record ids are "<pfif_domain>/<code>".
    pfif_domain: str = "homeward.example"
    organisation_name: str = "Homeward"

    # Webhook mode, health and metrics (bot.serving): "polling" (default) or "webhook".
    mode: str = "polling"
    webhook_url: str | None = Field(default=None, validate_default=True)
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_listen: str = "127.0.0.1:8080"
    # Updates Telegram posts at once (its default 40); several instances share them.
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    # Polling mode: /healthz, /readyz and /metrics on this host:port; unset: no server.
    health_listen: str | None = None

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token:
            raise ValueError(
                "BOT_TOKEN is not set: put the token from @BotFather in the environment or .env "
                "(send /newbot to @BotFather in Telegram to get one), or try the bot without a "
                "token in the sandbox: python -m bot sandbox"
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

    @field_validator("mode")
    @classmethod
    def _check_mode(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in {"polling", "webhook"}:
            raise ValueError("MODE must be polling (default) or webhook")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip() or None
        if value is None:
            if info.data.get("mode") == "webhook":
                raise ValueError(
                    "WEBHOOK_URL is required in webhook mode: the public https URL that "
                    "Telegram posts updates to"
                )
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("WEBHOOK_URL must be a full URL such as https://bot.example.org/tg")
        if (parts.path or "/") in RESERVED_PATHS:
            raise ValueError("WEBHOOK_URL's path must not be /healthz, /readyz or /metrics")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        secret = value.get_secret_value().strip() if value is not None else ""
        if not secret:
            if info.data.get("mode") == "webhook":
                raise ValueError(
                    "WEBHOOK_SECRET is required in webhook mode: 1-256 characters of "
                    "A-Z a-z 0-9 _ -"
                )
            return None
        if not _WEBHOOK_SECRET_RE.match(secret):
            raise ValueError(
                "WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)"
            )
        return SecretStr(secret)

    @field_validator("webhook_listen", "health_listen")
    @classmethod
    def _check_listen(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip() or None
        if value is None:
            if info.field_name == "webhook_listen":
                raise ValueError("WEBHOOK_LISTEN must be host:port, e.g. 127.0.0.1:8080")
            return None
        try:
            parse_listen(value)
        except ValueError:
            name = (info.field_name or "listen").upper()
            raise ValueError(f"{name} must be host:port, e.g. 127.0.0.1:8080") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value


def parse_listen(value: str) -> tuple[str, int]:
    """ "host:port" (or "[::1]:port") as a host and a port; ValueError if it is neither."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(value)
    return host, int(port)


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
