"""What the JSON API (``vault.api``) and the web pages (``vault.web``) share: dependencies (the vault,
the caller's session and context), path parameters, error mapping, middleware, streaming bodies and
download responses. Neither entry point imports the other; both import this package."""
