"""The ``vault`` command line (Typer). Thin: parse, build a context, call a service."""
