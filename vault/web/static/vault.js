// Dossierkluis: the only script. Two small jobs, both optional (every page works without script):
// 1. warn before the session ends for inactivity, and offer to stay logged in;
// 2. upload a document with a progress bar (raw body, CSRF header); without script the form posts.
(function () {
  "use strict";

  function idleWarning() {
    var meta = document.querySelector('meta[name="vault-idle-seconds"]');
    var box = document.getElementById("idle-warning");
    if (!meta || !box) { return; }
    var seconds = parseInt(meta.getAttribute("content"), 10);
    if (!(seconds > 0)) { return; }
    var stay = document.getElementById("idle-stay");
    var left = document.getElementById("idle-left");
    var deadline, warnTimer, endTimer, tick;

    function minutesText(ms) {
      var s = Math.max(0, Math.round(ms / 1000));
      if (s >= 90) { return Math.round(s / 60) + " minuten"; }
      if (s >= 60) { return "1 minuut"; }
      return s + " seconden";
    }
    function show() {
      box.hidden = false;
      left.textContent = minutesText(deadline - Date.now());
      tick = window.setInterval(function () { left.textContent = minutesText(deadline - Date.now()); }, 1000);
      stay.focus();
    }
    function end() {
      window.location.assign("/login?reden=verlopen");
    }
    function start(total) {
      window.clearTimeout(warnTimer); window.clearTimeout(endTimer); window.clearInterval(tick);
      box.hidden = true;
      deadline = Date.now() + total * 1000;
      warnTimer = window.setTimeout(show, Math.max(0, (total - 120) * 1000));
      endTimer = window.setTimeout(end, total * 1000);
    }
    stay.addEventListener("click", function () {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", "/sessie/verleng");
      xhr.onload = function () {
        if (xhr.status === 204) { start(seconds); } else { end(); }
      };
      xhr.onerror = end;
      xhr.send();
    });
    start(seconds);
  }

  function upload() {
    var form = document.getElementById("upload-form");
    if (!form || !window.XMLHttpRequest || !window.FormData || !("upload" in new XMLHttpRequest())) { return; }
    var status = form.querySelector(".upload-status");
    var bar = form.querySelector("progress");
    var barBox = form.querySelector(".upload-progress");
    var button = form.querySelector('button[type="submit"]');
    var messages = {
      400: "Het bestand of de gegevens zijn niet geldig, of het bestand is te groot.",
      401: "U bent niet meer aangemeld. Meld u opnieuw aan.",
      403: "U mag in deze categorie geen document toevoegen, of het formulier is verlopen. Laad de pagina opnieuw.",
      404: "Deze zaak bestaat niet of u heeft er geen toegang toe.",
      413: "Het bestand is te groot.",
      507: "Het document is niet opgeslagen: de opslag van de dossierkluis is bijna vol. Neem contact op met de beheerder en probeer het later opnieuw."
    };
    form.addEventListener("submit", function (event) {
      var file = form.elements.file.files[0];
      if (!file) { return; }
      var limit = parseInt(form.getAttribute("data-max-bytes"), 10);
      event.preventDefault();
      if (limit > 0 && file.size > limit) { status.textContent = messages[413]; return; }
      if (file.size === 0) { status.textContent = "Het bestand is leeg. Kies een bestand met inhoud."; return; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("X-CSRF-Token", form.elements.csrf_token.value);
      xhr.setRequestHeader("X-Document-Category", form.elements.category.value);
      xhr.setRequestHeader("X-Document-Title", encodeURIComponent(form.elements.title.value));
      xhr.setRequestHeader("X-Document-Filename", encodeURIComponent(file.name));
      xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.round(100 * e.loaded / e.total);
          bar.value = pct;
          status.textContent = "Bezig met uploaden: " + pct + "%";
        }
      });
      xhr.onload = function () {
        button.disabled = false;
        if (xhr.status === 201) {
          bar.value = 100;
          status.textContent = "Het document is versleuteld opgeslagen.";
          var next = "";
          try { next = JSON.parse(xhr.responseText).next; } catch (err) { next = ""; }
          // The server names the page to show next, with its confirmation (?melding=…); a target that
          // differs only in its #fragment would not load again by itself, so reload it then.
          var target = next && next.charAt(0) === "/" ? next : window.location.pathname + "#documenten";
          var here = window.location.pathname + window.location.search;
          window.location.assign(target);
          if (target.split("#")[0] === here) { window.location.reload(); }
        } else {
          barBox.hidden = true;
          status.textContent = messages[xhr.status] || "Het uploaden is mislukt. Er is niets opgeslagen.";
        }
      };
      xhr.onerror = function () {
        button.disabled = false;
        barBox.hidden = true;
        status.textContent = "De verbinding is verbroken. Er is niets opgeslagen; probeer het opnieuw.";
      };
      button.disabled = true;
      barBox.hidden = false;
      bar.value = 0;
      status.textContent = "Bezig met uploaden…";
      xhr.send(file);
    });
  }

  idleWarning();
  upload();
}());
