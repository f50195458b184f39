"""The public forms' messages (D5): Dutch, each ending with the phone number and 112, never naming
what the person typed. ``MESSAGES`` by the reason code the page's script receives."""

from __future__ import annotations

__all__ = ["MESSAGES", "PHONE", "SERVICE_PROBLEM"]

PHONE = "0800-2000"
_CALL = f"Bel Veilig Thuis gratis op {PHONE}, dag en nacht bereikbaar. Bij acuut gevaar: bel 112."
# The page renews the check after every refusal: sending again loses nothing (a reload would).
_CHECK_FAILED = (
    "De beveiligingscontrole van het formulier is niet gelukt. Verstuur het formulier nog eens; wat u "
    f"heeft ingevuld, blijft staan. {_CALL}"
)
MESSAGES = {
    "rate_limited": "Er zijn vanaf uw verbinding te veel formulieren verstuurd. "
    f"Probeer het over {{wait}} opnieuw. {_CALL}",
    "pow_harder": "Vanaf uw verbinding zijn het afgelopen uur veel formulieren verstuurd. Daarom vraagt de "
    "beveiligingscontrole nu meer rekenwerk van uw apparaat. Verstuur het formulier nog eens; dat kan "
    f"even duren. {_CALL}",
    "honeypot": f"Uw formulier kon niet worden verstuurd. {_CALL}",
    "pow_missing": _CHECK_FAILED,
    "pow_invalid": _CHECK_FAILED,
    "pow_wrong": _CHECK_FAILED,
    "pow_expired": "Het formulier stond te lang open. Verstuur het nog eens. " + _CALL,
    "pow_received": "Uw formulier was al goed ontvangen; het is niet nog een keer opgeslagen. Wilt u "
    f"nog iets doorgeven? {_CALL}",
    "pow_received_no_attachment": "Uw formulier was al ontvangen, maar de bijlage niet. Het formulier is "
    "niet nog een keer opgeslagen en de bijlage kan niet meer worden toegevoegd. Wilt u de bijlage toch "
    f"doorgeven? Noem uw referentienummer als u ons belt. {_CALL}",
    "pow_replayed": "Dit formulier is al eens verstuurd. Wilt u nog iets doorgeven? "
    f"Laad de pagina opnieuw. {_CALL}",
    "too_large": "Uw formulier met bijlage is te groot (maximaal {limit} MB). Kies een kleiner bestand "
    f"of verstuur het formulier zonder bijlage. {_CALL}",
    "invalid": f"Uw formulier kon niet worden gelezen. Laad de pagina opnieuw. {_CALL}",
    "timeout": "Het versturen duurde te lang, of de verbinding viel weg. Er is niets ontvangen. "
    f"Verstuur het formulier nog eens; wat u heeft ingevuld, blijft staan. {_CALL}",
    # Said instead of "invalid" when the answers name what to fix (reloading would empty the form).
    "check_answers": "Controleer het formulier. Pas aan wat hieronder staat; wat u al heeft ingevuld, "
    f"blijft staan. {_CALL}",
    "unavailable": f"Het formulier werkt op dit moment niet. {_CALL}",
    "origin": f"Dit formulier kan alleen vanaf de website van Veilig Thuis worden verstuurd. {_CALL}",
}
SERVICE_PROBLEM = (
    "Een naam, datum of adres kon niet worden verwerkt. Controleer wat u heeft ingevuld, "
    "of laat een gegeven dat u niet zeker weet leeg."
)
