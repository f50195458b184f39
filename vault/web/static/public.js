/* Public intake pages: quick exit, no history entries, and the form with its proof of work.
   Own code only (CSP: script-src 'self'); nothing is stored in the browser. */
(function () {
  "use strict";

  // --- Quick exit: one click or Escape replaces this page; Back does not come back here. --------
  function quickExit(event) {
    if (event) { event.preventDefault(); }
    var link = document.getElementById("quick-exit");
    var url = link ? link.getAttribute("data-exit-url") : "about:blank";
    var form = document.getElementById("intake-form");
    if (form) { form.reset(); }
    document.title = "";
    document.body.innerHTML = "";
    window.location.replace(url);
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") { quickExit(event); }
  });
  var exitLink = document.getElementById("quick-exit");
  if (exitLink) { exitLink.addEventListener("click", quickExit); }

  // --- Links between the public pages replace the current entry (no history of our own). --------
  document.addEventListener("click", function (event) {
    var target = event.target;
    var link = target && target.closest ? target.closest("a[data-replace]") : null;
    if (!link) { return; }
    event.preventDefault();
    window.location.replace(link.getAttribute("href"));
  });

  // --- SHA-256 (FIPS 180-4), synchronous: fast enough for a few ten thousand short messages. ----
  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var W = new Int32Array(64);

  function compress(H, bytes, offset) {
    var i, s0, s1, t1, t2;
    for (i = 0; i < 16; i++) {
      var j = offset + i * 4;
      W[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
    }
    for (i = 16; i < 64; i++) {
      s0 = ((W[i - 15] >>> 7) | (W[i - 15] << 25)) ^ ((W[i - 15] >>> 18) | (W[i - 15] << 14)) ^ (W[i - 15] >>> 3);
      s1 = ((W[i - 2] >>> 17) | (W[i - 2] << 15)) ^ ((W[i - 2] >>> 19) | (W[i - 2] << 13)) ^ (W[i - 2] >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (i = 0; i < 64; i++) {
      s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
  }

  // The first word of SHA-256(ascii): enough to count up to 32 leading zero bits.
  function firstWord(text) {
    var n = text.length;
    var blocks = Math.ceil((n + 9) / 64);
    var bytes = new Uint8Array(blocks * 64);
    for (var i = 0; i < n; i++) { bytes[i] = text.charCodeAt(i) & 0xff; }
    bytes[n] = 0x80;
    var bits = n * 8;
    bytes[bytes.length - 4] = (bits >>> 24) & 0xff;
    bytes[bytes.length - 3] = (bits >>> 16) & 0xff;
    bytes[bytes.length - 2] = (bits >>> 8) & 0xff;
    bytes[bytes.length - 1] = bits & 0xff;
    var H = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    for (var b = 0; b < blocks; b++) { compress(H, bytes, b * 64); }
    return H[0] >>> 0;
  }

  // Find counter with SHA-256(challenge ":" counter) starting with `bits` zero bits, in slices.
  function solve(challenge, bits, done) {
    var counter = 0;
    var shift = 32 - bits;
    function slice() {
      var end = counter + 4000;
      for (; counter < end; counter++) {
        if ((firstWord(challenge + ":" + counter) >>> shift) === 0) { done(String(counter)); return; }
      }
      setTimeout(slice, 0);
    }
    slice();
  }

  // --- The form --------------------------------------------------------------------------------
  var form = document.getElementById("intake-form");
  if (!form) { return; }
  var status = document.getElementById("form-status");
  var button = form.querySelector("button[type=submit]");
  var work = null;  // {challenge, bits, counter|null, waiters}

  function startWork(challenge, bits) {
    var current = { challenge: challenge, bits: bits, counter: null, waiters: [] };
    work = current;
    solve(challenge, bits, function (counter) {
      current.counter = counter;
      current.waiters.forEach(function (fn) { fn(); });
      current.waiters = [];
    });
  }
  function whenSolved(fn) {
    if (work.counter !== null) { fn(); } else { work.waiters.push(fn); }
  }
  function renewWork(then) {
    fetch("/formulier/uitdaging", { credentials: "omit", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) { startWork(data.challenge, data.bits); if (then) { then(); } })
      .catch(function () { /* the next submit reports the problem */ });
  }
  startWork(form.getAttribute("data-challenge"), parseInt(form.getAttribute("data-bits"), 10));

  // Fields marked by the last refusal: aria-invalid and aria-describedby to their problem in the
  // status box, where each problem links to its field (as the staff forms' error summary does).
  var marked = [];
  function clearMarks() {
    marked.forEach(function (field) {
      field.removeAttribute("aria-invalid");
      var before = field.getAttribute("data-described-by");
      if (before) { field.setAttribute("aria-describedby", before); } else { field.removeAttribute("aria-describedby"); }
      field.removeAttribute("data-described-by");
    });
    marked = [];
  }
  function fieldFor(id) {
    if (!id) { return null; }
    var field = document.getElementById(id);
    return field && form.contains(field) ? field : null;
  }

  function show(message, problems, fields) {
    clearMarks();
    status.textContent = "";
    status.className = "status problem";
    var p = document.createElement("p");
    p.textContent = message;
    status.appendChild(p);
    if (problems && problems.length) {
      var ul = document.createElement("ul");
      problems.forEach(function (text, i) {
        var li = document.createElement("li");
        var field = fieldFor(fields && fields[i]);
        if (field) {
          var id = "fout-" + field.id;
          if (!document.getElementById(id)) { li.id = id; }
          var link = document.createElement("a");
          link.href = "#" + field.id;
          link.textContent = text;
          link.addEventListener("click", function (event) { event.preventDefault(); field.focus(); });
          li.appendChild(link);
          if (marked.indexOf(field) === -1) {
            var before = field.getAttribute("aria-describedby");
            if (before) { field.setAttribute("data-described-by", before); }
            field.setAttribute("aria-invalid", "true");
            field.setAttribute("aria-describedby", id + (before ? " " + before : ""));
            marked.push(field);
          }
        } else {
          li.textContent = text;
        }
        ul.appendChild(li);
      });
      status.appendChild(ul);
    }
    status.setAttribute("tabindex", "-1");
    status.focus();
    status.scrollIntoView({ block: "center" });
  }

  function localProblems() {
    var problems = [];
    var fields = [];
    Array.prototype.forEach.call(form.querySelectorAll("[required]"), function (field) {
      if (!field.value.trim()) {
        var label = form.querySelector("label[for='" + field.id + "']");
        problems.push("Vul in: " + (label ? label.textContent.trim() : field.name) + ".");
        fields.push(field.id);
      }
    });
    var file = form.querySelector("input[type=file]");
    var max = parseInt(form.getAttribute("data-max-bytes"), 10);
    if (file && file.files && file.files[0] && file.files[0].size > max - 100000) {
      problems.push("De bijlage is te groot (maximaal " + form.getAttribute("data-max-mb") + " MB).");
      fields.push(file.id);
    }
    return { problems: problems, fields: fields };
  }

  var NO_ANSWER = "Uw formulier kon niet worden verstuurd. Controleer uw internetverbinding, of bel " +
    "Veilig Thuis gratis op 0800-2000.";
  var retried = false;
  function send() {
    form.elements["uitdaging"].value = work.challenge;
    form.elements["teller"].value = work.counter;
    var body = new FormData(form);
    fetch(form.getAttribute("action"), {
      method: "POST", body: body, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer"
    }).then(function (r) {
      return r.json().catch(function () { return { ok: false, message: "" }; });
    }).then(function (data) {
      if (data.ok) {
        clearMarks();
        form.reset();
        form.hidden = true;
        var receipt = document.getElementById("receipt");
        document.getElementById("reference").textContent = data.reference;
        if (data.message) {
          var note = document.getElementById("receipt-note");
          note.textContent = data.message;
          note.hidden = false;
        }
        receipt.hidden = false;
        receipt.focus();
        return;
      }
      if ((data.reason === "pow_expired" || data.reason === "pow_harder") && !retried) {
        // Expired, or many forms from this connection: a fresh (possibly harder) challenge, sent again.
        retried = true;
        if (data.reason === "pow_harder") {
          status.textContent = "Extra beveiligingscontrole… Dit kan even duren. Sluit deze pagina niet.";
        }
        renewWork(function () { whenSolved(send); });
        return;
      }
      button.disabled = false;
      if (!data.reason || data.reason === "unavailable") {
        // Not the vault's own refusal (a proxy's error page, a gateway timeout) or a failure whose
        // outcome the vault may not know: the form may have arrived. Keep this proof, as after a lost
        // answer, so sending again is told the case it opened instead of opening a second one (D5).
        show(data.message || NO_ANSWER);
        return;
      }
      show(data.message, data.problems, data.fields);
      renewWork(null);
    }).catch(function () {
      // No answer: the form may have arrived all the same. The next send keeps this proof, so the
      // server can tell the reference of a case it opened instead of opening a second one (D5).
      button.disabled = false;
      show(NO_ANSWER);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var local = localProblems();
    if (local.problems.length) { show("Controleer het formulier:", local.problems, local.fields); return; }
    button.disabled = true;
    clearMarks();
    status.className = "status";
    status.textContent = "Bezig met versturen…";
    retried = false;
    whenSolved(send);
  });
})();
