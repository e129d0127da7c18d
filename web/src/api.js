// Every call to the AgileTrack API: same origin, the team token from this browser session only.
const TOKEN_KEY = "agiletrack.token";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

export async function api(path, { method = "GET", body, token = session.token, optional = false } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "The API could not be reached. Check your connection and try again.");
  }
  if (optional && (response.status === 404 || response.status === 405)) return null;
  if (response.status === 204) return null;
  const text = await response.text();
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  if (response.status === 401 && token && token === session.token) {
    session.token = null; // revoked or rotated: back to the sign-in form
    window.dispatchEvent(new Event("agiletrack:signed-out"));
  }
  if (!response.ok) {
    const error = payload?.error ?? {};
    const message = error.message ?? payload?.message ?? `The API answered ${response.status}.`;
    throw new ApiError(response.status, error.code ?? "http_" + response.status, message, error.details);
  }
  return payload;
}

let documented = null;

/** Whether the API serves a route (from its OpenAPI document), so newer features show only where present. */
export async function serves(path) {
  documented ??= fetch("/openapi.json")
    .then((r) => (r.ok ? r.json() : { paths: {} }))
    .then((d) => new Set(Object.keys(d.paths ?? {})))
    .catch(() => new Set());
  return (await documented).has(path);
}
