// The metrics of one integration over a window from the URL: 7, 30 or 90 days ending today (UTC), or
// custom dates (`from`, `to`, both inclusive), and for Jira the burndown's sprint (`sprint`).
import { api } from "../api.js";
import { chartCard, destroyCharts, distributionCard, tiles } from "../charts.js";
import { el, hours, number, percent } from "../format.js";
import { navigate, onLeave } from "../nav.js";

const DAY = 86400000;
export const PRESETS = [7, 30, 90];

function isoDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The window the URL asks for, as the API's [since, until) and the inclusive dates shown. */
export function windowOf(params, now = Date.now()) {
  const from = params.get("from");
  const to = params.get("to");
  if (from && to && /^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to)) {
    const until = Date.parse(`${to}T00:00:00Z`) + DAY;
    return { since: `${from}T00:00:00Z`, until: isoDay(until) + "T00:00:00Z", from, to, days: null };
  }
  const days = PRESETS.includes(Number(params.get("days"))) ? Number(params.get("days")) : 30;
  const until = Math.floor(now / DAY) * DAY + DAY; // the end of today, UTC
  return { since: isoDay(until - days * DAY) + "T00:00:00Z", until: isoDay(until) + "T00:00:00Z", from: isoDay(until - days * DAY), to: isoDay(until - DAY), days };
}

/** Before the API serves `series`, the weekly series its metrics already hold (commits, cards done). */
export function seriesInMetrics(m) {
  const found = { commits: m?.commits?.weekly, cards_done: m?.lists?.throughput?.weekly };
  return Object.fromEntries(Object.entries(found).filter(([, value]) => Array.isArray(value)));
}

function weekly(container, id, title, series, keys, note) {
  const present = keys.filter(([key]) => Array.isArray(series?.[key]));
  if (!present.length) return;
  chartCard(container, {
    id,
    title,
    note,
    labels: series[present[0][0]].map((p) => p.week),
    datasets: present.map(([key, label]) => ({ label, data: series[key].map((p) => p.value) })),
  });
}

function github(container, m, series) {
  const pr = m.pull_requests;
  tiles(container, [
    ["PRs opened", number(pr.opened, 0), "prs-opened"],
    ["PRs merged", number(pr.merged, 0), "prs-merged"],
    ["Merge rate", percent(pr.merge_rate), "merge-rate"],
    ["Commits", number(m.commits.count, 0), "commits"],
    ["Issues opened", number(m.issues.opened, 0), "issues-opened"],
    ["Issue close rate", percent(m.issues.close_rate), "close-rate"],
  ]);
  weekly(container, "prs-weekly", "Pull requests per week", series, [["prs_opened", "Opened"], ["prs_merged", "Merged"]]);
  weekly(container, "commits-weekly", "Commits per week", series, [["commits", "Commits"]], `On the ${m.commits.branch ?? "configured"} branch, merge commits excluded`);
  distributionCard(container, "review-flow", "Pickup, review and time to merge (hours)", { Pickup: pr.pickup_time, Review: pr.review_time, "Time to merge": pr.time_to_merge }, hours, "");
  distributionCard(container, "commit-size", "Commit size (lines added + deleted)", { Commits: m.commits.size }, (v) => number(v, 0), " lines");
  const authors = m.commits.authors ?? [];
  chartCard(container, { id: "authors", title: "Authors' share of commits", kind: "doughnut", labels: authors.map((a) => a.author), datasets: [{ label: "Commits", data: authors.map((a) => a.commits) }] });
  weekly(container, "issues-weekly", "Issues opened and closed per week", series, [["issues_opened", "Opened"], ["issues_closed", "Closed"]]);
}

