"""Dossier vault for a Veilig Thuis organisation."""

__version__ = "0.1.0"
