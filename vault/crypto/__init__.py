"""The vault's cryptography: the only package that imports ``cryptography``.

- `keys`: key providers (versioned KEKs, purpose subkeys), `SecretKey`, `WrappedKey`.
- `envelope`: per-case data keys (DEKs), wrapped under the KEK.
- `stream`: the segmented streaming AEAD format for documents.
- `fields`: encryption of personal fields bound to their table, column and row.
- `index`: normalisation, keyed blind indexes (D19) and client pseudonyms (D3).

The byte-level formats are specified in docs/format.md.
"""
