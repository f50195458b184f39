"""Settings from ``VAULT_*`` environment variables (pydantic-settings).

Nothing secret lives here: keys are in the key provider, never in settings or the repository.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import httpx
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from vault.errors import ConfigError

__all__ = [
    "MIN_PROXY_PREFIX",
    "Settings",
    "get_settings",
    "load_settings",
    "normalise_proxy",
    "settings_error",
]


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9._\-/]*")


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending in "/"


def parse_s3_url(url: str) -> S3Location:
    """``s3://bucket`` or ``s3://bucket/some/prefix`` → bucket and normalised prefix; ValueError otherwise."""
    if not url.startswith("s3://"):
        raise ValueError("must look like s3://bucket/prefix")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise ValueError("not a valid bucket name")
    prefix = prefix.strip("/")
    if not _PREFIX.fullmatch(prefix) or any(part in ("", ".", "..") for part in prefix.split("/") if prefix):
        raise ValueError("the prefix may hold only letters, digits, '.', '-', '_' and single '/'")
    return S3Location(bucket, f"{prefix}/" if prefix else "")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def openbao_address_problem(addr: str) -> str | None:
    """Why ``addr`` is refused as the OpenBao address, or None. The answer never repeats the address
    (it may carry a password): plain ``http://`` only to a loopback host, no ``user:password@``."""
    try:
        url = httpx.URL(addr)
    except (httpx.InvalidURL, TypeError):
        return "VAULT_OPENBAO_ADDR is not a valid URL"
    if url.scheme not in ("http", "https") or not url.host:
        return "VAULT_OPENBAO_ADDR must be an http:// or https:// URL"
    if url.userinfo:
        return (
            "VAULT_OPENBAO_ADDR must not hold a user name or password "
            "(the token goes in VAULT_OPENBAO_TOKEN only)"
        )
    if url.scheme == "http" and not _is_loopback(url.host):
        return (
            "VAULT_OPENBAO_ADDR is plain http:// to a host that is not this machine: the token and the "
            "keys sent for wrapping would cross the network unencrypted; use https://"
        )
    return None


