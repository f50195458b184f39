"""Settings from ``VAULT_*`` environment variables (pydantic-settings).

Nothing secret lives here: keys are in the key provider, never in settings or the repository.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from vault.errors import ConfigError

__all__ = ["Settings", "get_settings", "load_settings"]


class Settings(BaseSettings):
    """Every setting of the vault. The README has the table; keep it in step."""

    model_config = SettingsConfigDict(env_prefix="VAULT_", extra="ignore", frozen=True)

    home: Path = Field(
        default=Path("./var"), description="Folder for the embedded database, key file and blobs."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file vault.db in VAULT_HOME."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    cookie_secure: bool = Field(default=True, description="Set false only for the plain-HTTP local demo.")
    session_idle_minutes: int = Field(default=15, ge=1, le=240)
    session_absolute_hours: int = Field(default=8, ge=1, le=24)
    step_up_minutes: int = Field(default=5, ge=1, le=60)
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)
    disclosure_default_days: int = Field(default=30, ge=1)
    disclosure_max_days: int = Field(default=365, ge=1)
    password_hashing: Literal["rfc9106_low_memory", "fast_insecure_for_tests"] = "rfc9106_low_memory"  # noqa: S105
    quick_exit_url: str = Field(
        default="https://www.google.nl/",
        description="Neutral site the quick-exit button of the public pages replaces the page with.",
    )
    intake_team: str | None = Field(
        default=None,
        description="Name of the team whose triage queue receives online reports and advice requests; "
        "default: the first team created.",
    )
    intake_max_bytes: int = Field(
        default=10 * 1024**2,
        ge=64 * 1024,
        description="Largest public form submission in bytes, attachment included (checked before reading).",
    )
    intake_pow_bits: int = Field(
        default=16, ge=1, le=28, description="Proof-of-work difficulty of the public forms (zero bits)."
    )
    intake_challenge_minutes: int = Field(
        default=30, ge=1, le=55, description="Minutes a proof-of-work challenge of the public forms is valid."
    )
    intake_limit_per_hour: int = Field(
        default=5, ge=1, description="Public form submissions accepted per client address per hour."
    )
    blob_grace_seconds: int = Field(default=3600, ge=0)

    @field_validator("database_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite and postgresql are supported")
        return value

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def key_file(self) -> Path:
        return self.resolved_home / "keys.json"

    @property
    def blob_dir(self) -> Path:
        return self.resolved_home / "blobs"

    @property
    def url(self) -> URL:
        if self.database_url:
            url = make_url(self.database_url)
            if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
                url = url.set(drivername="postgresql+psycopg")
            return url
        return make_url(f"sqlite:///{self.resolved_home / 'vault.db'}")

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


def load_settings() -> Settings:
    """Read settings from the environment; a bad value becomes a one-line ``ConfigError``."""
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        # Never echo the input: a URL may carry a password.
        raise ConfigError(f"VAULT_{field.upper()}: {err['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
