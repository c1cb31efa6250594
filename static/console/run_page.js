/* The run page: copy the id, check the replay editor's JSON against the function's input
   schema, and follow an active run live (status, what it waits for, desk states, new
   timeline rows) by polling <run>/live/ every 1.5 s until the run finishes. No reload. */
(function () {
  "use strict";
  var POLL_MS = 1500;
  var root = document.getElementById("content-main");
  if (!root || !root.classList.contains("rp")) return;

  // -- copy the run id -------------------------------------------------------------------
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      var done = function () {
        button.classList.add("copied");
        button.textContent = "copied";
        setTimeout(function () { button.classList.remove("copied"); button.textContent = "copy"; }, 1200);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        try { document.execCommand("copy"); done(); } catch (e) { /* nothing to copy with */ }
        area.remove();
      }
    });
  });

  // -- replay with edited input -------------------------------------------------------------
  var toggle = document.getElementById("replay-edit-toggle");
  var editor = document.getElementById("replay-editor");
  if (toggle && editor) {
    toggle.addEventListener("click", function () {
      editor.hidden = !editor.hidden;
      if (!editor.hidden) document.getElementById("replay-input").focus();
    });
  }
  var schemaNode = document.getElementById("replay-schema");
  var schema = schemaNode ? JSON.parse(schemaNode.textContent) : null;

  function typeOf(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
    return typeof value;
  }
  function typeMatches(expected, actual) {
    if (expected === actual) return true;
    return expected === "number" && actual === "integer";
  }
  function resolve(node) {
    var guard = 0;
    while (node && node.$ref && guard++ < 20) {
      var parts = node.$ref.replace(/^#\//, "").split("/");
      var target = schema;
      parts.forEach(function (part) { target = target ? target[part] : undefined; });
      node = target;
    }
    return node || {};
  }
  /* A subset of JSON Schema (type, required, properties, additionalProperties: false,
     items, enum, anyOf/oneOf, $ref into $defs): enough for pydantic models. Keywords it does
     not know never refuse a value; the server's check is the one that counts. */
  function check(node, value, path, problems) {
    node = resolve(node);
    if (problems.length > 20) return;
    var alternatives = node.anyOf || node.oneOf;
    if (alternatives) {
      var fits = alternatives.some(function (alt) { var p = []; check(alt, value, path, p); return !p.length; });
      if (!fits) problems.push((path || "(input)") + ": does not match any allowed shape");
      return;
    }
    var actual = typeOf(value);
    if (node.type) {
      var types = Array.isArray(node.type) ? node.type : [node.type];
      if (!types.some(function (t) { return typeMatches(t, actual); })) {
        problems.push((path || "(input)") + ": expected " + types.join(" or ") + ", got " + actual);
        return;
      }
    }
    if (node.enum && !node.enum.some(function (v) { return JSON.stringify(v) === JSON.stringify(value); })) {
      problems.push((path || "(input)") + ": must be one of " + JSON.stringify(node.enum));
    }
    if (actual === "object") {
      (node.required || []).forEach(function (key) {
        if (!(key in value)) problems.push((path ? path + "." : "") + key + ": required");
      });
      var props = node.properties || {};
      Object.keys(value).forEach(function (key) {
        var sub = (path ? path + "." : "") + key;
        if (props[key]) check(props[key], value[key], sub, problems);
        else if (node.additionalProperties === false) problems.push(sub + ": not allowed");
      });
    }
    if (actual === "array" && node.items) {
      value.forEach(function (item, i) { check(node.items, item, path + "[" + i + "]", problems); });
    }
  }

  var input = document.getElementById("replay-input");
  var status = document.getElementById("replay-check");
  var submit = document.getElementById("replay-submit");
  function validate() {
    var text = input.value.trim();
    var problems = [];
    var parsed;
    if (text) {
      try { parsed = JSON.parse(text); } catch (e) {
        status.className = "rp-check bad";
        status.textContent = "Malformed JSON: " + e.message;
        submit.disabled = true;
        return;
      }
    } else {
      parsed = {};
    }
    if (schema) check(schema, parsed, "", problems);
    if (problems.length) {
      status.className = "rp-check bad";
      status.textContent = "Does not match the input schema: " + problems.slice(0, 5).join("; ");
      submit.disabled = true;
    } else {
      status.className = "rp-check good";
      status.textContent = schema ? "Valid JSON, matches the input schema." : "Valid JSON.";
      submit.disabled = false;
    }
  }
  if (input && status && submit) {
    input.addEventListener("input", validate);
    validate();
  }

  // -- live updates while the run is active ---------------------------------------------------
  var liveUrl = root.getAttribute("data-live-url");
  var lastSeq = parseInt(root.getAttribute("data-last-seq"), 10) || 0;
  var newEvents = 0;
  var listeners = [];
  window.RawrRunPage = {
    /* Panels (e.g. the desk graph) subscribe to each live answer: fn(data). */
    onLive: function (fn) { listeners.push(fn); },
  };

  function setHTML(id, html) {
    var node = document.getElementById(id);
    if (node && html !== undefined && html !== null) node.innerHTML = html;
  }
  function setText(id, text) {
    var node = document.getElementById(id);
    if (node && text !== undefined && text !== null) node.textContent = text;
  }
  function waitingText(waiting) {
    var node = document.getElementById("run-waiting");
    if (!node) return;
    if (!waiting) { node.hidden = true; return; }
    node.hidden = false;
    node.textContent = "";
    node.append("Waiting for ");
    var strong = document.createElement("strong");
    strong.textContent = waiting.text;
    node.append(strong);
    if (waiting.sinceText) node.append(" since " + waiting.sinceText);
    if (waiting.timeoutText) node.append(" · times out " + waiting.timeoutText);
  }
  function appendTimeline(events) {
    var table = document.getElementById("timeline-table");
    if (!events.length || !table) return;
    var body = table.tBodies[0];
    var onLastPage = !document.querySelector(".rp-pages a[rel=next]");
    events.forEach(function (event) {
      if (onLastPage && body.rows.length < 50) {
        var empty = body.querySelector("td[colspan]");
        if (empty) empty.parentNode.remove();
        var row = body.insertRow(-1);
        row.className = "rp-new";
        [["num tl-seq", String(event.seq)], ["tl-type", event.type], ["tl-step", event.stepId || ""],
         ["tl-time", event.time], ["tl-payload", ""]].forEach(function (cell, i) {
          var td = row.insertCell(-1);
          td.className = cell[0];
          if (i === 1 || (i === 2 && cell[1])) {
            var code = document.createElement("code"); code.textContent = cell[1]; td.append(code);
          } else {
            td.textContent = cell[1];
          }
        });
      } else {
        newEvents += 1;
      }
    });
    if (newEvents) {
      var live = document.getElementById("timeline-live");
      live.hidden = false;
      live.textContent = "+" + newEvents + " newer events on later pages";
    }
  }
  function apply(data) {
    setHTML("run-status", data.statusBadge);
    setText("run-attempt", String(data.attempt));
    setText("run-duration", data.duration);
    if (data.finishedAt) setText("run-finished", data.finishedAt);
    if (data.startedAt) setText("run-started", data.startedAt);
    if (data.stepsHtml) setHTML("waterfall", data.stepsHtml);
    setText("timeline-count", String(data.lastSeq));
    waitingText(data.waitingFor);
    appendTimeline(data.timeline || []);
    if (data.timeline && data.timeline.length) lastSeq = data.timeline[data.timeline.length - 1].seq;
    listeners.forEach(function (fn) {
      try { fn(data); } catch (e) { if (window.console) console.error(e); }
    });
    if (data.finished && !data.moreTimeline) {
      root.setAttribute("data-active", "0");
      var note = document.getElementById("run-finished-note");
      if (note) note.hidden = false;
      var actions = document.getElementById("run-actions");
      if (actions) actions.querySelectorAll("button[name=cancel]").forEach(function (b) { b.disabled = true; });
    }
  }
  // -- desk states (coordination runs): the DOM mirror, the SVG, and RawrDeskGraph -----------
  var graphData = document.getElementById("desk-graph-data");
  function setDeskStates(desks) {
    desks.forEach(function (desk) {
      document.querySelectorAll('#desk-states li[data-desk-id="' + CSS.escape(desk.deskId) + '"]').forEach(function (li) {
        li.setAttribute("data-state", desk.state);
        var label = li.querySelector(".desk-state");
        if (label) label.textContent = desk.state;
      });
      document.querySelectorAll('.dg-node[data-desk-id="' + CSS.escape(desk.deskId) + '"]').forEach(function (node) {
        node.setAttribute("data-state", desk.state);
      });
    });
  }
  var graph = null;
  if (graphData) {
    var model = JSON.parse(graphData.textContent);
    var holder = document.getElementById("desk-graph");
    if (window.RawrDeskGraph && window.cytoscape && holder) {
      // The drawn graph replaces the server's static SVG (kept for pages without script).
      var fallback = holder.innerHTML;
      try {
        holder.textContent = "";
        holder.classList.add("desk-graph-live");
        graph = window.RawrDeskGraph.render(holder, model, { direction: "LR", states: model.states || {} });
      } catch (e) {
        graph = null;
        holder.classList.remove("desk-graph-live");
        holder.innerHTML = fallback;
        if (window.console) console.error(e);
      }
    }
    window.RawrRunPage.onLive(function (data) {
      if (!data.panel || !Array.isArray(data.panel.desks)) return;
      setDeskStates(data.panel.desks);
      if (graph) {
        var states = {};
        data.panel.desks.forEach(function (desk) { states[desk.deskId] = desk.state; });
        graph.setStates(states);
      }
    });
  }

  function poll() {
    if (root.getAttribute("data-active") !== "1" || !liveUrl) return;
    fetch(liveUrl + "?after=" + lastSeq, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data) apply(data);
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .finally(function () {
        if (root.getAttribute("data-active") === "1") setTimeout(poll, POLL_MS);
      });
  }
  if (root.getAttribute("data-active") === "1") setTimeout(poll, POLL_MS);
})();
