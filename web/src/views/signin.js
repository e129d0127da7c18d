// Sign in with a team token; it is kept in this tab's sessionStorage only.
import { el } from "../format.js";

export function renderSignIn(view, signIn) {
  document.title = "Sign in · AgileTrack";
  const input = el("input", { id: "token", name: "token", type: "password", required: true, autocomplete: "off", spellcheck: "false" });
  const message = el("p", { id: "signin-error", class: "error", role: "alert" });
  const form = el(
    "form",
    { class: "card narrow", "aria-describedby": "signin-help" },
    el("h1", {}, "Sign in"),
    el("p", { id: "signin-help", class: "muted" }, "Paste your team token (at_…). It stays in this browser tab and is forgotten when you close it."),
    el("label", { for: "token" }, "Team token"),
    input,
    message,
    el("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    try {
      await signIn(input.value.trim());
    } catch (error) {
      message.textContent = error.status === 401 ? "That token was not accepted. Check it and try again." : error.message;
      input.focus();
    }
  });
  view.append(form);
  input.focus();
}
