// isobench operator station: show what the server says, send what the operator does.
// Nothing here decides anything: every region is rendered by the server (server-sent events),
// every action is a POST the server checks. Keyboard first: a barcode scanner types the
// serial and Enter; Enter on the instruction screen starts; Escape aborts a run.
(() => {
  "use strict";
  const body = document.body;
  const lang = body.dataset.lang;
  const regionNames = ["header", "notice", "banner", "screen", "side"];
  const shown = {};
  let phase = body.dataset.phase;
  let version = Number(body.dataset.version);
  const serial = document.getElementById("serial");
  const idlePhases = ["idle", "ready", "verdict"];

  function isTextField(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");
  }

  function apply(message) {
    if (message.version < version) return; // an older state than the one shown
    version = message.version;
    const changedPhase = message.phase !== phase;
    phase = message.phase;
    body.dataset.phase = phase;
    body.dataset.version = String(version);
    for (const name of regionNames) {
      const html = message.regions[name];
      if (html !== undefined && html !== shown[name]) {
        shown[name] = html;
        document.getElementById(name).innerHTML = html;
      }
    }
    const closed = phase === "setup" || phase === "running";
    serial.disabled = closed;
    document.getElementById("scan-button").disabled = closed;
    placeFocus(changedPhase);
    tick();
  }

  // the serial field has the focus whenever no run is active (unless another field is in use)
  function placeFocus(changedPhase) {
    const active = document.activeElement;
    if (idlePhases.includes(phase)) {
      if (!isTextField(active) || !document.body.contains(active) || changedPhase) serial.focus();
    } else if (phase === "setup") {
      const field = document.getElementById("operator-input");
      if (field && (changedPhase || !isTextField(active))) field.focus();
    } else if (phase === "running") {
      const abort = document.getElementById("abort-button");
      if (abort && (changedPhase || !document.body.contains(active) || active === body)) abort.focus();
    }
  }

  async function post(path, data) {
    let response;
    try {
      response = await fetch(path + "?lang=" + lang, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data || {}),
      });
    } catch (err) {
      showConnection(true);
      return null;
    }
    const message = await response.json().catch(() => null);
    if (message && message.regions) apply(message);
    return response.ok;
  }

  const actions = {
    start: () => {
      const button = document.getElementById("start-button");
      return post("/api/start", { serial: button ? button.dataset.serial : "" });
    },
    cancel: () => post("/api/cancel"),
    abort: () => post("/api/abort", { reason: "aborted by the operator at the panel" }),
    setup: () => post("/api/setup"),
  };

  document.getElementById("scan").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = serial.value.trim();
    serial.value = "";
    if (value) post("/api/scan", { serial: value });
    else actions.start(); // Enter on the instruction screen starts (the server checks the phase)
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (button && button.tagName === "BUTTON" && actions[button.dataset.action]) {
      event.preventDefault();
      actions[button.dataset.action]();
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id === "setup-form") {
      event.preventDefault();
      post("/api/operator", {
        name: form.elements.operator.value,
        lot: form.elements.lot.value,
      });
    } else if (form.id === "lot-form") {
      event.preventDefault();
      post("/api/lots", {
        lot_size: form.elements.lot_size.value,
        aql: form.elements.aql.value,
        supplier: form.elements.supplier.value,
        level: form.elements.level.value,
        lot_id: form.elements.lot_id.value,
      });
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      if (phase === "running") { event.preventDefault(); actions.abort(); }
      else if (phase === "ready") { event.preventDefault(); actions.cancel(); }
      return;
    }
    // a scanner typing while the focus is elsewhere (a link, a button): into the serial field
    if (idlePhases.includes(phase) && event.key.length === 1 && !event.ctrlKey && !event.altKey
        && !event.metaKey && !isTextField(document.activeElement)) {
      serial.focus();
    }
  });

  // elapsed time ticks in the browser between the server's updates (display only)
  function tick() {
    const el = document.getElementById("elapsed");
    if (!el || phase !== "running") return;
    const seconds = Math.max(0, Math.round(Date.now() / 1000 - Number(el.dataset.started)));
    el.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }
  setInterval(tick, 1000);

  function showConnection(lost) {
    document.getElementById("connection").hidden = !lost;
  }

  function connect() {
    const source = new EventSource("/api/events?lang=" + lang);
    source.onopen = () => showConnection(false);
    source.onmessage = (event) => apply(JSON.parse(event.data));
    source.onerror = () => showConnection(source.readyState !== EventSource.OPEN);
  }

  for (const name of regionNames) shown[name] = document.getElementById(name).innerHTML;
  placeFocus(true);
  connect();
})();
