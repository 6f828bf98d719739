"""Settings from the environment and ``.env`` (pydantic-settings). Secrets are ``SecretStr``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything AuraQuant reads from the environment; every field is optional."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    home: Path = Field(default=Path(".auraquant"), validation_alias="AURAQUANT_HOME")
    data: Path | None = Field(default=None, validation_alias="AURAQUANT_DATA")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    model: str = Field(default="offline", validation_alias="AURAQUANT_MODEL")
    openai_api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    google_api_key: SecretStr | None = Field(default=None, validation_alias="GOOGLE_API_KEY")
    weex_api_key: SecretStr | None = Field(default=None, validation_alias="WEEX_API_KEY")
    weex_secret_key: SecretStr | None = Field(default=None, validation_alias="WEEX_SECRET_KEY")
    weex_passphrase: SecretStr | None = Field(default=None, validation_alias="WEEX_PASSPHRASE")
    weex_base_url: str = Field(
        default="https://api-contract.weex.com", validation_alias="WEEX_BASE_URL"
    )
    coingecko_api_key: SecretStr | None = Field(default=None, validation_alias="COINGECKO_API_KEY")
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
