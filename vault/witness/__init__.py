"""A checkpoint witness (C2SP tlog-witness) and the vault's side of asking witnesses to cosign.

``state`` and ``keys`` are the witness's own files in its own directory; ``app`` is its HTTP service
(``vault witness serve``); ``client`` is the vault asking its configured witnesses after a checkpoint.
"""
