// Charts: Chart.js (tree-shaken), each with a data table beside it for screen readers and keyboard users,
// and a registry of what each chart was given and drew (read by the browser tests and handy when debugging).
import {
  ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip,
} from "chart.js";
import { el, number } from "./format.js";

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
Chart.defaults.color = "#1f2933";

export const COLORS = ["#0b5cad", "#c2410c", "#047857", "#9d174d", "#6d28d9", "#a16207", "#0e7490", "#4b5563"];
const live = new Map();

export function destroyCharts() {
  for (const chart of live.values()) chart.destroy();
  live.clear();
}

// How many of a dataset's elements Chart.js drew: not skipped, and for a value (a bar for a null value keeps
// its element, drawn as nothing).
function drawnCount(chart, index) {
  const meta = chart.getDatasetMeta(index);
  return meta.data.filter((element, i) => {
    if (element.skip) return false;
    const parsed = meta.controller.getParsed(i);
    const value = typeof parsed === "number" ? parsed : parsed?.[meta.vScale?.axis ?? "y"];
    return Number.isFinite(value);
  }).length;
}

function drawnSummary(id, chart) {
  return {
    id,
    type: chart.config.type,
    labels: [...chart.data.labels],
    datasets: chart.data.datasets.map((d, index) => ({
      label: d.label,
      data: [...d.data],
      drawn: drawnCount(chart, index),
    })),
  };
}

window.agiletrackCharts = () => Object.fromEntries([...live].map(([id, chart]) => [id, drawnSummary(id, chart)]));

function table(caption, labels, datasets, format) {
  return el(
    "table",
    { class: "data" },
    el("caption", { class: "visually-hidden" }, caption),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ""), ...datasets.map((d) => el("th", { scope: "col" }, d.label)))),
    el("tbody", {}, ...labels.map((label, row) => el("tr", {}, el("th", { scope: "row" }, label), ...datasets.map((d) => el("td", {}, d.data[row] === null ? "–" : format(d.data[row])))))),
  );
}

/** A chart card: `kind` is bar, line, doughnut or barline (bars with a line on a second axis). */
export function chartCard(container, { id, title, kind = "bar", labels, datasets, unit = "", note, format = (v) => number(v), stacked = false }) {
  const canvas = el("canvas", { id: `chart-${id}`, role: "img", "aria-label": `${title}: chart; the data table follows` });
  const empty = labels.length === 0 || datasets.every((d) => d.data.every((v) => v === null || v === 0));
  const card = el(
    "figure",
    { class: "card chart", "data-chart": id },
    el("figcaption", {}, el("h3", {}, title), note ? el("p", { class: "muted" }, note) : null),
    empty ? el("p", { class: "muted empty-chart" }, "No data in this window.") : null,
    el("div", { class: kind === "doughnut" ? "canvas-box round" : "canvas-box" }, canvas),
    el("details", {}, el("summary", {}, "Data table"), table(title, labels, datasets, format)),
  );
  container.append(card);
  const doughnut = kind === "doughnut";
  const config = {
    type: doughnut ? "doughnut" : "bar",
    data: {
      labels,
      datasets: datasets.map((d, index) => {
        const color = d.color ?? COLORS[index % COLORS.length];
        const asLine = kind === "line" || d.line;
        return {
          label: d.label,
          data: d.data,
          type: doughnut ? undefined : asLine ? "line" : "bar",
          backgroundColor: doughnut ? labels.map((_, i) => COLORS[i % COLORS.length]) : color,
          borderColor: doughnut ? "#fff" : color,
          borderDash: d.dashed ? [6, 4] : undefined,
          pointRadius: asLine ? 3 : undefined,
          spanGaps: false,
          yAxisID: d.axis ?? "y",
          order: asLine ? 0 : 1,
        };
      }),
    },
    options: {
      plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${format(c.raw)}${unit}` } } },
      scales: doughnut ? {} : {
        x: { stacked },
        y: { beginAtZero: true, stacked, title: { display: Boolean(unit), text: unit.trim() } },
        ...(datasets.some((d) => d.axis === "y2") ? { y2: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } : {}),
      },
    },
  };
  live.set(id, new Chart(canvas, config));
  return card;
}

export function tiles(container, items) {
  container.append(
    el("dl", { class: "tiles" }, ...items.map(([label, value, id]) => el("div", { class: "tile", "data-tile": id }, el("dt", {}, label), el("dd", {}, value)))),
  );
}

export const STAT_KEYS = [["median", "Median"], ["p75", "75th percentile"], ["p90", "90th percentile"]];

/** Distribution charts: several duration statistics side by side, by median, p75 and p90. */
export function distributionCard(container, id, title, stats, format, unit) {
  const entries = Object.entries(stats);
  return chartCard(container, {
    id,
    title,
    labels: entries.map(([name, s]) => `${name} (n=${s?.count ?? 0})`),
    datasets: STAT_KEYS.map(([key, label]) => ({ label, data: entries.map(([, s]) => s?.[key] ?? null) })),
    unit,
    format,
  });
}
