"""The audit log: append (``record``), verify the chain, and (``merkle``/``checkpoint``) prove."""

from vault.audit.log import record
from vault.audit.verify import ChainReport, verify_chain

__all__ = ["ChainReport", "record", "verify_chain"]
