// The clerk's request page, progressive enhancement only: every form works without this file.
// Each form on the page answers with the request page again (after a redirect) or with the
// same page showing the problem. This file sends the form in the background and swaps in the
// new page's main content, so the clerk stays where they were working: no full reload, the
// section they used stays in view, and the result (the confirmation or the problem) is where
// focus goes, so a screen reader announces it. Buttons that lead elsewhere ("… and go to the
// next request") and forms marked data-navigates are left to the browser.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !window.DOMParser || !window.URL) { return; }
  var busy = false;

  function status(main, text) {
    var box = main.querySelector(".in-place-status");
    if (!box) {
      box = document.createElement("p");
      box.className = "in-place-status flash flash-error";
      box.setAttribute("role", "alert");
      box.tabIndex = -1;
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
    box.focus();
  }

  function swap(html, sectionId) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var newMain = fresh.querySelector("main");
    var oldMain = document.querySelector("main");
    if (!newMain || !oldMain) { return false; }
    oldMain.replaceWith(newMain);
    document.title = fresh.title;
    var problems = newMain.querySelector(".error-summary");
    if (problems) {  // the problem first, as on a full page load (portal.js)
      problems.focus();
      return true;
    }
    var section = sectionId && document.getElementById(sectionId);
    var flashes = newMain.querySelector(".flashes");
    if (section && flashes) {
      // The confirmation is shown where the clerk is working, not at the top of the page.
      var heading = section.querySelector("h2");
      if (heading) { heading.after(flashes); } else { section.prepend(flashes); }
    }
    var target = flashes || section || newMain;
    if (!target.hasAttribute("tabindex")) { target.tabIndex = -1; }
    target.focus({ preventScroll: true });
    (section || target).scrollIntoView({ block: "start" });
    return true;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if (event.defaultPrevented || !form.closest("[data-in-place]")) { return; }
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (form.hasAttribute("data-navigates") || (submitter && submitter.name === "then")) {
      return;
    }
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var section = form.closest("section[id]");
    var sectionId = section ? section.id : null;
    var failed = form.getAttribute("data-failed") ||
      document.querySelector("[data-in-place]").getAttribute("data-failed");
    form.setAttribute("aria-busy", "true");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                         headers: { "X-Requested-With": "in-place" } })
      .then(function (response) {
        var here = new URL(window.location.href);
        var there = new URL(response.url);
        if (there.pathname !== here.pathname && response.ok) {
          window.location.assign(response.url);  // it led to another page: go there
          return;
        }
        return response.text().then(function (html) {
          document.dispatchEvent(new CustomEvent("portal:server-activity"));
          if (!swap(html, sectionId)) { window.location.assign(response.url); }
        });
      })
      .catch(function () {
        form.removeAttribute("aria-busy");
        status(document.querySelector("main"), failed);
      })
      .then(function () {
        busy = false;
        // Counted on <html>, for anything that waits for the page to settle (browser tests).
        var root = document.documentElement;
        root.setAttribute("data-in-place-swaps",
                          String(Number(root.getAttribute("data-in-place-swaps") || 0) + 1));
      });
  });
}());
