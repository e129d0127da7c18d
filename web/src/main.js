// The dashboard's entry: a hash router (#/, #/connect/github, #/integrations/ID?days=30), so every view
// is a shareable, reload-safe URL served by the one index.html.
import "./style.css";
import { api, ApiError, session } from "./api.js";
import { el } from "./format.js";
import { leave, navigate } from "./nav.js";
import { renderSignIn } from "./views/signin.js";
import { renderList } from "./views/list.js";
import { renderConnect } from "./views/connect.js";
import { renderDetail } from "./views/detail.js";

const main = document.getElementById("main");
let team = null;

function parse() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  return { parts: (path || "/").split("/").filter(Boolean), params: new URLSearchParams(query) };
}

async function signedInTeam() {
  if (team || !session.token) return team;
  try {
    team = await api("/teams/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) session.token = null;
    else throw error;
  }
  return team;
}

function showTeam() {
  document.getElementById("team").textContent = team ? team.name : "";
  document.getElementById("signout").hidden = !team;
}

async function route() {
  leave();
  const { parts, params } = parse();
  const view = el("div", { class: "view" });
  main.replaceChildren(view);
  try {
    if (!(await signedInTeam())) {
      showTeam();
      return renderSignIn(view, async (token) => {
        team = await api("/teams/me", { token });
        session.token = token;
        showTeam();
        navigate(parts.length ? location.hash : "#/");
      });
    }
    showTeam();
    if (parts[0] === "connect") return await renderConnect(view, parts[1] ?? "github");
    if (parts[0] === "integrations" && parts[1]) return await renderDetail(view, parts[1], params);
    return await renderList(view);
  } catch (error) {
    view.replaceChildren(
      el("h1", {}, "Something went wrong"),
      el("p", { class: "error", role: "alert" }, error.message),
      el("p", {}, el("a", { href: "#/" }, "Back to the integrations")),
    );
  }
}

document.getElementById("signout").addEventListener("click", () => {
  session.token = null;
  team = null;
  navigate("#/");
});
window.addEventListener("hashchange", route);
window.addEventListener("agiletrack:signed-out", () => {
  team = null;
  route();
});
route();
