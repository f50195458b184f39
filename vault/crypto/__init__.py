"""The vault's cryptography: the only package that imports ``cryptography``.

- `keys`: the KEK provider protocol, the keyring `Keys` (KEK epochs, wrapped purpose subkeys),
  `SecretKey`, `WrappedKey`.
- `filekeys`, `pkcs11`, `openbao`: the key providers (key file + root key, HSM, OpenBao transit);
  `providers` chooses and opens one; `recovery`: SLIP-39 M-of-N shares of the root key.
- `envelope`: per-case data keys (DEKs), wrapped under the KEK.
- `stream`: the segmented streaming AEAD format for documents.
- `fields`: encryption of personal fields bound to their table, column and row.
- `index`: normalisation, keyed blind indexes (D19) and client pseudonyms (D3).

The byte-level formats are specified in docs/format.md.
"""
