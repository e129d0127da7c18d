// The team's integrations with their health at a glance; refreshed every 10 s while shown.
import { api } from "../api.js";
import { ago, el, errorInWords, number, statusPill } from "../format.js";
import { onLeave } from "../nav.js";

export const PROVIDERS = { github: "GitHub", jira: "Jira", trello: "Trello" };

async function allIntegrations() {
  const items = [];
  let next = null;
  do {
    const page = await api(`/integrations?limit=100${next ? `&next_token=${encodeURIComponent(next)}` : ""}`);
    items.push(...page.items);
    next = page.next_token;
  } while (next);
  return items;
}

export function quotaText(quota) {
  if (!quota || quota.remaining === undefined || quota.remaining === null) return "not reported";
  return quota.limit ? `${number(quota.remaining, 0)} of ${number(quota.limit, 0)} left` : `${number(quota.remaining, 0)} left`;
}

function row(integration, status) {
  const state = status?.status ?? integration.status;
  const error = errorInWords(status?.last_error);
  return el(
    "li",
    { class: "integration", "data-id": integration.id, "data-status": state },
    el(
      "div",
      { class: "integration-head" },
      el("a", { href: `#/integrations/${integration.id}`, class: "integration-name" }, integration.name),
      el("span", { class: `type type-${integration.type}` }, PROVIDERS[integration.type] ?? integration.type),
      statusPill(state),
    ),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, "Data"),
      el("dd", {}, status ? ago(status.data_freshness_seconds) : "–"),
      el("dt", {}, "API quota"),
      el("dd", {}, quotaText(status?.api_quota)),
      el("dt", {}, "Webhook"),
      el("dd", {}, status?.webhooks?.connected ? "connected" : "not connected"),
    ),
    error ? el("p", { class: "error-text" }, error) : null,
  );
}

export async function renderList(view) {
  document.title = "Integrations · AgileTrack";
  const list = el("ul", { class: "integrations", "aria-label": "Integrations" });
  view.append(
    el(
      "div",
      { class: "title-row" },
      el("h1", {}, "Integrations"),
      el("nav", { class: "actions", "aria-label": "Connect a tool" }, ...Object.entries(PROVIDERS).map(([type, label]) => el("a", { class: "button", href: `#/connect/${type}` }, `Connect ${label}`))),
    ),
    list,
  );
  async function refresh() {
    const integrations = await allIntegrations();
    const statuses = await Promise.all(integrations.map((i) => api(`/integrations/${i.id}/status`).catch(() => null)));
    if (!integrations.length) {
      list.replaceChildren(el("li", { class: "empty" }, "Nothing connected yet. Connect a GitHub repository, a Jira project or a Trello board to see its metrics."));
    } else {
      list.replaceChildren(...integrations.map((integration, index) => row(integration, statuses[index])));
    }
    list.setAttribute("aria-busy", "false");
  }
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 10000);
  onLeave(() => clearInterval(timer));
}
