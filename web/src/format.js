// Small formatting helpers: numbers, durations, relative times, and status words.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function number(value, digits = 2) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits });
}

export function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${number(rate * 100, 1)} %`;
}

export function hours(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1) return `${number(value * 60, 0)} min`;
  if (value < 48) return `${number(value, 1)} h`;
  return `${number(value / 24, 1)} d`;
}

export function ago(seconds) {
  if (seconds === null || seconds === undefined) return "no data yet";
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export function since(iso, now = Date.now()) {
  return iso ? ago((now - Date.parse(iso)) / 1000) : "never";
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC" : "–";
}

export function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KB", "MB", "GB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${number(size, 1)} ${units[unit]}`;
}

export const STATUS_WORDS = {
  active: ["healthy", "Healthy: the last sync completed."],
  pending: ["pending", "Waiting for its first complete sync."],
  syncing: ["syncing", "A sync is running."],
  error: ["error", "The last sync failed on a rate limit or a provider failure; it retries every hour."],
  failed: ["failed", "The provider refused the credentials: update them to resume syncing."],
};

export function statusPill(status) {
  const [word, meaning] = STATUS_WORDS[status] ?? [status, status];
  return el("span", { class: `pill pill-${status}`, title: meaning }, word);
}

export function errorInWords(error) {
  if (!error) return null;
  const advice = {
    auth: "The provider refused the credentials. Edit the integration and paste a new token.",
    rate_limit: "The provider's rate limit was spent. The next hourly sync tries again; nothing to do unless it lasts.",
    other: "The next hourly sync tries again.",
  }[error.kind];
  return `${error.message}${advice ? ` — ${advice}` : ""}`;
}
