// Dossierkluis: passkeys (WebAuthn). Only what the browser API needs: fetch the options, call
// navigator.credentials, send credential.toJSON() back. No helper library; no inline script (CSP).
(function () {
  "use strict";

  var box = document.querySelector("[data-passkey]");
  if (!box) { return; }
  var status = document.getElementById("passkey-status");
  var csrf = box.getAttribute("data-csrf");
  var registerButton = document.getElementById("passkey-register");
  var signInButton = document.getElementById("passkey-sign-in");

  function say(text) { if (status) { status.textContent = text; } }

  var supported = window.PublicKeyCredential &&
    typeof window.PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof window.PublicKeyCredential.parseRequestOptionsFromJSON === "function";
  if (!supported) {
    say("Deze browser ondersteunt geen passkeys. Gebruik een recente versie van Chrome, Edge, Firefox of Safari.");
    if (registerButton) { registerButton.disabled = true; }
    if (signInButton) { signInButton.disabled = true; }
    return;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.fout || "Er ging iets mis. Probeer het opnieuw."); }
        return data;
      });
    });
  }

  function explain(error) {
    if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      return "Geannuleerd of niet toegestaan. Probeer het opnieuw.";
    }
    if (error && error.name === "InvalidStateError") {
      return "Deze passkey of sleutel is al toegevoegd.";
    }
    return (error && error.message) || "Er ging iets mis. Probeer het opnieuw.";
  }

  // Only ever to a page of this site, whatever the server answered (it checks ``terug`` too).
  function go(next) {
    var target = new URL(next, window.location.href);
    window.location.assign(target.origin === window.location.origin ? target.href : "/");
  }

  function busy(button, on) { button.disabled = on; button.setAttribute("aria-busy", on ? "true" : "false"); }

  if (registerButton) {
    registerButton.addEventListener("click", function () {
      var name = document.getElementById("passkey-name");
      busy(registerButton, true);
      say("Volg de aanwijzingen van uw browser of sleutel…");
      post("/passkeys/registratie/opties").then(function (data) {
        var options = window.PublicKeyCredential.parseCreationOptionsFromJSON(data.options);
        return navigator.credentials.create({ publicKey: options });
      }).then(function (credential) {
        return post("/passkeys/registratie", { credential: credential.toJSON(), naam: name ? name.value : "" });
      }).then(function (data) {
        say("De passkey is toegevoegd.");
        go(data.next);
      }).catch(function (error) {
        say(explain(error));
        busy(registerButton, false);
      });
    });
  }

  if (signInButton) {
    signInButton.addEventListener("click", function () {
      var doel = signInButton.getAttribute("data-doel");
      var terug = signInButton.getAttribute("data-terug");
      busy(signInButton, true);
      say("Volg de aanwijzingen van uw browser of sleutel…");
      post("/passkeys/aanmelden/opties", { doel: doel }).then(function (data) {
        var options = window.PublicKeyCredential.parseRequestOptionsFromJSON(data.options);
        return navigator.credentials.get({ publicKey: options });
      }).then(function (credential) {
        return post("/passkeys/aanmelden", { credential: credential.toJSON(), doel: doel, terug: terug });
      }).then(function (data) {
        // A form that asked for this step-up is sent on with what was typed before it.
        var resume = document.getElementById("step-up-resume");
        if (resume && doel === "step_up") {
          resume.submit();
          return;
        }
        go(data.next);
      }).catch(function (error) {
        say(explain(error));
        busy(signInButton, false);
      });
    });
  }
})();
