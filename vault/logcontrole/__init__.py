"""Logcontrole (D21, NEN 7513): the daily automatic review of every access in the audit log.

Detectors read ids, pseudonyms and keyed blind indexes only; no dossier is decrypted to review
access to it. See docs/audit.md, "Logcontrole".
"""
