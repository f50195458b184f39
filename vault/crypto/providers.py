"""Choosing and opening a KEK provider: ``file``, ``pkcs11`` or ``openbao`` (``VAULT_KEY_PROVIDER``).

A `ProviderSpec` carries what a provider needs; settings build one (`vault.config`), and
``vault keys migrate --to KIND[:k=v;k=v]`` overrides its non-secret parts (`parse_target`). Secrets (the
PKCS#11 PIN, the OpenBao token) come only from the environment, never from a command line.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from vault.crypto.filekeys import FileKeyProvider, read_root_key, write_root_key
from vault.crypto.keys import KEY_SIZE, KekProvider, SecretKey, provider_error
from vault.errors import InvalidInput

__all__ = ["ProviderKind", "ProviderSpec", "open_provider", "parse_target"]

ProviderKind = Literal["file", "pkcs11", "openbao"]
_KINDS: tuple[ProviderKind, ...] = ("file", "pkcs11", "openbao")
_OVERRIDES = {
    "file": {"path": "key_file", "root": "root_key_file"},
    "pkcs11": {"module": "module", "token": "token_label", "label": "key_label"},
    "openbao": {"addr": "addr", "mount": "mount", "key": "key_name"},
}


@dataclass(frozen=True)
class ProviderSpec:
    kind: ProviderKind
    key_file: Path = Path("keys.json")
    root_key_file: Path = Path("root.key")
    module: str = "/usr/lib/softhsm/libsofthsm2.so"
    token_label: str = "vault"  # noqa: S105 (a label, not a secret)
    pin: str | None = field(default=None, repr=False)
    key_label: str = "vault-kek"
    addr: str = "http://127.0.0.1:8200"
    token: str | None = field(default=None, repr=False)
    mount: str = "transit"
    key_name: str = "vault-kek"

    def describe(self) -> str:
        if self.kind == "file":
            return f"file:{self.key_file}"
        if self.kind == "pkcs11":
            return f"pkcs11:token={self.token_label};label={self.key_label}"
        return f"openbao:{self.addr} key={self.mount}/{self.key_name}"


def parse_target(text: str, base: ProviderSpec) -> ProviderSpec:
    """``file:/path/keys.json``, ``file:path=…;root=…``, ``pkcs11:token=…;label=…;module=…``,
    ``openbao:addr=…;mount=…;key=…`` → a spec with those parts replaced. Unknown parts are refused."""
    kind, _, rest = text.partition(":")
    if kind not in _KINDS:
        raise InvalidInput("--to must start with file:, pkcs11: or openbao:")
    allowed = _OVERRIDES[kind]
    changes: dict[str, object] = {"kind": kind}
    if kind == "file" and rest and "=" not in rest:
        rest = f"path={rest}"
    for part in filter(None, rest.split(";")):
        name, sep, value = part.partition("=")
        if not sep or name not in allowed or not value:
            raise InvalidInput(f"--to {kind}: takes only {', '.join(sorted(allowed))} (name=value;…)")
        target = allowed[name]
        changes[target] = Path(value).expanduser().resolve() if target.endswith("_file") else value
    return replace(base, **changes)  # type: ignore[arg-type]


def _open_file(spec: ProviderSpec, create_version: int | None, allow_empty: bool) -> FileKeyProvider:
    key_file, root_file = spec.key_file, spec.root_key_file
    if (create_version is not None or allow_empty) and not key_file.exists():
        if root_file.exists():
            root = read_root_key(root_file)
        else:
            root = SecretKey(secrets.token_bytes(KEY_SIZE))
            write_root_key(root_file, root)
        return FileKeyProvider.create(key_file, root, first_version=create_version, root_file=root_file)
    return FileKeyProvider.open(key_file, read_root_key(root_file), root_file=root_file)


def open_provider(
    spec: ProviderSpec, *, create_version: int | None = None, allow_empty: bool = False
) -> KekProvider:
    """Open the provider; when it holds no KEK and ``create_version`` is given, create that version.
    ``allow_empty`` (the target of a migration): an empty provider is fine, its first version comes later.

    Every failure is one ``ConfigError`` line naming VAULT_KEY_PROVIDER, with no secret in it."""
    provider: KekProvider
    if spec.kind == "file":
        provider = _open_file(spec, create_version, allow_empty)
    elif spec.kind == "pkcs11":
        if not spec.pin:
            raise provider_error("pkcs11", "VAULT_PKCS11_PIN is not set")
        from vault.crypto.pkcs11 import Pkcs11KeyProvider

        provider = Pkcs11KeyProvider.open(
            module=spec.module, token_label=spec.token_label, pin=spec.pin, key_label=spec.key_label
        )
    else:
        if not spec.token:
            raise provider_error("openbao", "VAULT_OPENBAO_TOKEN is not set")
        from vault.crypto.openbao import OpenBaoKeyProvider

        provider = OpenBaoKeyProvider.open(
            addr=spec.addr,
            token=spec.token,
            mount=spec.mount,
            key=spec.key_name,
            create=create_version is not None or allow_empty,
        )
    if not provider.versions() and not allow_empty:
        if create_version is None:
            provider.close()
            raise provider_error(spec.kind, "holds no key-encryption key for this vault; run `vault init`")
        provider.create_version(create_version)
    return provider