function jira(container, m, series, view, params) {
  const sprints = m.sprints ?? [];
  tiles(container, [
    ["Issues created", number(m.issues.created, 0), "issues-created"],
    ["Issues resolved", number(m.issues.resolved, 0), "issues-resolved"],
    ["Velocity (last sprint)", number(m.velocity?.last), "velocity-last"],
    ["Velocity (mean of last 3)", number(m.velocity?.mean_last_3), "velocity-mean"],
    ["Open backlog", number(m.now?.backlog?.total, 0), "backlog"],
  ]);
  const burndown = m.burndown;
  const picker = el("select", { id: "sprint" }, ...sprints.map((s) => el("option", { value: s.id, selected: String(s.id) === String(burndown?.sprint_id) }, `${s.name} (${s.state})`)));
  picker.addEventListener("change", () => {
    params.set("sprint", picker.value);
    navigate(`${location.hash.split("?")[0]}?${params}`);
  });
  container.append(el("div", { class: "field inline" }, el("label", { for: "sprint" }, "Sprint for the burndown"), picker));
  if (burndown) {
    chartCard(container, {
      id: "burndown",
      title: `Burndown: ${sprints.find((s) => String(s.id) === String(burndown.sprint_id))?.name ?? `sprint ${burndown.sprint_id}`}`,
      kind: "line",
      labels: burndown.days.map((d) => d.date),
      datasets: [
        { label: "Remaining points", data: burndown.days.map((d) => d.remaining_points) },
        { label: "Ideal", data: burndown.days.map((d) => d.ideal_points), dashed: true, color: "#4b5563" },
      ],
    });
  } else {
    container.append(el("p", { class: "card muted" }, "No active sprint: pick a sprint above to see its burndown."));
  }
  const ordered = [...sprints].reverse();
  chartCard(container, {
    id: "velocity",
    title: "Committed and completed points per sprint, with commitment accuracy",
    labels: ordered.map((s) => s.name),
    datasets: [
      { label: "Committed", data: ordered.map((s) => s.committed_points) },
      { label: "Completed", data: ordered.map((s) => s.completed_points) },
      { label: "Commitment accuracy", data: ordered.map((s) => s.commitment_accuracy), line: true, axis: "y2", color: "#9d174d" },
    ],
  });
  distributionCard(container, "jira-times", "Lead, cycle and resolution time (hours)", { Lead: m.issues.lead_time, Cycle: m.issues.cycle_time, Resolution: m.issues.resolution_time }, hours, "");
  const backlog = m.now?.backlog;
  if (backlog) {
    const buckets = ["0-7d", "8-30d", "31-90d", "91-180d", "180d+"];
    chartCard(container, { id: "backlog-age", title: "Open backlog by age (now)", labels: buckets, datasets: [{ label: "Issues", data: buckets.map((b) => backlog.age?.[b] ?? 0) }], note: `Median age ${number(backlog.median_age_days, 1)} days` });
    const priorities = Object.entries(backlog.priority ?? {});
    chartCard(container, { id: "priority", title: "Open backlog by priority (now)", kind: "doughnut", labels: priorities.map(([k]) => k), datasets: [{ label: "Issues", data: priorities.map(([, v]) => v) }] });
    const statuses = Object.entries(backlog.status ?? {});
    chartCard(container, { id: "status", title: "Open backlog by status (now)", labels: statuses.map(([k]) => k), datasets: [{ label: "Issues", data: statuses.map(([, v]) => v) }] });
  }
  weekly(container, "jira-weekly", "Issues created and resolved per week", series, [["issues_created", "Created"], ["issues_resolved", "Resolved"]]);
  weekly(container, "points-weekly", "Points completed per week", series, [["points_completed", "Points"]]);
}

function trello(container, m, series) {
  const moves = m.cards?.moves ?? {};
  tiles(container, [
    ["Cards done", number(m.lists?.throughput?.total, 0), "cards-done"],
    ["Done per week", number(m.lists?.throughput?.per_week), "done-per-week"],
    ["Moves", number(moves.total, 0), "moves"],
    ["Backward moves", number(moves.backward, 0), "backward-moves"],
    ["Comments", number(m.activity?.comments?.total, 0), "comments"],
  ]);
  weekly(container, "throughput", "Cards per week", series, [["cards_created", "Created"], ["cards_done", "Done"]]);
  distributionCard(container, "trello-times", "Lead and cycle time (hours)", { Lead: m.cards?.lead_time, Cycle: m.cards?.cycle_time }, hours, "");
  const lists = m.now?.lists ?? [];
  chartCard(container, {
    id: "lists",
    title: "Open cards per list, with their median age in the list (now)",
    labels: lists.map((l) => l.name),
    datasets: [
      { label: "Open cards", data: lists.map((l) => l.open_cards) },
      { label: "Median age (hours)", data: lists.map((l) => l.age?.median ?? null), line: true, axis: "y2", color: "#c2410c" },
    ],
  });
  const members = m.activity?.members ?? [];
  chartCard(container, { id: "members", title: "Member participation (actions)", labels: members.map((p) => p.name ?? p.member_id), datasets: [{ label: "Actions", data: members.map((p) => p.actions) }] });
  const labels = Object.entries(m.now?.labels ?? {});
  chartCard(container, { id: "labels", title: "Open cards by label (now)", labels: labels.map(([k]) => k), datasets: [{ label: "Cards", data: labels.map(([, v]) => v) }] });
}

function windowPicker(window, params, base) {
  const link = (days) => el("a", { class: "button secondary", href: `${base}?days=${days}`, "aria-current": window.days === days ? "true" : undefined }, `${days} days`);
  const from = el("input", { id: "from", name: "from", type: "date", value: window.from, required: true });
  const to = el("input", { id: "to", name: "to", type: "date", value: window.to, required: true });
  const form = el("form", { class: "window", "aria-label": "Metrics window" }, ...PRESETS.map(link), el("label", { for: "from" }, "From"), from, el("label", { for: "to" }, "To"), to, el("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams({ from: from.value, to: to.value });
    if (params.get("sprint")) next.set("sprint", params.get("sprint"));
    navigate(`${base}?${next}`);
  });
  return form;
}

export async function renderMetrics(section, integration, params) {
  const window = windowOf(params);
  const base = `#/integrations/${integration.id}`;
  const query = new URLSearchParams({ since: window.since, until: window.until });
  if (integration.type === "jira" && params.get("sprint")) query.set("sprint_id", params.get("sprint"));
  section.dataset.since = window.since;
  section.dataset.until = window.until;
  const body = el("div", { class: "charts", "aria-busy": "true" });
  section.replaceChildren(el("h2", {}, "Metrics"), windowPicker(window, params, base), el("p", { class: "muted" }, `From ${window.from} to ${window.to} (UTC, both days included)`), body);
  onLeave(destroyCharts);
  let answer;
  try {
    answer = await api(`/integrations/${integration.id}/metrics?${query}`);
  } catch (error) {
    body.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
    return;
  }
  destroyCharts();
  body.replaceChildren();
  const draw = { github, jira, trello }[integration.type];
  draw?.(body, answer.metrics, answer.series ?? seriesInMetrics(answer.metrics), section, params);
  body.setAttribute("aria-busy", "false");
  section.dataset.generatedAt = answer.generated_at;
}
