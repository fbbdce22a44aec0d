// Extra addons panel: the team's extra addons repositories (bare clones, e.g. Odoo Enterprise):
// clone one, pull (fetch) it, protect / unprotect it and delete it. Delete is disabled while the
// repository is protected; the server also refuses it while an environment mounts it.
"use strict";

(() => {
  const { el, notify, getJson, callTool, panel } = window.Oduflow;
  const byId = (id) => document.getElementById(id);
  const api = (name, action) => `/api/extra-repos/${encodeURIComponent(name)}/${action}`;

  async function act(label, action) {
    try {
      const result = await action();
      notify(`${label}: ${result.note || "done"}`, "info");
      return result;
    } catch (err) {
      notify(`${label}: ${err.message}`);
      return null;
    } finally {
      await refreshRepos();
    }
  }

  function button(label, onclick, attrs = {}) {
    return el("button", { type: "button", onclick, ...attrs }, label);
  }

  function repoRow(repo) {
    const name = repo.name;
    const protect = repo.protected
      ? button("Unprotect", () => act(`unprotect ${name}`, () => callTool(api(name, "unprotect"))))
      : button("Protect", () => act(`protect ${name}`, () => callTool(api(name, "protect"))));
    const remove = button(
      "Delete",
      () => {
        if (window.confirm(`Delete the extra addons repository ${name}?`)) {
          act(`delete ${name}`, () => callTool(api(name, "delete")));
        }
      },
      { class: "danger", disabled: repo.protected, title: repo.protected ? "protected: unprotect it first" : null },
    );
    return el(
      "tr",
      { "data-repo": name },
      el("td", { "data-label": "Name" }, name),
      el("td", { "data-label": "URL" }, el("code", {}, repo.repo_url)),
      el("td", { "data-label": "Branches" }, repo.branches.join(", ")),
      el("td", { "data-label": "Used by" }, repo.used_by.join(", ") || "-"),
      el("td", { "data-label": "Protected", class: "repo-protected" }, repo.protected ? "yes" : "no"),
      el(
        "td",
        { "data-label": "Actions", class: "actions" },
        button("Pull", () => act(`pull ${name}`, () => callTool(api(name, "pull")))),
        protect,
        remove,
      ),
    );
  }

  async function refreshRepos(attempt = 0) {
    try {
      const repos = await getJson("/api/extra-repos");
      byId("repo-rows").replaceChildren(...repos.map(repoRow));
      byId("repo-empty").hidden = repos.length > 0;
    } catch (err) {
      // the page's first requests can outnumber the team's operation slots: try again shortly
      if (err.type === "BusyError" && attempt < 5) setTimeout(() => refreshRepos(attempt + 1), 500 * (attempt + 1));
      else notify(`extra addons: ${err.message}`);
    }
  }

  async function cloneRepo(event) {
    event.preventDefault();
    const form = event.target;
    const button = byId("repo-submit");
    button.disabled = true;
    try {
      const body = { name: form.elements.name.value.trim(), repo_url: form.elements.repo_url.value.trim() };
      const result = await act(`clone ${body.name}`, () => callTool("/api/extra-repos/add", body));
      if (result) form.reset();
    } finally {
      button.disabled = false;
    }
  }

  panel(() => {
    byId("repo-form").addEventListener("submit", cloneRepo);
    byId("repo-refresh").addEventListener("click", () => refreshRepos());
    refreshRepos();
  });
})();
