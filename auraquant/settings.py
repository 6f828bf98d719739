"""Settings from the environment and ``.env`` (pydantic-settings). Secrets are ``SecretStr``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything AuraQuant reads from the environment; every field is optional."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    home: Path = Field(default=Path(".auraquant"), validation_alias="AURAQUANT_HOME")
    data: Path | None = Field(default=None, validation_alias="AURAQUANT_DATA")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    exchange_redis_key: str = Field(
        default="auraquant:exchange:state", validation_alias="AURAQUANT_EXCHANGE_REDIS_KEY"
    )
    model: str = Field(default="offline", validation_alias="AURAQUANT_MODEL")
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    google_api_key: SecretStr | None = Field(default=None, validation_alias="GOOGLE_API_KEY")
    weex_api_key: SecretStr | None = Field(default=None, validation_alias="WEEX_API_KEY")
    # WEEX_API_SECRET / WEEX_API_PASSPHRASE (issue 12); the older WEEX_SECRET_KEY /
    # WEEX_PASSPHRASE are accepted as aliases (the first one set wins).
    weex_secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("WEEX_API_SECRET", "WEEX_SECRET_KEY"),
    )
    weex_passphrase: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("WEEX_API_PASSPHRASE", "WEEX_PASSPHRASE"),
    )
    weex_base_url: str = Field(
        default="https://api-contract.weex.com", validation_alias="WEEX_BASE_URL"
    )
    weex_ai_log_enabled: bool = Field(default=False, validation_alias="WEEX_AI_LOG_ENABLED")
    weex_max_hold_s: float | None = Field(default=None, gt=0, validation_alias="WEEX_MAX_HOLD_S")
    coingecko_api_key: SecretStr | None = Field(default=None, validation_alias="COINGECKO_API_KEY")
    # news intelligence (feeds/): collectors, alerts, notifiers
    news_prefix: str = Field(default="news", validation_alias="AURAQUANT_NEWS_PREFIX")
    news_feeds: str = Field(default="", validation_alias="AURAQUANT_NEWS_FEEDS")
    alert_threshold: float = Field(default=0.7, validation_alias="AURAQUANT_ALERT_THRESHOLD")
    cryptopanic_token: SecretStr | None = Field(default=None, validation_alias="CRYPTOPANIC_TOKEN")
    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias="TELEGRAM_BOT_TOKEN"
    )
    telegram_chat_id: str | None = Field(default=None, validation_alias="TELEGRAM_CHAT_ID")
    discord_webhook_url: SecretStr | None = Field(
        default=None, validation_alias="DISCORD_WEBHOOK_URL"
    )
    telegram_api_id: int | None = Field(default=None, validation_alias="TELEGRAM_API_ID")
    telegram_api_hash: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_API_HASH")
    telegram_channels: str = Field(default="", validation_alias="AURAQUANT_TELEGRAM_CHANNELS")

    @field_validator("weex_ai_log_enabled", mode="before")
    @classmethod
    def _blank_is_false(cls, value: object) -> object:
        """``WEEX_AI_LOG_ENABLED=`` (blank, as in .env.example) means off."""
        return False if isinstance(value, str) and not value.strip() else value

    @field_validator("weex_max_hold_s", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        """``WEEX_MAX_HOLD_S=`` (blank, as in .env.example) means no maximum hold."""
        return None if isinstance(value, str) and not value.strip() else value

    celery_prefix: str = Field(default="auraquant:", validation_alias="AURAQUANT_CELERY_PREFIX")
    celery_visibility_timeout: int = Field(
        default=3600, ge=1, validation_alias="AURAQUANT_CELERY_VISIBILITY_TIMEOUT"
    )

    def secret_values(self) -> list[str]:
        """Every configured secret, for the scanners that prove none leaks into output."""
        secrets = [
            self.openai_api_key,
            self.google_api_key,
            self.weex_api_key,
            self.weex_secret_key,
            self.weex_passphrase,
            self.coingecko_api_key,
            self.cryptopanic_token,
            self.telegram_bot_token,
            self.discord_webhook_url,
            self.telegram_api_hash,
        ]
        return [s.get_secret_value() for s in secrets if s and s.get_secret_value()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once. Tests call ``get_settings.cache_clear()``."""
    return Settings()


def load_environment(env_file: Path = Path(".env")) -> Settings:
    """Load ``.env`` into the process environment (a variable already set wins), then read the
    settings. The packages below the shell read a few variables straight from the environment
    (the meeting budget, the model, the secrets the AI log redacts), so ``.env`` must reach
    them the same way it reaches ``Settings``."""
    import os

    from dotenv import load_dotenv

    if env_file.is_file():
        load_dotenv(env_file, override=False)
    get_settings.cache_clear()
    settings = get_settings()
    os.environ.setdefault("AURAQUANT_HOME", str(settings.home))
    return settings
