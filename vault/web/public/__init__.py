"""The public intake pages (no account): report and advice forms with a quick exit. See docs/intake.md."""

from __future__ import annotations

from vault.web.public.routes import router

__all__ = ["router"]
