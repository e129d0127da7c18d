// What the dashboard knows of each provider: its connect form and the steps to paste a webhook there.
export const FORMS = {
  github: {
    label: "GitHub",
    fields: [
      { name: "repository", label: "Repository (owner/name)", required: true, placeholder: "octo-org/octo-repo" },
      { name: "token", label: "Access token", type: "password", required: true, credential: true, help: "A fine-grained token that can read the repository's contents, pull requests and issues." },
      { name: "branch", label: "Branch", value: "main", required: true },
      { name: "include_private", label: "The repository is private", type: "checkbox" },
      { name: "api_url", label: "API URL (GitHub Enterprise Server only)", type: "url", placeholder: "https://api.github.com" },
    ],
  },
  jira: {
    label: "Jira",
    fields: [
      { name: "server_url", label: "Site URL", type: "url", required: true, placeholder: "https://your-site.atlassian.net" },
      { name: "email", label: "Account email", type: "email", required: true, autocomplete: "email" },
      { name: "api_token", label: "API token", type: "password", required: true, credential: true },
      { name: "project_key", label: "Project key", required: true, placeholder: "ENG" },
      { name: "board_id", label: "Board id (for sprints and story points)", type: "number", min: 1 },
    ],
  },
  trello: {
    label: "Trello",
    fields: [
      { name: "api_key", label: "API key", type: "password", required: true, credential: true },
      { name: "api_token", label: "API token", type: "password", required: true, credential: true },
      { name: "api_secret", label: "Application secret (signs webhooks)", type: "password", credential: true },
      { name: "board_id", label: "Board id", required: true },
      { name: "list_ids", label: "List ids, in workflow order (waiting first, done last), one per line", type: "textarea", required: true },
    ],
  },
};

export function webhookSteps(type, webhook, config) {
  if (type === "github") {
    return [
      `On GitHub, open ${config?.repository ?? "the repository"} → Settings → Webhooks → Add webhook.`,
      "Paste the URL below as the Payload URL and choose application/json as the content type.",
      "Paste the secret below as the Secret.",
      "Choose “Let me select individual events”: Pull requests, Pull request reviews, Pull request review comments, Pushes, Issues, Issue comments. Save.",
    ];
  }
  if (type === "jira") {
    return [
      "In Jira, open Settings → System → WebHooks → Create a WebHook.",
      "Paste the URL below and the secret below in the Secret field.",
      `Limit it with the JQL: project = ${config?.project_key ?? "YOUR-KEY"}.`,
      "Tick Issue created, updated and deleted, and Sprint created, started, updated, closed and deleted. Save.",
    ];
  }
  return [
    "Trello webhooks are made with its API, signed with the application secret you gave.",
    `Create one for board ${config?.board_id ?? ""} with the URL below as callbackURL (POST /1/webhooks with idModel set to the board id).`,
  ];
}

export function fieldValue(field, input) {
  if (field.type === "checkbox") return input.checked;
  const text = input.value.trim();
  if (!text) return undefined;
  if (field.type === "number") return Number(text);
  if (field.type === "textarea") return text.split(/[\s,]+/).filter(Boolean);
  return text;
}
