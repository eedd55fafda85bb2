/* Progressive enhancement only: every page works without this file.
   Loaded with `defer` from base.html (strict CSP: no inline scripts), so the document is parsed
   when it runs; the readyState check at the end keeps it working if that ever changes. */
(() => {
  "use strict";

  document.documentElement.classList.add("js");

  /* Avatar menu: a disclosure button. Click or tap toggles it; Enter, Space or ArrowDown open it
     on the first entry; the arrows move (and wrap); Escape closes it and returns focus to the
     button; focus leaving it or a pointer outside it closes it. */
  const setupMenu = (root) => {
    const button = root.querySelector("[data-menu-button]");
    const list = root.querySelector("[data-menu-list]");
    if (!button || !list) return;
    const items = () => [...list.querySelectorAll("a, button")];

    const open = (focusFirst) => {
      list.hidden = false;
      button.setAttribute("aria-expanded", "true");
      if (focusFirst) items()[0]?.focus();
    };
    const close = (returnFocus) => {
      list.hidden = true;
      button.setAttribute("aria-expanded", "false");
      if (returnFocus) button.focus();
    };
    close(false);

    button.addEventListener("click", () => {
      if (list.hidden) open(false);
      else close(false);
    });
    button.addEventListener("keydown", (event) => {
      const opens = event.key === "Enter" || event.key === " ";
      if (event.key === "ArrowDown" || (opens && list.hidden)) {
        event.preventDefault();
        open(true);
      }
    });
    root.addEventListener("keydown", (event) => {
      // defaultPrevented: the button's own handler has just opened the menu on its first entry.
      if (list.hidden || event.defaultPrevented) return;
      if (event.key === "Escape") {
        event.preventDefault();
        close(true);
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const all = items();
        const step = event.key === "ArrowDown" ? 1 : -1;
        const index = all.indexOf(document.activeElement);
        all[(index + step + all.length) % all.length]?.focus();
      }
    });
    root.addEventListener("focusout", (event) => {
      if (!root.contains(event.relatedTarget)) close(false);
    });
    document.addEventListener("pointerdown", (event) => {
      if (!root.contains(event.target)) close(false);
    });
  };

  /* Profil tab: the consent switch shows the customer-data fields at once and warns before
     erasure. */
  const setupConsent = (form) => {
    const toggle = form.querySelector("[data-consent-switch]");
    const fields = form.querySelector("[data-consent-fields]");
    const warning = form.querySelector("[data-withdraw-warning]");
    const confirm = form.querySelector("[data-confirm-withdrawal]");
    if (!toggle || !fields) return;
    const hadConsent = form.dataset.hasStored === "1";

    const update = () => {
      fields.hidden = !toggle.checked;
      const withdrawing = hadConsent && !toggle.checked;
      if (warning) warning.hidden = !withdrawing;
      // The warning is on screen, so one "Speichern" confirms it.
      if (confirm) confirm.value = withdrawing ? confirm.getAttribute("data-stamp") : "";
    };
    toggle.addEventListener("change", update);
    update();
  };

  /* After a failed submit the page comes back with errors: put the keyboard and screen-reader
     focus on the first invalid field, which announces its label and its error message. Runs
     after setupConsent, so a field it has just hidden is skipped. */
  const focusFirstInvalid = () => {
    const invalid = document.querySelector("main [aria-invalid='true']");
    if (invalid && !invalid.closest("[hidden]")) invalid.focus();
  };

  const init = () => {
    document.querySelectorAll("[data-menu]").forEach((root) => setupMenu(root));
    document.querySelectorAll("[data-profile-form]").forEach((form) => setupConsent(form));
    focusFirstInvalid();
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init, { once: true });
  } else {
    init();
  }
})();
