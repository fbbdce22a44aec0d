/**
 * Oduflow's web terminal: the `odoo shell` of an environment, in the browser (xterm.js).
 *
 * Usage (the page needs only <script src="/static/terminal.js">; the rest is loaded on first use):
 *
 *   const t = window.OduflowTerminal.open(element, branch);
 *   t.ready   // Promise: resolved once the socket is open (rejected when the libraries fail to load)
 *   t.close() // closes the socket: the server kills the shell; idempotent
 *
 * `open` empties `element`, mounts an xterm Terminal sized to it (fit addon, refitted when the
 * element resizes) and connects ws(s)://<this host>/api/environments/<branch>/terminal. Keystrokes
 * go as binary frames, sizes as {"type": "resize", "cols", "rows"} text frames; the output arrives as
 * binary frames; when the socket closes, its reason (or the server's error message) is written on
 * the terminal and `element.dataset.state` becomes "closed" ("connecting", then "open", before).
 * The protocol is described in docs/dashboard.md ("Terminal").
 *
 * The libraries are the package's own copies (/static/vendor/, filled from the npm registry by the
 * build: package-lock.json, setup.py), never a CDN.
 */
(function () {
  "use strict";

  const SCRIPTS = ["/static/vendor/xterm.js", "/static/vendor/addon-fit.js"];
  const STYLES = ["/static/vendor/xterm.css", "/static/terminal.css"];
  let loading = null;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.append(script);
    });
  }

  function loadLibraries() {
    if (!loading) {
      for (const href of STYLES) {
        const link = document.createElement("link");
        link.rel = "stylesheet";
        link.href = href;
        document.head.append(link);
      }
      loading = SCRIPTS.reduce((done, src) => done.then(() => loadScript(src)), Promise.resolve());
      loading.catch(() => { loading = null; });  // a later open() tries again
    }
    return loading;
  }

  function socketUrl(branch, cols, rows) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const path = `/api/environments/${encodeURIComponent(branch)}/terminal`;
    return `${scheme}//${location.host}${path}?cols=${cols}&rows=${rows}`;
  }

  function notice(term, text) {
    term.write(`\r\n\x1b[33m[${text}]\x1b[0m\r\n`);
  }

  function connect(element, branch, handle) {
    const term = new window.Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 13 });
    const fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(element);
    fit.fit();
    const socket = new WebSocket(socketUrl(branch, term.cols, term.rows));
    socket.binaryType = "arraybuffer";
    const encoder = new TextEncoder();
    let error = "";
    const send = (data) => { if (socket.readyState === WebSocket.OPEN) socket.send(data); };
    term.onData((data) => send(encoder.encode(data)));
    term.onBinary((data) => send(Uint8Array.from(data, (c) => c.charCodeAt(0))));
    term.onResize(({ cols, rows }) => send(JSON.stringify({ type: "resize", cols, rows })));
    const observer = new ResizeObserver(() => { if (element.isConnected) fit.fit(); });
    observer.observe(element);
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") { term.write(new Uint8Array(event.data)); return; }
      const message = JSON.parse(event.data);
      if (message.type === "error") error = message.message;
    };
    const opened = new Promise((resolve) => { socket.onopen = resolve; });
    socket.onclose = (event) => {
      observer.disconnect();
      term.options.disableStdin = true;
      element.dataset.state = "closed";
      notice(term, `terminal closed: ${error || event.reason || `code ${event.code}`}`);
    };
    Object.assign(handle, { term, socket });
    opened.then(() => { if (element.dataset.state !== "closed") element.dataset.state = "open"; term.focus(); });
    return opened;
  }

  function open(element, branch) {
    element.replaceChildren();
    element.classList.add("oduflow-terminal");
    element.dataset.state = "connecting";
    const handle = {
      term: null,
      socket: null,
      closed: false,
      close() {
        this.closed = true;
        if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000, "closed by the browser");
      },
    };
    handle.ready = loadLibraries().then(() => {
      if (handle.closed) return undefined;
      return connect(element, branch, handle);
    }, (exc) => {
      element.dataset.state = "closed";
      element.textContent = `The terminal is not available: ${exc.message}`;
      throw exc;
    });
    return handle;
  }

  window.OduflowTerminal = { open };
})();
