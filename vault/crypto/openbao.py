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

The transit key is checked when the provider is opened and on every `reload`: type ``aes256-gcm96``,
``derived`` (without derivation OpenBao ignores the context, and case A's wrapped key opens as case B's),
not ``exportable`` and no ``allow_plaintext_backup`` (the KEKs never leave the engine). A key that
falls short is refused (`ConfigError` at start-up, `Unavailable` on reload), never adopted.

Transport: ``httpx`` with environment proxies ignored and no redirects followed. ``http://`` is refused
unless the host is a loopback address (127.0.0.0/8, ``::1``, ``localhost``): the token and every key
sent for wrapping would cross the network in clear. An address carrying ``user:password@`` is refused
and never echoed. Any connection failure, timeout, 5xx, refused token, or answer that is not the JSON
object expected (a proxy's HTML page, ``data`` of the wrong type) is `Unavailable`; only a ciphertext
the engine rejects (its 4xx, or an error for the item in a batch) is `Integrity`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

import httpx

from vault.config import openbao_address_problem as address_problem
from vault.crypto.keys import RewrapItem, WrappedKey, length_prefixed, provider_error
from vault.errors import Conflict, Integrity, NotFound, Unavailable

__all__ = ["OpenBaoKeyProvider"]

_KIND = "openbao"
_CONTEXT_LABEL = b"vault/wrap/v1"
_CIPHERTEXT_RE = re.compile(rb"^vault:v([1-9][0-9]{0,8}):[A-Za-z0-9+/=]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_BATCH = 100  # OpenBao refuses JSON with too many strings (1,000 items was refused)
_GARBLED = "the key provider answered unexpectedly; nothing was stored or disclosed"
# What the vault's own `create_version` asks for; a transit key found otherwise is refused.
_REQUIRED_KEY = {
    "type": "aes256-gcm96",
    "derived": True,
    "exportable": False,
    "allow_plaintext_backup": False,
}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _context(purpose: str, context_id: str) -> str:
    return _b64(_CONTEXT_LABEL + length_prefixed(purpose.encode(), context_id.encode()))


def _shown(addr: str) -> str:
    """``scheme://host[:port]`` of a checked address: what messages and ``describe`` show."""
    url = httpx.URL(addr)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}" + (f":{url.port}" if url.port is not None else "")


def _shown_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)[:40]


