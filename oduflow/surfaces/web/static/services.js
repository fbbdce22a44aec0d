// Auxiliary services panel: list, create, update, delete and logs of the team's services, and
// its saved presets (restore, delete). Environment values are never shown: the API masks them.
"use strict";

(() => {
  const { el, notify, getJson, callTool, panel } = window.Oduflow;
  const byId = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  async function act(label, action) {
    try {
      const result = await action();
      if (result && result.status) notify(`${label}: ${result.status}`, "info");
      await refreshServices();
    } catch (err) {
      notify(`${label}: ${err.message}`);
    }
  }

  async function showLogs(name) {
    try {
      const result = await getJson(`/api/services/${enc(name)}/logs?n=200`);
      byId("svc-logs-title").textContent = `Logs of ${name}`;
      byId("svc-logs").textContent = result.logs || "(no output)";
      byId("svc-logs-box").hidden = false;
    } catch (err) {
      notify(`logs of ${name}: ${err.message}`);
    }
  }

  function serviceRow(svc) {
    const name = svc.name;
    const env = Object.keys(svc.env_vars).join(", ") || "-";
    const url = svc.url ? el("a", { href: svc.url, target: "_blank", rel: "noopener" }, svc.url) : "-";
    return el(
      "tr",
      { "data-service": name },
      el("td", { "data-label": "Name" }, name),
      el("td", { "data-label": "Status" }, svc.status),
      el("td", { "data-label": "Image" }, svc.image),
      el("td", { "data-label": "Address" }, el("code", {}, svc.address)),
      el("td", { "data-label": "URL" }, url),
      el("td", { "data-label": "Env" }, env),
      el(
        "td",
        { "data-label": "Actions", class: "actions" },
        el("button", { type: "button", onclick: () => showLogs(name) }, "Logs"),
        el("button", {
          type: "button",
          onclick: () => act(`update ${name}`, () => callTool(`/api/services/${enc(name)}/update`, {})),
        }, "Update"),
        el("button", {
          type: "button",
          class: "danger",
          onclick: () => {
            if (window.confirm(`Delete service ${name}? Its preset is kept.`)) {
              act(`delete ${name}`, () => callTool(`/api/services/${enc(name)}/delete`, {}));
            }
          },
        }, "Delete"),
      ),
    );
  }

  function presetRow(preset) {
    const name = preset.name;
    return el(
      "tr",
      { "data-preset": name },
      el("td", {}, name),
      el("td", {}, preset.image),
      el("td", {}, String(preset.port)),
      el(
        "td",
        { class: "actions" },
        el("button", {
          type: "button",
          onclick: () => act(`restore ${name}`, () => callTool("/api/service-presets/restore", { name })),
        }, "Restore"),
        el("button", {
          type: "button",
          class: "danger",
          onclick: () => act(`forget ${name}`, () => callTool(`/api/service-presets/${enc(name)}/delete`, {})),
        }, "Forget"),
      ),
    );
  }

  async function refreshServices() {
    try {
      const services = await getJson("/api/services");
      const presets = await getJson("/api/service-presets");
      byId("svc-rows").replaceChildren(...services.map(serviceRow));
      byId("svc-empty").hidden = services.length > 0;
      byId("preset-rows").replaceChildren(...presets.map(presetRow));
    } catch (err) {
      notify(`services: ${err.message}`);
    }
  }

  async function createService(event) {
    event.preventDefault();
    const form = event.target;
    const data = Object.fromEntries(new FormData(form).entries());
    data.port = Number(data.port);
    const submit = byId("svc-submit");
    submit.disabled = true;
    try {
      await callTool("/api/services/create", data);
      form.reset();
      notify(`service ${data.name} created`, "info");
    } catch (err) {
      notify(`create service ${data.name}: ${err.message}`);
    } finally {
      submit.disabled = false;
      await refreshServices();
    }
  }

  panel(() => {
    byId("svc-form").addEventListener("submit", createService);
    byId("svc-refresh").addEventListener("click", refreshServices);
    refreshServices();
  });
})();
