"""Use cases. Services take a ``Context`` and a ``Session``; they flush, never commit."""
