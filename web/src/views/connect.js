// Connect a tool: one form per provider; the provider's refusal is shown in place, and after success
// the webhook URL and secret are shown once, with copy buttons and the provider's steps.
import { api } from "../api.js";
import { el } from "../format.js";
import { announce } from "../nav.js";
import { FORMS, fieldValue, webhookSteps } from "../providers.js";

export function fieldInput(field, prefix, { editing = false } = {}) {
  const id = `${prefix}-${field.name}`;
  const attributes = {
    id,
    name: field.name,
    required: field.required && !(editing && field.credential),
    placeholder: editing && field.credential ? "unchanged" : field.placeholder,
    autocomplete: field.autocomplete ?? (field.credential ? "off" : undefined),
    min: field.min,
    "aria-describedby": `${id}-error${field.help ? ` ${id}-help` : ""}`,
  };
  const input = field.type === "textarea" ? el("textarea", { ...attributes, rows: 3 }) : el("input", { ...attributes, type: field.type ?? "text" });
  if (field.value && !editing) input.value = field.value;
  const wrapper = el(
    "div",
    { class: field.type === "checkbox" ? "field check" : "field" },
    field.type === "checkbox" ? input : null,
    el("label", { for: id }, field.label, field.required && !(editing && field.credential) ? el("span", { class: "req", "aria-hidden": "true" }, " *") : null),
    field.type === "checkbox" ? null : input,
    field.help ? el("p", { id: `${id}-help`, class: "help" }, field.help) : null,
    el("p", { id: `${id}-error`, class: "field-error" }),
  );
  return { field, input, wrapper };
}

export function showRefusal(form, alertBox, inputs, error) {
  for (const { input, wrapper } of inputs) {
    input.removeAttribute("aria-invalid");
    wrapper.querySelector(".field-error").textContent = "";
  }
  alertBox.textContent = error.message;
  let focused = false;
  for (const detail of Array.isArray(error.details) ? error.details : []) {
    const name = String(detail.field ?? "").replace(/^config\./, "").split(".")[0];
    const match = inputs.find((i) => i.field.name === name);
    if (!match) continue;
    match.input.setAttribute("aria-invalid", "true");
    match.wrapper.querySelector(".field-error").textContent = detail.reason;
    if (!focused) match.input.focus();
    focused = true;
  }
  if (!focused) alertBox.focus();
}

export function copyButton(value, label) {
  const button = el("button", { type: "button", class: "secondary" }, `Copy ${label}`);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy by hand";
    }
    setTimeout(() => (button.textContent = `Copy ${label}`), 2000);
  });
  return button;
}

export function webhookPanel(type, webhook, config, heading) {
  const steps = webhookSteps(type, webhook, config);
  return el(
    "section",
    { class: "card webhook", "aria-labelledby": "webhook-title" },
    el("h2", { id: "webhook-title", tabindex: "-1" }, heading),
    el("p", { class: "warning" }, webhook.secret ? "The secret is shown only now. Copy it before leaving this page." : "Trello signs webhooks with the application secret, so there is no secret to copy."),
    el("ol", {}, ...steps.map((s) => el("li", {}, s))),
    el("div", { class: "secret-row" }, el("span", { class: "secret-label" }, "Webhook URL"), el("code", { id: "webhook-url" }, webhook.url), copyButton(webhook.url, "URL")),
    webhook.secret ? el("div", { class: "secret-row" }, el("span", { class: "secret-label" }, "Secret"), el("code", { id: "webhook-secret" }, webhook.secret), copyButton(webhook.secret, "secret")) : null,
  );
}

export async function renderConnect(view, type) {
  const spec = FORMS[type];
  if (!spec) throw new Error(`There is no provider named ${type}.`);
  document.title = `Connect ${spec.label} · AgileTrack`;
  const nameField = { name: "name", label: "Name (optional)", placeholder: "defaults to the repository, project or board" };
  const inputs = [nameField, ...spec.fields].map((f) => fieldInput(f, `connect-${type}`));
  const alertBox = el("p", { class: "error", role: "alert", tabindex: "-1", id: "connect-error" });
  const submit = el("button", { type: "submit" }, `Connect ${spec.label}`);
  const form = el("form", { class: "card", novalidate: true }, alertBox, ...inputs.map((i) => i.wrapper), submit);
  const tabs = el("nav", { class: "tabs", "aria-label": "Provider" }, ...Object.entries(FORMS).map(([key, f]) => el("a", { href: `#/connect/${key}`, "aria-current": key === type ? "page" : undefined }, f.label)));
  view.append(el("p", {}, el("a", { href: "#/" }, "← Integrations")), el("h1", {}, `Connect ${spec.label}`), tabs, form);
  inputs[1].input.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const config = {};
    for (const { field, input } of inputs.slice(1)) {
      const value = fieldValue(field, input);
      if (value !== undefined) config[field.name] = value;
    }
    const body = { type, config };
    const name = inputs[0].input.value.trim();
    if (name) body.name = name;
    submit.disabled = true;
    submit.textContent = "Checking with the provider…";
    try {
      const created = await api("/integrations", { method: "POST", body });
      const done = el("div", {}, webhookPanel(type, created.webhook, created.config, `${created.name} is connected`), el("p", {}, el("a", { class: "button", href: `#/integrations/${created.id}` }, "Watch its first sync")));
      form.replaceWith(done);
      tabs.remove();
      announce(`${created.name} is connected. Its first sync is queued.`);
      done.querySelector("h2").focus();
    } catch (error) {
      showRefusal(form, alertBox, inputs, error);
    } finally {
      submit.disabled = false;
      submit.textContent = `Connect ${spec.label}`;
    }
  });
}
