// Oduflow dashboard: plain DOM code, no framework. Every request is same-origin; bodies are
// JSON (the server refuses anything else on state-changing requests). Long operations are
// called with "Accept: text/event-stream" and report their steps as they go.
"use strict";

const REFRESH_MS = 5000;
const STATS_MS = 10000;
const LOG_KEEP_LINES = 5000;
const $ = (id) => document.getElementById(id);

// --- helpers ----------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function notify(message, kind = "error") {
  $("notice-text").textContent = message;
  $("notice").className = "notice " + kind;
  $("notice").hidden = false;
}

function payload(body) {
  // lists and text come as {"ok": true, "result": ...}; objects as their own fields
  return body && Object.prototype.hasOwnProperty.call(body, "result") ? body.result : body;
}

class ApiError extends Error {
  constructor(body, status) {
    super(body.error || `HTTP ${status}`);
    this.type = body.type || "";
    this.status = status;
  }
}

async function jsonOf(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    body = { ok: false, error: `${response.status} ${response.statusText}` };
  }
  if (!response.ok || body.ok === false) throw new ApiError(body, response.status);
  return body;
}

// Reads are retried when refused for the team's operation slots (BusyError): the panels load at
// the same moment and the team may run operations meanwhile; anything else is thrown at once.
const READ_ATTEMPTS = 8;

async function getJson(path) {
  for (let attempt = 1; ; attempt++) {
    try {
      return payload(await jsonOf(await fetch(path, { headers: { Accept: "application/json" } })));
    } catch (err) {
      if (err.type !== "BusyError" || attempt >= READ_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

// Reads a text/event-stream response, calling onEvent(name, data) per event.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}

// POST a tool call; progress messages go to onProgress; resolves to the result body.
async function callTool(path, body, onProgress = () => {}) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body || {}),
  });
  if (!(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    return payload(await jsonOf(response));
  }
  let result = null;
  await readEvents(response, (name, data) => {
    if (name === "progress") onProgress(data.message);
    else if (name === "result") result = data;
  });
  if (!result) throw new ApiError({ error: "the server closed the stream without a result" }, 502);
  if (result.ok === false) throw new ApiError(result, response.status);
  return payload(result);
}

const envPath = (branch, action) => `/api/environments/${encodeURIComponent(branch)}/${action}`;

// --- environments -------------------------------------------------------------------------
const state = { usage: {}, busy: {}, templates: [] };

function statusClass(status) {
  if (status === "running") return "running";
  if (status === "creating") return "creating";
  if (["exited", "created", "paused", "stopped", "dead"].includes(status)) return "stopped";
  return "partial"; // record without its container, a failed creation, Docker unreachable...
}

function usageText(branch) {
  const u = state.usage[branch];
  if (!u) return "—";
  return `${u.cpu_percent}% · ${Math.round(u.memory_mb)} / ${Math.round(u.memory_limit_mb)} MB`;
}

const ACTIONS = [
  ["start", "Start", (e) => statusClass(e.status) === "running"],
  ["stop", "Stop", (e) => statusClass(e.status) !== "running"],
  ["restart", "Restart", () => false],
  ["recreate", "Recreate", () => false],
];
const CONFIRM = {
  delete: (branch) => `Delete environment "${branch}"? Its database and filestore are removed.`,
  recreate: (branch) => `Recreate environment "${branch}"? Its database, filestore and checkout are replaced by fresh ones.`,
};

function actionButtons(env) {
  const box = el("div", { class: "actions" });
  const busy = Boolean(state.busy[env.branch]) || env.status === "creating";
  for (const [action, label, disabled] of ACTIONS) {
    box.append(el("button", { type: "button", "data-action": action, disabled: busy || disabled(env),
      onclick: () => runAction(env.branch, action) }, label));
  }
  const protect = env.protected ? ["unprotect", "Unprotect"] : ["protect", "Protect"];
  box.append(el("button", { type: "button", "data-action": protect[0], disabled: busy,
    onclick: () => runAction(env.branch, protect[0]) }, protect[1]));
  box.append(el("button", { type: "button", "data-action": "logs", onclick: () => openLogs(env.branch) }, "Logs"));
  box.append(el("button", { type: "button", "data-action": "terminal", onclick: () => openTerminal(env.branch) }, "Terminal"));
  box.append(el("button", { type: "button", class: "danger", "data-action": "delete", disabled: busy,
    onclick: () => runAction(env.branch, "delete") }, "Delete"));
  return box;
}

function envRow(env) {
  const cls = statusClass(env.status);
  const link = env.url ? el("a", { href: env.url, target: "_blank", rel: "noopener" }, env.url) : "—";
  const cell = (label, ...content) => el("td", { "data-label": label }, ...content);
  const wrapCell = (label, ...content) => el("td", { "data-label": label, class: "wrap" }, ...content);
  const actions = cell("Actions", actionButtons(env));
  actions.classList.add("actions");
  if (state.busy[env.branch]) actions.append(el("span", { class: "busy" }, state.busy[env.branch]));
  return el("tr", { "data-branch": env.branch },
    cell("Branch", el("strong", {}, env.branch)),
    cell("Status", el("span", { class: "status " + cls, "data-status": cls, title: env.status }, cls)),
    wrapCell("URL", link),
    cell("Template", env.template || "—"),
    cell("Odoo image", env.odoo_image || "—"),
    wrapCell("Repository", env.repo_url || "—"),
    cell("Protected", el("span", { "data-protected": String(Boolean(env.protected)) }, env.protected ? "yes" : "no")),
    cell("CPU / RAM", usageText(env.branch)),
    actions);
}

async function refreshEnvironments() {
  try {
    const envs = await getJson("/api/environments");
    $("env-rows").replaceChildren(...envs.map(envRow));
    $("env-empty").hidden = envs.length > 0;
  } catch (err) {
    notify(`Cannot list environments: ${err.message}`);
  }
}

async function runAction(branch, action) {
  if (CONFIRM[action] && !window.confirm(CONFIRM[action](branch))) return;
  state.busy[branch] = `${action}…`;
  refreshEnvironments();
  try {
    await callTool(envPath(branch, action), {}, (message) => {
      state.busy[branch] = message;
      refreshEnvironments();
    });
    notify(`${action} ${branch}: done`, "info");
  } catch (err) {
    notify(`${action} ${branch} failed: ${err.message}`);
  } finally {
    delete state.busy[branch];
    refreshEnvironments();
  }
}

// --- creation -------------------------------------------------------------------------------
function addStep(message) {
  const steps = $("create-steps");
  for (const li of steps.querySelectorAll("li.active")) li.className = "done";
  steps.append(el("li", { class: "active" }, message));
  refreshEnvironments(); // the new environment shows as "creating" once its name is reserved
}

function failStep(error) {
  const steps = $("create-steps");
  const named = /failed at step '([^']+)'/.exec(error);
  const items = [...steps.querySelectorAll("li")];
  const failed = (named && items.find((li) => li.textContent === named[1])) || items[items.length - 1];
  for (const li of steps.querySelectorAll("li.active")) li.className = "done";
  if (failed) failed.className = "failed";
}

