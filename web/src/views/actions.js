// An integration's actions: sync now, rotate the webhook secret, edit, disconnect (each confirmed in place).
import { api } from "../api.js";
import { el } from "../format.js";
import { announce, navigate } from "../nav.js";
import { FORMS, fieldValue } from "../providers.js";
import { fieldInput, showRefusal, webhookPanel } from "./connect.js";

function dialog(title, ...content) {
  const box = el("dialog", { "aria-labelledby": "dialog-title" }, el("h2", { id: "dialog-title" }, title), ...content);
  document.body.append(box);
  box.addEventListener("close", () => box.remove());
  box.showModal();
  return box;
}

function editDialog(integration) {
  const spec = FORMS[integration.type];
  const fields = [{ name: "name", label: "Name", required: true }, ...spec.fields.filter((f) => f.credential || f.name === "list_ids")];
  const inputs = fields.map((f) => fieldInput(f, "edit", { editing: true }));
  inputs[0].input.value = integration.name;
  const listIds = inputs.find((i) => i.field.name === "list_ids");
  if (listIds) listIds.input.value = (integration.config.list_ids ?? []).join("\n");
  const alertBox = el("p", { class: "error", role: "alert", tabindex: "-1" });
  const form = el("form", { method: "dialog" }, el("p", { class: "muted" }, "Leave a credential empty to keep it. New credentials are checked with the provider first."), alertBox, ...inputs.map((i) => i.wrapper));
  const save = el("button", { type: "submit" }, "Save");
  const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
  form.append(el("div", { class: "actions" }, save, cancel));
  const box = dialog(`Edit ${integration.name}`, form);
  cancel.addEventListener("click", () => box.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { config: {} };
    for (const { field, input } of inputs) {
      const value = fieldValue(field, input);
      if (field.name === "name") body.name = value;
      else if (value !== undefined) body.config[field.name] = value;
    }
    try {
      Object.assign(integration, await api(`/integrations/${integration.id}`, { method: "PATCH", body }));
      box.close();
      announce("Saved.");
      navigate(location.hash);
    } catch (error) {
      showRefusal(form, alertBox, inputs, error);
    }
  });
}

function confirmDisconnect(integration) {
  const yes = el("button", { type: "button", class: "danger" }, "Disconnect");
  const no = el("button", { type: "button", class: "secondary" }, "Keep it");
  const message = el("p", { class: "error", role: "alert" });
  const box = dialog(
    `Disconnect ${integration.name}?`,
    el("p", {}, "Its records and metrics are deleted and its webhooks stop being accepted. Remove the webhook on the provider too. This cannot be undone."),
    message,
    el("div", { class: "actions" }, yes, no),
  );
  no.focus();
  no.addEventListener("click", () => box.close());
  yes.addEventListener("click", async () => {
    try {
      await api(`/integrations/${integration.id}`, { method: "DELETE" });
      box.close();
      announce(`${integration.name} is disconnected.`);
      navigate("#/");
    } catch (error) {
      message.textContent = error.message;
    }
  });
}

export function renderActions(integration, refresh) {
  const note = el("p", { class: "muted", role: "status", id: "action-note" });
  const panel = el("div", { id: "secret-panel" });
  const sync = el("button", { type: "button" }, "Sync now");
  sync.addEventListener("click", async () => {
    try {
      const answer = await api(`/integrations/${integration.id}/sync`, { method: "POST" });
      note.textContent = answer.coalesced ? "A sync is already queued or running; this joins it." : "Sync queued.";
      await refresh();
    } catch (error) {
      note.textContent = error.message;
    }
  });
  const rotate = el("button", { type: "button", class: "secondary" }, "Rotate webhook secret");
  rotate.addEventListener("click", async () => {
    try {
      const answer = await api(`/integrations/${integration.id}/webhook-secret`, { method: "POST" });
      const webhook = { url: integration.webhook?.url, secret: answer.secret };
      panel.replaceChildren(webhookPanel(integration.type, webhook, integration.config, "New webhook secret"));
      panel.querySelector("h2").focus();
    } catch (error) {
      note.textContent = error.message;
    }
  });
  const edit = el("button", { type: "button", class: "secondary" }, "Edit");
  edit.addEventListener("click", () => editDialog(integration));
  const remove = el("button", { type: "button", class: "danger" }, "Disconnect");
  remove.addEventListener("click", () => confirmDisconnect(integration));
  const buttons = [sync, integration.type === "trello" ? null : rotate, edit, remove];
  return el("section", { class: "card", "aria-label": "Actions" }, el("div", { class: "actions" }, ...buttons), note, panel);
}
