// Git credentials panel: the team's stored credentials (host, user name, masked token), add one
// (verified with git ls-remote by the server before it is kept), validate and delete. The token
// typed in is sent once and never shown again: the API answers with masked values only.
"use strict";

(() => {
  const { el, notify, getJson, callTool, panel } = window.Oduflow;
  const byId = (id) => document.getElementById(id);

  async function act(label, action) {
    try {
      const result = await action();
      notify(`${label}: ${result.message || "done"}`, result.status === "invalid" ? "error" : "info");
      await refreshCredentials();
      return result;
    } catch (err) {
      notify(`${label}: ${err.message}`);
      return null;
    }
  }

  function credentialRow(cred) {
    const key = { host: cred.host, username: cred.username };
    const where = `${cred.username}@${cred.host}`;
    return el(
      "tr",
      { "data-credential": where },
      el("td", { "data-label": "Host" }, cred.host),
      el("td", { "data-label": "User" }, cred.username),
      el("td", { "data-label": "Token" }, el("code", {}, cred.token)),
      el("td", { "data-label": "Status", class: "cred-status" }, "-"),
      el(
        "td",
        { "data-label": "Actions", class: "actions" },
        el("button", {
          type: "button",
          onclick: async () => {
            const result = await act(`validate ${where}`, () => callTool("/api/credentials/validate", key));
            // the list was refreshed: the status goes into the new row
            const cell = byId("cred-rows").querySelector(`tr[data-credential="${CSS.escape(where)}"] .cred-status`);
            if (result && cell) cell.textContent = result.status;
          },
        }, "Validate"),
        el("button", {
          type: "button",
          class: "danger",
          onclick: () => {
            if (window.confirm(`Delete the credential of ${where}?`)) {
              act(`delete ${where}`, () => callTool("/api/credentials/delete", key));
            }
          },
        }, "Delete"),
      ),
    );
  }

  async function refreshCredentials() {
    try {
      const creds = await getJson("/api/credentials");
      byId("cred-rows").replaceChildren(...creds.map(credentialRow));
      byId("cred-empty").hidden = creds.length > 0;
    } catch (err) {
      notify(`credentials: ${err.message}`);
    }
  }

  async function addCredential(event) {
    event.preventDefault();
    const form = event.target;
    const button = byId("cred-submit");
    button.disabled = true;
    try {
      const result = await act("add credential", () =>
        callTool("/api/credentials/add", { repo_url: form.elements.repo_url.value.trim() }),
      );
      if (result) form.reset(); // the token leaves the page once it is stored
    } finally {
      button.disabled = false;
    }
  }

  panel(() => {
    byId("cred-form").addEventListener("submit", addCredential);
    byId("cred-refresh").addEventListener("click", refreshCredentials);
    refreshCredentials();
  });
})();
