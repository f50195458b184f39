"""The OpenBao / HashiCorp Vault transit key provider, over the HTTP API.

One transit key (type ``aes256-gcm96``, ``derived``, not exportable) holds the KEK versions: a vault KEK
version *is* the transit key version. A key is wrapped with ``encrypt`` under an explicit
``key_version``; the *derivation context* is ``b"vault/wrap/v1" ‖ lp(purpose) ‖ lp(case id)``, so the
transit engine uses a key derived for that purpose and case, and a wrapped key presented for another one
does not open (transit ignores ``associated_data`` in ``rewrap``, which is why the binding is the
context). The KEK version is the ``vault:v<N>:`` prefix of the ciphertext and is checked against the
stored version. Rotation uses ``rotate``; rewrapping uses ``rewrap`` with ``batch_input`` (the key never
leaves the engine); destroying version v raises ``min_decryption_version`` past it and ``trim``s it, so
versions are destroyed oldest first.

Transport: ``httpx`` with environment proxies ignored; any connection failure, timeout, 5xx or refused
token during a request is `Unavailable`; a ciphertext the engine rejects is `Integrity`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

import httpx

from vault.crypto.keys import RewrapItem, WrappedKey, length_prefixed, provider_error
from vault.errors import Conflict, Integrity, NotFound, Unavailable

__all__ = ["OpenBaoKeyProvider"]

_KIND = "openbao"
_CONTEXT_LABEL = b"vault/wrap/v1"
_CIPHERTEXT_RE = re.compile(rb"^vault:v([1-9][0-9]{0,8}):[A-Za-z0-9+/=]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_BATCH = 100  # OpenBao refuses JSON with too many strings (1,000 items was refused)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _context(purpose: str, context_id: str) -> str:
    return _b64(_CONTEXT_LABEL + length_prefixed(purpose.encode(), context_id.encode()))


class _Refused(Exception):
    """The engine answered 4xx for a ciphertext or parameter (not a transport failure)."""


class OpenBaoKeyProvider:
    """KEK versions as the versions of one OpenBao transit key."""

    kind = _KIND

    def __init__(self, client: httpx.Client, addr: str, mount: str, key: str) -> None:
        self._client = client
        self._addr = addr
        self._mount = mount
        self._key = key

    def __repr__(self) -> str:
        return f"OpenBaoKeyProvider(addr={self._addr!r}, key={self._mount}/{self._key}, token=***)"

    __str__ = __repr__

    @classmethod
    def open(
        cls, *, addr: str, token: str, mount: str, key: str, create: bool = False, timeout: float = 10.0
    ) -> OpenBaoKeyProvider:
        """Connect and check the token and the transit key (absent is allowed only with ``create``)."""
        if not addr.startswith(("http://", "https://")):
            raise provider_error(_KIND, "VAULT_OPENBAO_ADDR must be an http:// or https:// URL")
        if not _NAME_RE.match(mount) or not _NAME_RE.match(key):
            raise provider_error(
                _KIND, "the transit mount and key name may hold only letters, digits, '.', '_', '-'"
            )
        client = httpx.Client(
            base_url=addr.rstrip("/"),
            headers={"X-Vault-Token": token},
            timeout=timeout,
            trust_env=False,
        )
        provider = cls(client, addr, mount, key)
        try:
            response = client.get("/v1/auth/token/lookup-self")
            if response.status_code in (401, 403):
                raise provider_error(_KIND, "OpenBao refused the token (VAULT_OPENBAO_TOKEN)")
            if response.status_code != 200:
                raise provider_error(_KIND, f"OpenBao at {addr} answered {response.status_code}")
            if provider._key_info() is None and not create:
                raise provider_error(_KIND, f"the transit key {mount}/{key} does not exist; run `vault init`")
        except httpx.HTTPError as exc:
            client.close()
            raise provider_error(
                _KIND, f"OpenBao at {addr} cannot be reached ({type(exc).__name__})"
            ) from None
        except (Unavailable, _Refused):
            client.close()
            raise provider_error(_KIND, f"OpenBao at {addr} did not answer as expected") from None
        except BaseException:
            client.close()
            raise
        return provider

    # -- HTTP ---------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._client.request(method, f"/v1/{self._mount}/{path}", json=body)
        except httpx.HTTPError:
            raise Unavailable("the key provider is unavailable; nothing was disclosed") from None
        if response.status_code in (200, 204):
            if not response.content:
                return {}
            doc: Any = response.json()
            return doc if isinstance(doc, dict) else {}
        if response.status_code in (400, 404):
            raise _Refused()
        raise Unavailable("the key provider is unavailable; nothing was disclosed")

    def _key_info(self) -> dict[str, Any] | None:
        try:
            data = self._call("GET", f"keys/{self._key}").get("data")
        except _Refused:
            return None
        return data if isinstance(data, dict) else None

    def _batch(self, op: str, items: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for start in range(0, len(items), _BATCH):
            try:
                doc = self._call(
                    "POST", f"{op}/{self._key}", {"batch_input": items[start : start + _BATCH], **extra}
                )
            except _Refused:
                raise Integrity() from None
            batch = doc.get("data", {}).get("batch_results")
            if not isinstance(batch, list) or len(batch) != len(items[start : start + _BATCH]):
                raise Unavailable("the key provider answered unexpectedly; nothing was disclosed")
            for result in batch:
                if not isinstance(result, dict) or result.get("error"):
                    raise Integrity()
                results.append(result)
        return results

    # -- KekProvider --------------------------------------------------------------------------------

    def describe(self) -> str:
        return f"openbao:{self._addr} key={self._mount}/{self._key}"

    def versions(self) -> list[int]:
        info = self._key_info()
        if info is None:
            return []
        floor = max(int(info.get("min_decryption_version") or 1), int(info.get("min_available_version") or 0))
        return sorted(v for v in (int(k) for k in info.get("keys", {})) if v >= floor)

    def create_version(self, version: int) -> None:
        info = self._key_info()
        fresh = info is None
        if fresh:
            try:
                self._call(
                    "POST",
                    f"keys/{self._key}",
                    {
                        "type": "aes256-gcm96",
                        "derived": True,
                        "exportable": False,
                        "allow_plaintext_backup": False,
                    },
                )
            except _Refused:
                raise Unavailable("OpenBao refused to create the transit key") from None
            info = self._key_info() or {}
        latest = int((info or {}).get("latest_version") or 1)
        if version in self.versions() and not (fresh and version == 1):
            raise Conflict("that KEK version exists already")
        if version < latest:
            raise Conflict("OpenBao transit versions only grow")
        while latest < version:
            self._call("POST", f"keys/{self._key}/rotate")
            latest += 1
        if fresh and version > 1:
            # A key created for a migration starts at the vault's next version: drop the fillers.
            self._trim_below(version, latest)

    def _trim_below(self, floor: int, latest: int) -> None:
        try:
            self._call(
                "POST",
                f"keys/{self._key}/config",
                {
                    "min_decryption_version": floor,
                    "min_encryption_version": latest,
                    "deletion_allowed": False,
                },
            )
            self._call("POST", f"keys/{self._key}/trim", {"min_available_version": floor})
        except _Refused:
            raise Unavailable("OpenBao refused to destroy the key version") from None

    def destroy_version(self, version: int) -> None:
        live = self.versions()
        if version not in live:
            raise NotFound("no such KEK version")
        if version != min(live):
            raise Conflict("OpenBao destroys KEK versions oldest first; destroy the older ones before")
        self._trim_below(version + 1, max(live))

    def wrap(self, key: bytes, *, purpose: str, context_id: str, version: int) -> WrappedKey:
        item = {"plaintext": _b64(key), "context": _context(purpose, context_id)}
        try:
            (result,) = self._batch("encrypt", [item], key_version=version)
        except Integrity:
            raise NotFound("no such KEK version") from None
        return self._wrapped(result)

    @staticmethod
    def _wrapped(result: dict[str, Any]) -> WrappedKey:
        blob = str(result.get("ciphertext", "")).encode("ascii")
        match = _CIPHERTEXT_RE.match(blob)
        if match is None:
            raise Unavailable("the key provider answered unexpectedly; nothing was disclosed")
        return WrappedKey(int(match.group(1)), blob)

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes:
        (raw,) = self.unwrap_many([RewrapItem(wrapped, purpose, context_id)])
        return raw

    def unwrap_many(self, items: Sequence[RewrapItem]) -> list[bytes]:
        batch = [
            {"ciphertext": self._checked(i.wrapped), "context": _context(i.purpose, i.context_id)}
            for i in items
        ]
        try:
            return [base64.b64decode(r["plaintext"], validate=True) for r in self._batch("decrypt", batch)]
        except (KeyError, ValueError, TypeError):
            raise Integrity() from None

    def wrap_many(self, keys: Sequence[tuple[bytes, str, str]], version: int) -> list[WrappedKey]:
        batch = [{"plaintext": _b64(k), "context": _context(p, c)} for k, p, c in keys]
        return [self._wrapped(r) for r in self._batch("encrypt", batch, key_version=version)]

    @staticmethod
    def _checked(wrapped: WrappedKey) -> str:
        match = _CIPHERTEXT_RE.match(wrapped.blob)
        if match is None or int(match.group(1)) != wrapped.version:
            raise Integrity()
        return wrapped.blob.decode("ascii")

    def rewrap_many(self, items: Sequence[RewrapItem], version: int) -> list[WrappedKey]:
        batch = [
            {"ciphertext": self._checked(i.wrapped), "context": _context(i.purpose, i.context_id)}
            for i in items
        ]
        out = [self._wrapped(r) for r in self._batch("rewrap", batch, key_version=version)]
        if any(w.version != version for w in out):
            raise Unavailable("the key provider answered unexpectedly; nothing was disclosed")
        return out

    def reload(self) -> None:
        """Nothing to do: every call asks OpenBao, which holds the versions."""
        return None

    def close(self) -> None:
        self._client.close()
