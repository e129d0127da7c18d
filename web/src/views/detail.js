// One integration: its health (polled, with the running sync's progress), its actions, its recent sync
// runs (when the API lists them), and its metrics.
import { api, serves } from "../api.js";
import { ago, bytes, el, errorInWords, number, percent, since, statusPill, when } from "../format.js";
import { announce, onLeave } from "../nav.js";
import { PROVIDERS, quotaText } from "./list.js";
import { renderMetrics } from "./metrics.js";
import { renderActions } from "./actions.js";

const BUSY = new Set(["pending", "syncing"]);

function progressView(status) {
  const progress = status.progress;
  if (!BUSY.has(status.status)) return null;
  if (!progress) {
    return el("div", { class: "progress", id: "sync-progress" }, el("progress", { "aria-label": "Sync in progress" }), el("span", {}, status.status === "pending" ? "Waiting for the first sync…" : "Syncing…"));
  }
  const share = progress.percent ?? null;
  const parts = [progress.phase && `Reading ${progress.phase}`, progress.pages !== undefined && `${number(progress.pages, 0)} pages`, progress.records !== undefined && `${number(progress.records, 0)} records`].filter(Boolean);
  return el(
    "div",
    { class: "progress", id: "sync-progress" },
    share === null ? el("progress", { "aria-label": "Sync in progress" }) : el("progress", { max: 100, value: share, "aria-label": "Sync progress" }),
    el("span", {}, `${parts.join(", ")}${share === null ? "" : ` (${number(share, 0)} % of the history)`}`),
  );
}

function credentialsFact(status) {
  const age = status.credentials_age_days;
  if (age === undefined || age === null) return [];
  const due = status.rotation_due ?? age >= 90;
  return [el("dt", {}, "Credentials"), el("dd", { class: due ? "warn-text" : undefined }, `${number(age, 0)} days old${due ? ": rotate them" : ""}`)];
}

function statusPanel(status) {
  const last = status.last_sync;
  const error = errorInWords(status.last_error);
  return el(
    "section",
    { class: "card status", "aria-labelledby": "status-title", "data-status": status.status },
    el("h2", { id: "status-title" }, "Health ", statusPill(status.status)),
    progressView(status),
    error ? el("p", { class: "error-text", id: "last-error" }, error) : null,
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, "Data freshness"), el("dd", {}, ago(status.data_freshness_seconds)),
      el("dt", {}, "Last sync"), el("dd", {}, last ? `${last.outcome}, ${since(last.finished_at ?? last.started_at)} (${number(last.records, 0)} records, ${number(last.api_calls, 0)} API calls)` : "none yet"),
      el("dt", {}, "Next sync"), el("dd", {}, when(status.next_sync_at)),
      el("dt", {}, "Failed syncs (24 h)"), el("dd", {}, percent(status.error_rate_24h)),
      el("dt", {}, "API quota"), el("dd", {}, quotaText(status.api_quota)),
      el("dt", {}, "Webhook"), el("dd", {}, status.webhooks?.connected ? `connected, last delivery ${since(status.webhooks.last_received_at)} (${number(status.webhooks.received_24h, 0)} in 24 h, ${number(status.webhooks.rejected_24h, 0)} rejected)` : "not connected: no delivery received yet"),
      ...credentialsFact(status),
    ),
  );
}

function syncsTable(runs) {
  const items = runs?.items ?? (Array.isArray(runs) ? runs : null);
  if (!items) return null;
  return el(
    "section",
    { class: "card", "aria-labelledby": "syncs-title" },
    el("h2", { id: "syncs-title" }, "Recent syncs"),
    items.length === 0 ? el("p", { class: "muted" }, "No sync has run yet.") : el(
      // Scrolls sideways on a phone: focusable, so a keyboard can scroll it too, and named for screen readers.
      "div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Recent syncs, scrollable" },
      el(
        "table",
        { class: "data runs" },
        el("thead", {}, el("tr", {}, ...["Started", "Outcome", "Records", "API calls", "Duration", "Received", "Peak memory", "Error"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...items.map((r) => el("tr", {},
          el("td", {}, when(r.started_at)), el("td", {}, r.outcome), el("td", {}, number(r.records_written, 0)), el("td", {}, number(r.api_calls, 0)),
          el("td", {}, r.duration_ms === null || r.duration_ms === undefined ? "–" : `${number(r.duration_ms / 1000, 1)} s`),
          el("td", {}, bytes(r.bytes_received)), el("td", {}, r.peak_memory_mb === null || r.peak_memory_mb === undefined ? "–" : `${number(r.peak_memory_mb, 0)} MB`),
          el("td", {}, r.error ?? ""),
        ))),
      ),
    ),
  );
}

export async function renderDetail(view, id, params) {
  const integration = await api(`/integrations/${id}`);
  document.title = `${integration.name} · AgileTrack`;
  const statusBox = el("div", { id: "status-box" });
  const syncsBox = el("div");
  const metrics = el("section", { id: "metrics", class: "metrics", "aria-label": "Metrics" });
  view.append(
    el("p", {}, el("a", { href: "#/" }, "← Integrations")),
    el("h1", {}, integration.name, " ", el("span", { class: `type type-${integration.type}` }, PROVIDERS[integration.type])),
    statusBox,
  );
  let previous = null;
  let timer = null;
  const listsRuns = await serves("/integrations/{integration_id}/syncs");
  async function poll() {
    clearTimeout(timer);
    const [status, runs] = await Promise.all([
      api(`/integrations/${id}/status`),
      listsRuns ? api(`/integrations/${id}/syncs?limit=10`).catch(() => null) : null,
    ]);
    statusBox.replaceChildren(statusPanel(status));
    syncsBox.replaceChildren(syncsTable(runs) ?? "");
    if (previous && BUSY.has(previous) && !BUSY.has(status.status)) {
      announce(`Sync finished: ${status.status === "active" ? "healthy" : status.status}.`);
      renderMetrics(metrics, integration, params);
    }
    previous = status.status;
    timer = setTimeout(() => poll().catch(() => (timer = setTimeout(poll, 5000))), BUSY.has(status.status) ? 1000 : 15000);
  }
  await poll();
  onLeave(() => clearTimeout(timer));
  view.append(renderActions(integration, () => poll()), syncsBox, metrics);
  await renderMetrics(metrics, integration, params);
}