# The widest network believed as a proxy: a whole /8 of IPv4 (10.0.0.0/8), a /32 of IPv6. Anything wider
# is the internet or most of it, where every client chooses its own rate-limit key, like '*'.
MIN_PROXY_PREFIX = {4: 8, 6: 32}
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def normalise_proxy(item: str) -> tuple[str, str | None]:
    """One entry of VAULT_FORWARDED_ALLOW_IPS → (the form handed to uvicorn, why it is refused or None).

    uvicorn parses networks strictly and silently treats ``10.0.0.5/24`` (host bits set) as a literal
    that matches no client; the network form ``10.0.0.0/24`` is what is meant and what is passed on."""
    shown = repr(item[:64])
    try:
        if "/" not in item:
            return str(ipaddress.ip_address(item)), None
        network = ipaddress.ip_network(item, strict=False)
    except ValueError:
        return item, f"not an address or network: {shown}"
    prefix, minimum = network.prefixlen, MIN_PROXY_PREFIX[network.version]
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
        prefix, minimum = prefix - 96, MIN_PROXY_PREFIX[4]  # ::ffff:a.b.c.d/n holds IPv4 clients
    if prefix < minimum:
        return item, (
            f"{shown} is wider than /{minimum}: it holds clients, not only your proxies, and would let "
            "them choose their own rate-limit key (like '*'); name the proxies' addresses or network"
        )
    return str(network), None


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
    forwarded_allow_ips: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For/-Proto `vault serve` believes (comma-separated "
        "addresses or networks); empty: none, every client is the address that connects.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    cookie_secure: bool = Field(default=True, description="Set false only for the plain-HTTP local demo.")
    session_idle_minutes: int = Field(default=15, ge=1, le=240)
    session_absolute_hours: int = Field(default=8, ge=1, le=24)
    step_up_minutes: int = Field(default=5, ge=1, le=60)
    generated_password_days: int = Field(
        default=7, ge=1, le=90, description="How long a generated password (new account, reset) signs in."
    )
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1024)
    disclosure_default_days: int = Field(default=30, ge=1)
    disclosure_max_days: int = Field(default=365, ge=1)
    password_hashing: Literal["rfc9106_low_memory", "fast_insecure_for_tests"] = Field(
        default="rfc9106_low_memory",
        description="argon2id profile; fast_insecure_for_tests is for the test suite only: `vault serve` "
        "refuses it unless it listens on a loopback address with VAULT_COOKIE_SECURE=false.",
    )
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
        default=5,
        ge=1,
        description="Public form submissions per client address per hour at the base proof of work; each "
        "one beyond needs a harder proof (docs/intake.md).",
    )
    intake_ceiling_per_hour: int = Field(
        default=100,
        ge=1,
        description="Public form submissions per client address per hour after which every attempt is "
        "refused, whatever its proof of work (a flood stop).",
    )
    blob_grace_seconds: int = Field(default=3600, ge=0)
    disk_reserve_mib: int = Field(
        default=512,
        ge=0,
        description="Free space (MiB) kept on the disks of the blob store and the SQLite database for a "
        "day of audit entries: below it uploads are refused (507), reads and logins go on. 0 turns it off.",
    )
    logcontrole_review_minutes: int = Field(
        default=60,
        ge=0,
        le=1440,
        description="How often the server reviews the days of the last week whose access review (D21) is "
        "not complete, the first time one period after start; 0 turns the server's review off "
        '(docs/audit.md "Logcontrole").',
    )
    # -- document store (docs/deployment.md) --
    blob_store: str | None = Field(
        default=None,
        description="Where document ciphertext lives: unset or 'local' = VAULT_HOME/blobs; "
        "s3://bucket/prefix = an S3-compatible object store (credentials from the standard AWS chain).",
    )
    s3_endpoint: str | None = Field(
        default=None, description="S3 endpoint URL (e.g. https://s3.example.nl); default: AWS."
    )
    s3_region: str | None = Field(default=None, description="S3 region; default from the AWS configuration.")
    # -- keys (docs/security.md "Keys") --
    key_provider: Literal["file", "pkcs11", "openbao"] = Field(
        default="file", description="Where the key-encryption keys live: file, pkcs11 or openbao."
    )
    key_file: Path | None = Field(
        default=None,
        description="File provider: the key file (KEKs sealed under the root key); "
        "default VAULT_HOME/keys.json.",
    )
    root_key_file: Path | None = Field(
        default=None,
        description="File provider: the root key; default VAULT_HOME/root.key. "
        "Keep it off the data's disk and backups.",
    )
    pkcs11_module: str = Field(default="/usr/lib/softhsm/libsofthsm2.so", description="PKCS#11 module path.")
    pkcs11_token_label: str = Field(default="vault", description="Label of the PKCS#11 token.")
    pkcs11_pin: SecretStr | None = Field(default=None, description="User PIN of the PKCS#11 token.")
    pkcs11_key_label: str = Field(
        default="vault-kek", description="Label prefix of the KEK objects (<label>-<v>)."
    )
    openbao_addr: str = Field(
        default="http://127.0.0.1:8200",
        description="OpenBao / Vault address: https://, or http:// to this machine only (127.0.0.0/8, "
        "::1, localhost); never with user:password@ (checked when the provider opens).",
    )
    openbao_token: SecretStr | None = Field(
        default=None, description="OpenBao token allowed to use the transit key."
    )
    openbao_mount: str = Field(default="transit", description="Mount path of the transit engine.")
    openbao_key: str = Field(default="vault-kek", description="Name of the transit key.")
    key_retire_after_days: int = Field(
        default=35,
        ge=1,
        le=3650,
        description="Backup retention: a retired KEK epoch is destroyed this long after.",
    )

    # -- passkeys / WebAuthn (docs/security.md "Second factors: TOTP, recovery codes, passkeys") --
    webauthn_rp_id: str = Field(
        default="localhost",
        min_length=1,
        max_length=253,
        description="WebAuthn relying-party id (a domain; browsers refuse IP addresses such as 127.0.0.1).",
    )
    webauthn_origin: str = Field(
        default="http://localhost:8000",
        description="The exact origin passkey ceremonies must come from (scheme://host[:port]).",
    )
    passkey_required_roles: str = Field(
        default="",
        description="Comma-separated roles that must sign in with a passkey, e.g. "
        "'vertrouwensarts,privacy_officer,admin'; empty: passkeys are optional for everyone.",
    )

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

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: str) -> str:
        """Addresses or networks only, each in the form uvicorn parses (``normalise_proxy``)."""
        items = [item.strip() for item in value.split(",") if item.strip()]
        normalised = []
        for item in items:
            form, problem = normalise_proxy(item)
            if problem is not None:
                raise ValueError(problem)
            normalised.append(form)
        return ",".join(normalised)

    @field_validator("blob_store")
    @classmethod
    def _valid_blob_store(cls, value: str | None) -> str | None:
        if value is None or value in ("", "local"):
            return None
        parse_s3_url(value)  # ValueError names the problem, never the value
        return value

    @field_validator("s3_endpoint")
    @classmethod
    def _valid_endpoint(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("openbao_addr")
    @classmethod
    def _valid_openbao_addr(cls, value: str, info: ValidationInfo) -> str:
        """The token (and every key sent for wrapping) must not cross the network in clear; the
        provider checks again when it opens (``vault keys migrate --to openbao:addr=…``)."""
        if info.data.get("key_provider") != "openbao":
            return value
        problem = openbao_address_problem(value)
        if problem is not None:
            raise ValueError(problem.removeprefix("VAULT_OPENBAO_ADDR "))
        return value

    @field_validator("webauthn_origin")
    @classmethod
    def _valid_origin(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or value.count("/") != 2:
            raise ValueError("must be an origin: scheme://host[:port], no path")
        return value

    @field_validator("passkey_required_roles")
    @classmethod
    def _valid_roles(cls, value: str) -> str:
        from vault.domain import Role

        known = {str(role) for role in Role}
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
        return ",".join(names)

    def insecure_hashing_problem(self, host: str) -> str | None:
        """Why a server listening on ``host`` must not run with these settings' password hashing, or None.

        The test profile hashes every password it sets with trivially cheap parameters. It is allowed
        only for a server that cannot be a deployment: listening on this machine alone and with
        ``cookie_secure`` off (plain HTTP, as the test suite's servers are); anywhere else it is a copied
        test environment file, refused before a port is bound."""
        if self.password_hashing != "fast_insecure_for_tests":  # noqa: S105
            return None
        if _is_loopback(host) and not self.cookie_secure:
            return None
        return (
            "VAULT_PASSWORD_HASHING: fast_insecure_for_tests is for the test suite only and is refused for "
            "a server on a non-loopback address or with VAULT_COOKIE_SECURE on; use rfc9106_low_memory"
        )

    @property
    def passkey_roles(self) -> frozenset[str]:
        """The roles that must sign in with a passkey."""
        return frozenset(name for name in self.passkey_required_roles.split(",") if name)

    @property
    def blob_store_url(self) -> str | None:
        """The object-store URL, or None for the local folder VAULT_HOME/blobs."""
        return self.blob_store

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_key_file(self) -> Path:
        return (self.key_file or self.resolved_home / "keys.json").expanduser().resolve()

    @property
    def resolved_root_key_file(self) -> Path:
        return (self.root_key_file or self.resolved_home / "root.key").expanduser().resolve()

    @property
    def root_key_beside_data(self) -> bool:
        """D18: the file provider's root key lies in VAULT_HOME or beside the SQLite file, so that one
        copy of that folder (a backup, a stolen disk) holds the data and the key that opens it."""
        if self.key_provider != "file":
            return False
        folder = self.resolved_root_key_file.parent
        places = {self.resolved_home}
        if self.url.get_backend_name() == "sqlite" and self.url.database:
            places.add(Path(self.url.database).expanduser().resolve().parent)
        return any(folder == place or place in folder.parents for place in places)

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
        raise settings_error(exc, "VAULT_") from None


def settings_error(exc: ValidationError, prefix: str) -> ConfigError:
    """A settings model's validation error as one line naming the variable (``prefix`` + field) and
    what is wrong with it. Never the input: a URL may carry a password."""
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err["loc"] else "?"
    return ConfigError(f"{prefix}{field.upper()}: {err['msg']}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
