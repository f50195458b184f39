"""The audit log: append (``log.record``), its queries (``queries``), the chain walk, signed checkpoints
(``note``, ``checkpoints``), full verification (``verification``) and proofs (``merkle``, ``proofs``)."""

from vault.audit.log import record

__all__ = ["record"]
