/* Progressive enhancement only: every page works without this file.
   Loaded with `defer` from base.html (strict CSP: no inline scripts), so the document is parsed
   when it runs; the readyState check at the end keeps it working if that ever changes. */
(() => {
  "use strict";

  document.documentElement.classList.add("js");

  /* Avatar menu: a <details> disclosure, which opens and closes by itself (click, tap, Enter,
     Space). On top of that: Enter or Space open it on the first entry, ArrowDown opens it too;
     the arrows move (and wrap); Escape closes it and returns focus to the avatar; focus leaving
     it or a pointer outside it closes it. */
  const setupMenu = (root) => {
    const button = root.querySelector("[data-menu-button]");
    const list = root.querySelector("[data-menu-list]");
    if (!button || !list) return;
    const items = () => [...list.querySelectorAll("a, button")];
    let byKeyboard = false;

    const close = (returnFocus) => {
      root.open = false;
      if (returnFocus) button.focus();
    };

    button.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        byKeyboard = true;
        if (root.open) items()[0]?.focus();
        else root.open = true;
      } else if (event.key === "Enter" || event.key === " ") {
        byKeyboard = !root.open;
      }
    });
    button.addEventListener("pointerdown", () => {
      byKeyboard = false;
    });
    root.addEventListener("toggle", () => {
      if (root.open && byKeyboard) items()[0]?.focus();
      byKeyboard = false;
    });
    root.addEventListener("keydown", (event) => {
      if (!root.open) return;
      if (event.key === "Escape") {
        event.preventDefault();
        close(true);
      } else if (event.target !== button && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
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

  /* After a failed submit the page comes back with errors: the summary at the top of the form
     takes the focus (a screen reader reads what to fix); its links put the focus in the field
     (a fragment link alone only scrolls). Without a summary, the first invalid field takes it.
     Runs after setupConsent, so a field it has just hidden is skipped. */
  const focusErrors = () => {
    const summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.querySelectorAll("[data-error-link]").forEach((link) => {
        link.addEventListener("click", (event) => {
          const field = document.getElementById(link.hash.slice(1));
          if (!field || field.closest("[hidden]")) return;
          event.preventDefault();
          field.focus();
        });
      });
      summary.focus();
      return;
    }
    const invalid = document.querySelector("main [aria-invalid='true']");
    if (invalid && !invalid.closest("[hidden]")) invalid.focus();
  };

  const init = () => {
    document.querySelectorAll("[data-menu]").forEach((root) => setupMenu(root));
    document.querySelectorAll("[data-profile-form]").forEach((form) => setupConsent(form));
    focusErrors();
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init, { once: true });
  } else {
    init();
  }
})();