async function createEnvironment(event) {
  event.preventDefault();
  const form = event.target;
  const body = Object.fromEntries(new FormData(form).entries());
  const result = $("create-result");
  $("create-steps").replaceChildren();
  result.className = "result";
  result.textContent = `Creating ${body.branch_name}…`;
  $("create-submit").disabled = true;
  try {
    const created = await callTool("/api/environments/create", body, addStep);
    for (const li of $("create-steps").querySelectorAll("li.active")) li.className = "done";
    result.className = "result ok";
    result.replaceChildren(`Created ${created.branch}: `, el("a", { href: created.url, target: "_blank", rel: "noopener" }, created.url));
    form.reset();
  } catch (err) {
    failStep(err.message);
    result.className = "result error";
    result.textContent = `Creation failed: ${err.message}`;
  } finally {
    $("create-submit").disabled = false;
    refreshStats().then(refreshEnvironments);
  }
}

// --- templates, guides, stats ------------------------------------------------------------------
async function refreshTemplates() {
  try {
    state.templates = await getJson("/api/templates");
  } catch (err) {
    notify(`Cannot list templates: ${err.message}`);
    return;
  }
  const cell = (label, text) => el("td", { "data-label": label }, text);
  $("template-rows").replaceChildren(...state.templates.map((t) => el("tr", { "data-template": t.name },
    cell("Name", t.name), cell("Status", t.status), cell("Storage", t.storage || "—"),
    cell("Dump", t.dump_mb !== undefined ? `${t.dump_mb} MB` : "—"),
    cell("Filestore", t.filestore_mb !== undefined ? `${t.filestore_mb} MB` : "—"))));
  const select = $("create-form").elements.template_name;
  const chosen = select.value;
  const fixed = [...select.options].slice(0, 2); // "default" and "none"
  select.replaceChildren(...fixed, ...state.templates.map((t) => el("option", { value: t.name }, t.name)));
  select.value = chosen;
}

async function refreshGuides() {
  try {
    const guides = await getJson("/api/agent-guides");
    $("guide-list").replaceChildren(...guides.map((g) => el("li", {},
      el("button", { type: "button", "data-guide": g.filename, onclick: () => openGuide(g.filename) },
        g.title || g.filename),
      el("span", { class: "muted" }, ` ${g.filename}`))));
  } catch (err) {
    notify(`Cannot list agent guides: ${err.message}`);
  }
}

async function openGuide(filename) {
  const dialog = $("guide-dialog");
  $("guide-title").textContent = filename;
  $("guide-text").textContent = "Loading…";
  dialog.showModal();
  try {
    $("guide-text").textContent = (await getJson(`/api/agent-guides/${encodeURIComponent(filename)}`)).content;
  } catch (err) {
    $("guide-text").textContent = `Cannot read ${filename}: ${err.message}`;
  }
}

