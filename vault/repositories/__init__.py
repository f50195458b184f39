"""Repositories: all SQL of the vault, one module per area."""
