/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function setupMenu(root) {
    var button = root.querySelector("[data-menu-button]");
    var list = root.querySelector("[data-menu-list]");
    if (!button || !list) return;
    var items = function () { return Array.prototype.slice.call(list.querySelectorAll("a, button")); };

    function open(focusFirst) {
      list.hidden = false;
      button.setAttribute("aria-expanded", "true");
      if (focusFirst) items()[0].focus();
    }
    function close(returnFocus) {
      list.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (returnFocus) button.focus();
    }
    close(false);

    button.addEventListener("click", function () {
      if (list.hidden) open(false); else close(false);
    });
    button.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || ((event.key === "Enter" || event.key === " ") && list.hidden)) {
        event.preventDefault();
        open(true);
      }
    });
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close(true);
      } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !list.hidden) {
        var all = items();
        var index = all.indexOf(document.activeElement);
        var step = event.key === "ArrowDown" ? 1 : -1;
        event.preventDefault();
        all[(index + step + all.length) % all.length].focus();
      }
    });
    root.addEventListener("focusout", function (event) {
      if (!root.contains(event.relatedTarget)) close(false);
    });
    document.addEventListener("pointerdown", function (event) {
      if (!root.contains(event.target)) close(false);
    });
  }

  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-menu]"), setupMenu);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();

/* Profil tab: the consent switch shows the customer-data fields at once and warns before erasure. */
(function () {
  "use strict";
  function setupConsent(form) {
    var toggle = form.querySelector("[data-consent-switch]");
    var fields = form.querySelector("[data-consent-fields]");
    var warning = form.querySelector("[data-withdraw-warning]");
    var confirm = form.querySelector("[data-confirm-withdrawal]");
    if (!toggle || !fields) return;
    var hadConsent = form.getAttribute("data-has-stored") === "1";

    function update() {
      fields.hidden = !toggle.checked;
      var withdrawing = hadConsent && !toggle.checked;
      if (warning) warning.hidden = !withdrawing;
      // The warning is on screen, so one "Speichern" confirms it.
      if (confirm) confirm.value = withdrawing ? confirm.getAttribute("data-stamp") : "";
    }
    toggle.addEventListener("change", update);
    update();
  }
  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-profile-form]"), setupConsent);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();

/* After a failed submit the page comes back with errors: put the keyboard and screen-reader
   focus on the first invalid field, which announces its label and its error message. */
(function () {
  "use strict";
  function ready() {
    var invalid = document.querySelector("main [aria-invalid='true']");
    if (invalid && !invalid.closest("[hidden]")) invalid.focus();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