def _key_problem(info: dict[str, Any]) -> str | None:
    """What makes a transit key unfit to hold the vault's KEKs, or None."""
    wrong = [
        f"{name}={_shown_value(info.get(name))}"
        for name, wanted in _REQUIRED_KEY.items()
        # bool is an int: ``1 == True``, so the type is compared too
        if info.get(name) != wanted or type(info.get(name)) is not type(wanted)
    ]
    if not wrong:
        return None
    return (
        f"has {', '.join(wrong)}; the vault needs type aes256-gcm96, derived=true, exportable=false, "
        "allow_plaintext_backup=false: let `vault init` or `vault keys migrate --to openbao:key=<new name>` "
        "create a new key"
    )


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
        return f"OpenBaoKeyProvider(addr={_shown(self._addr)!r}, key={self._mount}/{self._key}, token=***)"

    __str__ = __repr__

    @classmethod
    def open(
        cls, *, addr: str, token: str, mount: str, key: str, create: bool = False, timeout: float = 10.0
    ) -> OpenBaoKeyProvider:
        """Connect and check the token and the transit key (absent is allowed only with ``create``;
        present, it must have the properties the vault creates it with). The address is checked
        before anything is sent."""
        problem = address_problem(addr)
        if problem is not None:
            raise provider_error(_KIND, problem)
        if not _NAME_RE.match(mount) or not _NAME_RE.match(key):
            raise provider_error(
                _KIND, "the transit mount and key name may hold only letters, digits, '.', '_', '-'"
            )
        if not token or not all("!" <= c <= "~" for c in token):  # K20: never a piece of the token
            raise provider_error(
                _KIND, "VAULT_OPENBAO_TOKEN is not a valid token (printable ASCII without spaces only)"
            )
        shown = _shown(addr)
        client = httpx.Client(
            base_url=addr.rstrip("/"),
            headers={"X-Vault-Token": token},
            timeout=timeout,
            trust_env=False,
            follow_redirects=False,
        )
        provider = cls(client, addr, mount, key)
        try:
            response = client.get("/v1/auth/token/lookup-self")
            if response.status_code in (401, 403):
                raise provider_error(_KIND, "OpenBao refused the token (VAULT_OPENBAO_TOKEN)")
            if response.status_code != 200:
                raise provider_error(_KIND, f"OpenBao at {shown} answered {response.status_code}")
            info = provider._key_info()
            if info is None and not create:
                raise provider_error(_KIND, f"the transit key {mount}/{key} does not exist; run `vault init`")
            refusal = None if info is None else provider._key_refusal(info)
            if refusal is not None:
                raise provider_error(_KIND, refusal)
        except httpx.HTTPError as exc:
            client.close()
            raise provider_error(
                _KIND, f"OpenBao at {shown} cannot be reached ({type(exc).__name__})"
            ) from None
        except (Unavailable, _Refused):
            client.close()
            raise provider_error(_KIND, f"OpenBao at {shown} did not answer as expected") from None
        except BaseException:
            client.close()
            raise
        return provider

    def _key_refusal(self, info: dict[str, Any]) -> str | None:
        """Why the transit key may not be used (named, with the fix), or None. A mangled version list
        is `Unavailable`."""
        problem = _key_problem(info)
        self._versions_of(info)
        return None if problem is None else f"the transit key {self._mount}/{self._key} {problem}"

    # -- HTTP ---------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON object OpenBao answered ({} for an empty 200/204). `_Refused` on 400/404;
        `Unavailable` on a transport failure, any other status, or a body that is not a JSON object."""
        try:
            response = self._client.request(method, f"/v1/{self._mount}/{path}", json=body)
        except httpx.HTTPError:
            raise Unavailable("the key provider is unavailable; nothing was disclosed") from None
        if response.status_code in (200, 204):
            if not response.content:
                return {}
            try:
                doc: Any = response.json()
            except ValueError:  # not JSON, not UTF-8: a proxy's error page, a truncated answer
                raise Unavailable(_GARBLED) from None
            if not isinstance(doc, dict):
                raise Unavailable(_GARBLED)
            return doc
        if response.status_code in (400, 404):
            raise _Refused()
        raise Unavailable("the key provider is unavailable; nothing was disclosed")

    @staticmethod
    def _data(doc: dict[str, Any]) -> dict[str, Any]:
        data = doc.get("data")
        if not isinstance(data, dict):
            raise Unavailable(_GARBLED)
        return data

    def _key_info(self) -> dict[str, Any] | None:
        """The transit key's configuration; None only when OpenBao says it does not exist."""
        try:
            doc = self._call("GET", f"keys/{self._key}")
        except _Refused:
            return None
        return self._data(doc)

    def _batch(self, op: str, items: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for start in range(0, len(items), _BATCH):
            try:
                doc = self._call(
                    "POST", f"{op}/{self._key}", {"batch_input": items[start : start + _BATCH], **extra}
                )
            except _Refused:
                raise Integrity() from None
            batch = self._data(doc).get("batch_results")
            if not isinstance(batch, list) or len(batch) != len(items[start : start + _BATCH]):
                raise Unavailable(_GARBLED)
            for result in batch:
                if not isinstance(result, dict):
                    raise Unavailable(_GARBLED)
                if result.get("error"):
                    raise Integrity()  # the engine refused this item: altered or misbound
                results.append(result)
        return results

    # -- KekProvider --------------------------------------------------------------------------------

    def describe(self) -> str:
        return f"openbao:{_shown(self._addr)} key={self._mount}/{self._key}"

    def versions(self) -> list[int]:
        info = self._key_info()
        return [] if info is None else self._versions_of(info)

    @staticmethod
    def _versions_of(info: dict[str, Any]) -> list[int]:
        try:
            floor = max(
                int(info.get("min_decryption_version") or 1), int(info.get("min_available_version") or 0)
            )
            keys = info.get("keys", {})
            if not isinstance(keys, dict):
                raise TypeError("keys is not an object")
            return sorted(v for v in (int(k) for k in keys) if v >= floor)
        except (TypeError, ValueError):
            raise Unavailable(_GARBLED) from None

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
        latest = self._int_field(info or {}, "latest_version", 1) or 1
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

    def _trim_below(self, floor: int, latest: int, min_decryption: int | None = None) -> None:
        try:
            self._call(
                "POST",
                f"keys/{self._key}/config",
                {
                    "min_decryption_version": min_decryption or floor,
                    "min_encryption_version": latest,
                    "deletion_allowed": False,
                },
            )
            self._call("POST", f"keys/{self._key}/trim", {"min_available_version": floor})
        except _Refused:
            raise Unavailable("OpenBao refused to destroy the key version") from None

    @staticmethod
    def _int_field(info: dict[str, Any], name: str, default: int) -> int:
        value = info.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise Unavailable(_GARBLED)
        try:
            number = int(value)
        except ValueError:
            raise Unavailable(_GARBLED) from None
        if not 0 <= number < 2**31:
            raise Unavailable(_GARBLED)
        return number

    def material_versions(self) -> list[int]:
        """The versions whose key material OpenBao still stores: every version from
        ``min_available_version`` (what ``trim`` deleted lies below) up to the latest. A version only
        hidden by ``min_decryption_version`` is here: anyone with transit admin rights can show it
        again, so it is not destroyed (D12)."""
        info = self._key_info()
        if info is None:
            return []
        latest = self._int_field(info, "latest_version", 0)
        return list(range(max(self._int_field(info, "min_available_version", 0), 1), latest + 1))

    def destroy_version(self, version: int) -> None:
        """Destroy ``version`` for good: hide it (``min_decryption_version``) and ``trim`` it. Idempotent:
        a version a run interrupted between the two calls left hidden but stored is trimmed now. The
        result is read back; a version still stored afterwards is `Unavailable`."""
        info = self._key_info()
        material = self.material_versions() if info is not None else []
        if info is None or version not in material:
            raise NotFound("no such KEK version")
        if version != min(material):
            raise Conflict("OpenBao destroys KEK versions oldest first; destroy the older ones before")
        latest = max(material)
        hidden = max(self._int_field(info, "min_decryption_version", 1), version + 1)
        self._trim_below(version + 1, latest, hidden)
        if version in self.material_versions():
            raise Unavailable("OpenBao did not destroy the key version; run the command again")

    def wrap(self, key: bytes, *, purpose: str, context_id: str, version: int) -> WrappedKey:
        item = {"plaintext": _b64(key), "context": _context(purpose, context_id)}
        try:
            (result,) = self._batch("encrypt", [item], key_version=version)
        except Integrity:
            raise NotFound("no such KEK version") from None
        return self._wrapped(result)

    @staticmethod
    def _wrapped(result: dict[str, Any]) -> WrappedKey:
        text = result.get("ciphertext")
        match = _CIPHERTEXT_RE.match(text.encode("ascii", "replace")) if isinstance(text, str) else None
        if match is None:
            raise Unavailable(_GARBLED)
        blob = match.group(0)
        return WrappedKey(int(match.group(1)), blob)

    def unwrap(self, wrapped: WrappedKey, *, purpose: str, context_id: str) -> bytes:
        (raw,) = self.unwrap_many([RewrapItem(wrapped, purpose, context_id)])
        return raw

    def unwrap_many(self, items: Sequence[RewrapItem]) -> list[bytes]:
        batch = [
            {"ciphertext": self._checked(i.wrapped), "context": _context(i.purpose, i.context_id)}
            for i in items
        ]
        results = self._batch("decrypt", batch)  # Integrity when the engine refuses an item
        try:
            return [base64.b64decode(r["plaintext"], validate=True) for r in results]
        except (KeyError, ValueError, TypeError):  # a "success" without a usable plaintext
            raise Unavailable(_GARBLED) from None

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
            raise Unavailable(_GARBLED)
        return out

    def reload(self) -> None:
        """Check the transit key again (every call asks OpenBao, which holds the versions): a key
        made exportable or backed-up-in-plaintext since start-up is refused (`Unavailable`)."""
        info = self._key_info()
        if info is None:
            raise Unavailable(f"the transit key {self._mount}/{self._key} is gone; nothing was disclosed")
        refusal = self._key_refusal(info)
        if refusal is not None:
            raise Unavailable(f"{refusal}; nothing was stored or disclosed")

    def close(self) -> None:
        self._client.close()