function statItem(label, value) {
  return el("div", {}, el("dt", {}, label), el("dd", {}, value));
}

async function refreshStats() {
  if (document.hidden) return;
  try {
    const stats = await getJson("/api/stats");
    const host = stats.host;
    $("host-stats").title = "";
    state.usage = Object.fromEntries(stats.containers.map((c) => [c.branch, c]));
    const cpu = stats.containers.reduce((sum, c) => sum + (c.cpu_percent || 0), 0);
    $("host-stats").replaceChildren(
      statItem("Load", host.load_average.join(" / ")),
      statItem("CPUs", String(host.cpu_count)),
      statItem("RAM", `${host.memory_used_percent}% of ${Math.round(host.memory_total_mb)} MB`),
      statItem("Env CPU", `${Math.round(cpu)}%`),
      statItem("Env RAM", `${Math.round(stats.containers.reduce((s, c) => s + (c.memory_mb || 0), 0))} MB`));
  } catch (err) {
    $("host-stats").replaceChildren(statItem("Stats", "unavailable"));
    $("host-stats").title = err.message;
  }
}

// --- live logs ------------------------------------------------------------------------------
let logStream = null;

let logLines = 0;

function appendLines(lines) {
  // one <span> per batch; the oldest batches go once more than LOG_KEEP_LINES are shown
  const out = $("log-output");
  const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 20;
  out.append(el("span", { "data-lines": lines.length }, lines.join("\n") + "\n"));
  logLines += lines.length;
  while (logLines > LOG_KEEP_LINES && out.childElementCount > 1) {
    logLines -= Number(out.firstElementChild.dataset.lines);
    out.firstElementChild.remove();
  }
  if (atBottom) out.scrollTop = out.scrollHeight;
}

function clearLog() {
  $("log-output").replaceChildren();
  logLines = 0;
}

async function followLogs(branch) {
  logStream?.abort();
  const controller = new AbortController();
  logStream = controller;
  $("log-follow").hidden = true;
  $("log-state").textContent = "following…";
  try {
    const response = await fetch(`${envPath(branch, "logs/stream")}?n=200`, {
      headers: { Accept: "text/event-stream" }, signal: controller.signal });
    if (!response.ok) await jsonOf(response);
    await readEvents(response, (name, data) => {
      if (name === "lines") appendLines(data.lines);
      else if (name === "end") $("log-state").textContent = `stream ended: ${data.reason}`;
    });
  } catch (err) {
    if (controller.signal.aborted) return;
    $("log-state").textContent = "error";
    appendLines([`error: ${err.message}`]);
  }
  if (logStream === controller) $("log-follow").hidden = false;
}

function openLogs(branch) {
  $("log-title").textContent = `Logs: ${branch}`;
  clearLog();
  $("log-follow").onclick = () => { clearLog(); followLogs(branch); };
  $("log-dialog").showModal();
  followLogs(branch);
}

// --- terminal (terminal.js provides window.OduflowTerminal) --------------------------------------
let terminal = null;

function openTerminal(branch) {
  $("terminal-title").textContent = `Odoo shell: ${branch}`;
  const box = $("terminal");
  box.replaceChildren();
  $("terminal-dialog").showModal();
  if (!window.OduflowTerminal) {
    box.append(el("p", { class: "result error" }, "The terminal is not available (terminal.js did not load)."));
    return;
  }
  terminal = window.OduflowTerminal.open(box, branch);
}

// --- start ------------------------------------------------------------------------------------
function closeViewers(dialog) {
  if (dialog.id === "log-dialog") {
    logStream?.abort();
    logStream = null;
  }
  if (dialog.id === "terminal-dialog" && terminal) {
    terminal.close?.();
    terminal = null;
  }
}

function start() {
  $("refresh").addEventListener("click", () => { refreshEnvironments(); refreshStats(); refreshTemplates(); });
  $("notice-close").addEventListener("click", () => { $("notice").hidden = true; });
  $("create-form").addEventListener("submit", createEnvironment);
  for (const dialog of document.querySelectorAll("dialog")) {
    dialog.addEventListener("close", () => closeViewers(dialog));
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
  }
  window.addEventListener("pagehide", () => { logStream?.abort(); terminal?.close?.(); });
  refreshEnvironments();
  refreshTemplates();
  refreshGuides();
  refreshStats().then(refreshEnvironments);
  setInterval(() => { if (!document.hidden) refreshEnvironments(); }, REFRESH_MS);
  setInterval(refreshStats, STATS_MS);
}

// --- panels -----------------------------------------------------------------------------------
// A panel script (loaded after this one) registers itself with Oduflow.panel(start) and builds
// its section with the helpers below; its start function runs once the page is loaded.
const panels = [];
window.Oduflow = { el, notify, getJson, callTool, panel: (startPanel) => panels.push(startPanel) };

document.addEventListener("DOMContentLoaded", () => {
  start();
  for (const startPanel of panels) startPanel();
});
