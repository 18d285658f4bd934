// WCAG 2.2.1 Timing Adjustable: warn before the idle sign-out (R-SEC-1) and let people stay.
// Progressive enhancement only: without this file the server still ends idle sessions.
(function () {
  "use strict";

  // Seconds of warning before the limit; a very short limit (as in tests) warns at half-time.
  var WARN_BEFORE_SECONDS = 120;

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    var idleSeconds = Number(body.getAttribute("data-idle-seconds"));
    var keepAliveUrl = body.getAttribute("data-keep-alive-url");
    var box = document.getElementById("session-warning");
    var token = document.querySelector('meta[name="csrf-token"]');
    if (!idleSeconds || !keepAliveUrl || !box || !token) { return; }

    var warningPart = box.querySelector('[data-session-state="warning"]');
    var endedPart = box.querySelector('[data-session-state="ended"]');
    var text = document.getElementById("session-warning-text");
    var stay = box.querySelector(".session-stay");
    var signIn = box.querySelector(".session-sign-in");
    var carryOn = box.querySelector(".session-continue");
    var result = box.querySelector(".session-continue-result");
    var checkUrl = body.getAttribute("data-session-check-url");
    var owner = body.getAttribute("data-session-owner");
    var timers = [];
    var deadline = 0;
    var ended = false;
    var returnFocusTo = null;

    function clockTime(ms) {
      var lang = document.documentElement.lang || undefined;
      return new Date(ms).toLocaleTimeString(lang, { hour: "numeric", minute: "2-digit" });
    }

    function schedule() {
      timers.forEach(clearTimeout);
      deadline = Date.now() + idleSeconds * 1000;
      var lead = Math.min(WARN_BEFORE_SECONDS, idleSeconds / 2);
      timers = [
        setTimeout(warn, (idleSeconds - lead) * 1000),
        setTimeout(signedOut, idleSeconds * 1000)
      ];
    }

    function warn() {
      // A computer that slept past the limit wakes up signed out, not warned.
      if (Date.now() >= deadline) { signedOut(); return; }
      text.textContent = text.getAttribute("data-template").replace("{time}", clockTime(deadline));
      returnFocusTo = document.activeElement;
      warningPart.hidden = false;
      endedPart.hidden = true;
      box.hidden = false;
      stay.disabled = false;
      stay.focus();
    }

    function signedOut() {
      timers.forEach(clearTimeout);
      if (!ended) { returnFocusTo = returnFocusTo || document.activeElement; }
      ended = true;
      // The form is left as it is: once the same person has signed in again in another tab,
      // "Continue here" brings this page back to life and what was typed can be sent.
      box.setAttribute("aria-labelledby", "session-ended-title");
      box.setAttribute("aria-describedby", "session-ended-text");
      warningPart.hidden = true;
      endedPart.hidden = false;
      box.hidden = false;
      signIn.focus();
    }

    function say(key) {
      result.textContent = key ? result.getAttribute("data-" + key) : "";
    }

    function resumed(data) {
      // The old session's form token ended with it; the new session's goes into every form.
      token.setAttribute("content", data.csrf_token);
      document.querySelectorAll('input[name="csrf_token"]').forEach(function (input) {
        input.value = data.csrf_token;
      });
      idleSeconds = Number(data.idle_seconds) || idleSeconds;
      ended = false;
      say("");
      box.setAttribute("aria-labelledby", "session-warning-title");
      box.setAttribute("aria-describedby", "session-warning-text");
      stayed();
    }

    function stayed() {
      box.hidden = true;
      schedule();
      if (returnFocusTo && document.contains(returnFocusTo) && returnFocusTo.focus) {
        returnFocusTo.focus();
      }
    }

    stay.addEventListener("click", function () {
      stay.disabled = true;
      fetch(keepAliveUrl, {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        headers: { "X-CSRFToken": token.getAttribute("content") }
      }).then(function (response) {
        // Anything but 204 (a redirect to sign in, a refusal) means the session is gone.
        if (response.status === 204) { stayed(); } else { signedOut(); }
      }).catch(function () {
        // The network failed, not the session: let the person try again.
        stay.disabled = false;
        stay.focus();
      });
    });

    if (carryOn && checkUrl) {
      carryOn.addEventListener("click", function () {
        carryOn.disabled = true;
        say("");
        fetch(checkUrl, {
          credentials: "same-origin",
          redirect: "manual",
          headers: { "Accept": "application/json" }
        }).then(function (response) {
          // A redirect (to sign in) or a refusal: nobody is signed in in this browser yet.
          if (response.status !== 200) { return null; }
          return response.json();
        }).then(function (data) {
          if (!data) { say("not-yet"); return; }
          if (data.owner !== owner) { say("someone-else"); return; }
          resumed(data);
        }).catch(function () {
          say("failed");
        }).then(function () {
          carryOn.disabled = false;
        });
      });
    }

    // A form sent after the limit would be refused and what was typed lost: keep the page
    // as it is instead and say what to do. (The server checks regardless of this script.)
    document.addEventListener("submit", function (event) {
      if (ended || Date.now() >= deadline) {
        event.preventDefault();
        signedOut();
      }
    }, true);

    // A form the page sent in the background (in_place.js) counted as activity on the server.
    document.addEventListener("portal:server-activity", function () {
      if (!ended) { schedule(); }
    });

    schedule();
  });
})();
