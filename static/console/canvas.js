/*
 * The canvas: edit a CoordinationWorkflowV1 document on a WorkflowVersion page.
 *
 * The page (coordination/templates/admin/coordination/workflowversion/canvas.html) carries
 * the document and the URLs as JSON scripts; this file draws it with RawrDeskGraph
 * (desk_graph.js), lets staff add/remove desks and handoffs, edit fields in the side panel,
 * draw handoffs by dragging from a desk's handle (cytoscape-edgehandles), and asks the
 * server to validate after each change (debounced). The server is the only judge: the
 * issues it returns (the validator's 14 codes, or BAD_REQUEST with a path) are pinned on
 * the desks and handoffs they concern and listed in <ul id="canvas-issues">.
 *
 * The document object is edited in place, so keys the canvas knows nothing about
 * (handlerRef, anything from the TypeScript system) are kept and saved unchanged.
 *
 * For tests: window.rawrCanvas = {graph, cy, document(), handle, select(kind, index)}.
 */
(function () {
  "use strict";

  var VALIDATE_DELAY_MS = 350;
  var PRIORITIES = ["", "low", "normal", "high"];

  function readJson(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return null;
    }
  }

  function csrfToken() {
    var input = document.querySelector("#canvas-app input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response
        .json()
        .catch(function () {
          return { ok: false, message: "The server answered " + response.status };
        })
        .then(function (data) {
          data.httpStatus = response.status;
          return data;
        });
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function str(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function pretty(value) {
    return value === undefined ? "" : JSON.stringify(value, null, 2);
  }

  /* A small example input from a JSON schema: required object properties, typed blanks. */
  function sampleFor(schema, depth) {
    depth = depth || 0;
    if (!schema || typeof schema !== "object" || depth > 4) return {};
    if (schema.default !== undefined) return schema.default;
    if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
    switch (schema.type) {
      case "string":
        return "";
      case "number":
      case "integer":
        return 0;
      case "boolean":
        return false;
      case "array":
        return [];
      case "object":
      default: {
        var out = {};
        var props = schema.properties && typeof schema.properties === "object" ? schema.properties : {};
        (Array.isArray(schema.required) ? schema.required : []).forEach(function (key) {
          out[key] = sampleFor(props[key], depth + 1);
        });
        return out;
      }
    }
  }

  function init() {
    var root = document.getElementById("canvas-app");
    if (!root || !window.RawrDeskGraph) return;
    var config = readJson("canvas-config") || {};
    var editable = !!config.editable;
    var doc = readJson("canvas-document");
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) doc = {};
    if (editable) {
      if (!Array.isArray(doc.desks)) doc.desks = [];
      if (!Array.isArray(doc.handoffs)) doc.handoffs = [];
    }

    var graphEl = document.getElementById("canvas-graph");
    var panel = document.getElementById("canvas-panel");
    var issuesEl = document.getElementById("canvas-issues");
    var countEl = document.getElementById("canvas-issue-count");
    var validEl = document.getElementById("canvas-valid");
    var statusEl = document.getElementById("canvas-status");
    var messageEl = document.getElementById("canvas-message");
    var saveBtn = document.getElementById("canvas-save");
    var removeBtn = document.getElementById("canvas-remove");
    var entryBtn = document.getElementById("canvas-set-entry");

    var graph = window.RawrDeskGraph.render(graphEl, doc, { interactive: true });
    var cy = graph.cy;
    var selection = null; // {kind: "desk"|"handoff", index}
    var serverIssues = [];
    var drafts = new WeakMap(); // desk/handoff object -> {field: {text, error}}
    var dirty = false;
    var validateTimer = null;
    var validateSeq = 0;

    var banner = el("div", { className: "canvas-banner", id: "canvas-graph-banner", hidden: true });
    graphEl.parentNode.appendChild(banner);

    // -- selection -------------------------------------------------------------------------

    function itemOf(sel) {
      if (!sel) return null;
      var list = sel.kind === "desk" ? doc.desks : doc.handoffs;
      return Array.isArray(list) ? list[sel.index] || null : null;
    }

    function select(kind, index) {
      selection = kind ? { kind: kind, index: index } : null;
      if (selection && !itemOf(selection)) selection = null;
      cy.$(":selected").unselect();
      if (selection) {
        cy.getElementById((selection.kind === "desk" ? "desk-" : "handoff-") + selection.index).select();
      }
      if (removeBtn) removeBtn.disabled = !selection;
      if (entryBtn) entryBtn.disabled = !selection || selection.kind !== "desk";
      renderPanel();
    }

    cy.on("tap", "node.desk", function (event) {
      select("desk", event.target.data("index"));
    });
    cy.on("tap", "edge.handoff", function (event) {
      select("handoff", event.target.data("index"));
    });
    cy.on("tap", function (event) {
      if (event.target === cy) select(null);
    });

    // -- changes ---------------------------------------------------------------------------

    function changed(options) {
      options = options || {};
      dirty = true;
      graph.update(doc);
      if (selection) {
        cy.getElementById((selection.kind === "desk" ? "desk-" : "handoff-") + selection.index).select();
      }
      if (options.panel) renderPanel();
      refreshIssues();
      scheduleValidate();
    }

    function uniqueId(prefix, taken) {
      var used = {};
      taken.forEach(function (id) {
        used[id] = true;
      });
      if (!used[prefix]) return prefix;
      for (var n = 2; ; n++) {
        if (!used[prefix + "-" + n]) return prefix + "-" + n;
      }
    }

    function deskIds() {
      return (doc.desks || []).map(function (desk) {
        return desk && typeof desk === "object" ? str(desk.deskId) : "";
      });
    }

    function addDesk() {
      var n = doc.desks.length + 1;
      var taken = deskIds();
      var id = "desk-" + n;
      while (taken.indexOf(id) >= 0) id = "desk-" + ++n;
      doc.desks.push({
        deskId: id,
        kind: "desk:analysis",
        name: "New desk " + n,
        responsibility: "",
        domain: "general",
        inputSchema: { type: "object" },
        outputSchema: { type: "object" },
        memoryScope: { persist: false },
      });
      if (!str(doc.entryDeskId)) doc.entryDeskId = id;
      selection = { kind: "desk", index: doc.desks.length - 1 };
      changed({ panel: true });
      select("desk", doc.desks.length - 1);
      var name = document.getElementById("desk-name");
      if (name) name.select();
    }

    function addHandoff(from, to) {
      var taken = (doc.handoffs || []).map(function (h) {
        return h && typeof h === "object" ? str(h.handoffId) : "";
      });
      var id = uniqueId(("h-" + from + "-" + to).slice(0, 120), taken);
      doc.handoffs.push({ handoffId: id, fromDeskId: from, toDeskId: to });
      selection = { kind: "handoff", index: doc.handoffs.length - 1 };
      changed();
      select("handoff", doc.handoffs.length - 1);
    }

    function removeSelected() {
      if (!selection || !editable) return;
      if (selection.kind === "desk") {
        var desk = doc.desks[selection.index];
        var deskId = desk && str(desk.deskId);
        var sameId = deskIds().filter(function (id) {
          return id === deskId;
        }).length;
        doc.desks.splice(selection.index, 1);
        if (sameId === 1) {
          // Its handoffs go with it (they would only point at nothing).
          doc.handoffs = doc.handoffs.filter(function (h) {
            return !h || (h.fromDeskId !== deskId && h.toDeskId !== deskId);
          });
          if (doc.entryDeskId === deskId) doc.entryDeskId = doc.desks.length ? str(doc.desks[0].deskId) : "";
        }
      } else {
        doc.handoffs.splice(selection.index, 1);
      }
      selection = null;
      changed();
      select(null);
    }

    function setEntry() {
      var desk = itemOf(selection);
      if (!desk || selection.kind !== "desk") return;
      doc.entryDeskId = str(desk.deskId);
      changed({ panel: true });
    }

    function renameDesk(oldId, newId) {
      var count = deskIds().filter(function (id) {
        return id === oldId;
      }).length;
      if (count !== 0) return; // another desk still has the old id: leave its handoffs
      (doc.handoffs || []).forEach(function (h) {
        if (!h || typeof h !== "object") return;
        if (h.fromDeskId === oldId) h.fromDeskId = newId;
        if (h.toDeskId === oldId) h.toDeskId = newId;
      });
      if (doc.entryDeskId === oldId) doc.entryDeskId = newId;
    }

    // -- the side panel --------------------------------------------------------------------

    function draftOf(item, field) {
      var all = drafts.get(item);
      return all && all[field];
    }

    function setDraft(item, field, value) {
      var all = drafts.get(item) || {};
      if (value) all[field] = value;
      else delete all[field];
      drafts.set(item, all);
    }

    function jsonErrors() {
      var out = [];
      (doc.desks || []).forEach(function (desk, index) {
        var all = desk && drafts.get(desk);
        Object.keys(all || {}).forEach(function (field) {
          out.push({ kind: "desk", index: index, id: str(desk.deskId), field: field, error: all[field].error });
        });
      });
      (doc.handoffs || []).forEach(function (handoff, index) {
        var all = handoff && drafts.get(handoff);
        Object.keys(all || {}).forEach(function (field) {
          out.push({ kind: "handoff", index: index, id: str(handoff.handoffId), field: field, error: all[field].error });
        });
      });
      return out;
    }

    function field(label, control, help, errorText) {
      var id = control.id;
      return el("div", { className: "canvas-field" }, [
        el("label", { for: id, text: label }),
        control,
        help ? el("p", { className: "canvas-help", text: help }) : null,
        el("p", { className: "canvas-field-error", id: id + "-error", hidden: !errorText, text: errorText || "" }),
      ]);
    }

    function textInput(id, value, onInput) {
      return el("input", {
        type: "text",
        id: id,
        value: str(value),
        disabled: !editable,
        spellcheck: "false",
        oninput: function (event) {
          onInput(event.target.value);
        },
      });
    }

    function selectInput(id, options, value, onChange) {
      var current = str(value);
      var list = options.slice();
      if (list.indexOf(current) < 0) list.push(current);
      var node = el(
        "select",
        {
          id: id,
          disabled: !editable,
          onchange: function (event) {
            onChange(event.target.value);
          },
        },
        list.map(function (option) {
          return el("option", { value: option, text: option === "" ? "—" : option, selected: option === current });
        })
      );
      return node;
    }

    /* A JSON editor bound to item[key]: valid JSON is applied at once; invalid JSON stays a
       draft shown next to the field and blocks saving; empty text removes the key. */
    function jsonInput(id, item, key, rows) {
      var draft = draftOf(item, key);
      var area = el("textarea", {
        id: id,
        rows: String(rows || 8),
        className: "canvas-json",
        spellcheck: "false",
        disabled: !editable,
      });
      area.value = draft ? draft.text : pretty(item[key]);
      area.addEventListener("input", function () {
        var text = area.value;
        var errorEl = document.getElementById(id + "-error");
        if (text.trim() === "") {
          delete item[key];
          setDraft(item, key, null);
        } else {
          try {
            item[key] = JSON.parse(text);
            setDraft(item, key, null);
          } catch (e) {
            setDraft(item, key, { text: text, error: "Not valid JSON: " + e.message });
          }
        }
        var now = draftOf(item, key);
        area.classList.toggle("canvas-invalid", !!now);
        if (errorEl) {
          errorEl.hidden = !now;
          errorEl.textContent = now ? now.error : "";
        }
        changed();
      });
      if (draft) area.classList.add("canvas-invalid");
      return area;
    }

    function numberInput(id, value, onInput) {
      return el("input", {
        type: "number",
        id: id,
        min: "0",
        step: "1",
        value: value === undefined || value === null ? "" : String(value),
        disabled: !editable,
        oninput: function (event) {
          onInput(event.target.value);
        },
      });
    }

    function policyField(desk, key, raw) {
      var policy = desk.runtimePolicy && typeof desk.runtimePolicy === "object" ? desk.runtimePolicy : {};
      if (raw === "") delete policy[key];
      else policy[key] = key === "priority" ? raw : Number(raw);
      if (Object.keys(policy).length) desk.runtimePolicy = policy;
      else delete desk.runtimePolicy;
      changed();
    }

    function issueTextFor(kind, id) {
      return serverIssues
        .filter(function (issue) {
          return kind === "desk" ? issue.deskId === id && !issue.handoffId : issue.handoffId === id;
        })
        .map(function (issue) {
          return issue.code + ": " + issue.message;
        });
    }

    function panelIssues(kind, id) {
      var lines = issueTextFor(kind, id);
      if (!lines.length) return null;
      return el(
        "ul",
        { className: "canvas-panel-issues" },
        lines.map(function (line) {
          return el("li", { text: line });
        })
      );
    }

    function renderDeskPanel(desk, index) {
      var policy = desk.runtimePolicy && typeof desk.runtimePolicy === "object" ? desk.runtimePolicy : {};
      var isEntry = str(desk.deskId) !== "" && desk.deskId === doc.entryDeskId;
      var draftError = function (key) {
        var d = draftOf(desk, key);
        return d ? d.error : "";
      };
      return el("form", { className: "canvas-form", id: "canvas-desk-form", onsubmit: function (e) { e.preventDefault(); } }, [
        el("div", { className: "canvas-panel-head" }, [
          el("h2", { text: "Desk" + (isEntry ? " · entry" : "") }),
          el("button", { type: "button", className: "canvas-link-btn", text: "← Workflow", onclick: function () { select(null); } }),
        ]),
        panelIssues("desk", str(desk.deskId)),
        field("Desk id", textInput("desk-deskId", desk.deskId, function (value) {
          var old = str(desk.deskId);
          desk.deskId = value;
          renameDesk(old, value);
          changed();
        }), "Letters, digits, . _ - (handoffs follow a rename)."),
        field("Kind", selectInput("desk-kind", config.deskKinds || [], desk.kind, function (value) {
          desk.kind = value;
          changed();
        })),
        field("Name", textInput("desk-name", desk.name, function (value) {
          desk.name = value;
          changed();
        })),
        field("Responsibility", (function () {
          var area = el("textarea", { id: "desk-responsibility", rows: "3", disabled: !editable });
          area.value = str(desk.responsibility);
          area.addEventListener("input", function () {
            desk.responsibility = area.value;
            changed();
          });
          return area;
        })()),
        field("Domain", textInput("desk-domain", desk.domain, function (value) {
          desk.domain = value;
          changed();
        })),
        field("inputSchema (JSON Schema)", jsonInput("desk-inputSchema", desk, "inputSchema", 8), null, draftError("inputSchema")),
        field("outputSchema (JSON Schema)", jsonInput("desk-outputSchema", desk, "outputSchema", 8), null, draftError("outputSchema")),
        field("memoryScope", jsonInput("desk-memoryScope", desk, "memoryScope", 3),
          '{"persist": true|false, "ttlSeconds": n, "namespace": "..."}; empty = none.', draftError("memoryScope")),
        el("fieldset", { className: "canvas-policy" }, [
          el("legend", { text: "runtimePolicy" }),
          field("retries", numberInput("desk-retries", policy.retries, function (v) { policyField(desk, "retries", v); })),
          field("timeoutSeconds", numberInput("desk-timeoutSeconds", policy.timeoutSeconds, function (v) { policyField(desk, "timeoutSeconds", v); })),
          field("priority", selectInput("desk-priority", PRIORITIES, policy.priority === undefined ? "" : policy.priority, function (v) { policyField(desk, "priority", v); })),
        ]),
        editable
          ? el("div", { className: "canvas-form-actions" }, [
              el("button", { type: "button", className: "canvas-btn", id: "desk-make-entry", text: "Set as entry desk", disabled: isEntry, onclick: setEntry }),
              el("button", { type: "button", className: "canvas-btn canvas-danger", id: "desk-remove", text: "Remove desk", onclick: removeSelected }),
            ])
          : null,
      ]);
    }

    function renderHandoffPanel(handoff) {
      var ids = deskIds();
      var draft = draftOf(handoff, "mappingRefs");
      return el("form", { className: "canvas-form", id: "canvas-handoff-form", onsubmit: function (e) { e.preventDefault(); } }, [
        el("div", { className: "canvas-panel-head" }, [
          el("h2", { text: "Handoff" }),
          el("button", { type: "button", className: "canvas-link-btn", text: "← Workflow", onclick: function () { select(null); } }),
        ]),
        panelIssues("handoff", str(handoff.handoffId)),
        field("Handoff id", textInput("handoff-handoffId", handoff.handoffId, function (value) {
          handoff.handoffId = value;
          changed();
        })),
        field("From desk", selectInput("handoff-fromDeskId", ids, handoff.fromDeskId, function (value) {
          handoff.fromDeskId = value;
          changed();
        })),
        field("To desk", selectInput("handoff-toDeskId", ids, handoff.toDeskId, function (value) {
          handoff.toDeskId = value;
          changed();
        })),
        field("Condition", textInput("handoff-condition", handoff.condition, function (value) {
          if (value === "") delete handoff.condition;
          else handoff.condition = value;
          changed();
        }), 'On the upstream output, e.g. status == "ok". Empty: always.'),
        field("mappingRefs", jsonInput("handoff-mappingRefs", handoff, "mappingRefs", 4),
          '{"targetField": "$.source.path"}; empty: pass the output through.', draft ? draft.error : ""),
        editable
          ? el("div", { className: "canvas-form-actions" }, [
              el("button", { type: "button", className: "canvas-btn canvas-danger", id: "handoff-remove", text: "Remove handoff", onclick: removeSelected }),
            ])
          : null,
      ]);
    }

    function renderWorkflowPanel() {
      var ids = deskIds();
      var desks = Array.isArray(doc.desks) ? doc.desks : [];
      var handoffs = Array.isArray(doc.handoffs) ? doc.handoffs : [];
      return el("div", { className: "canvas-form", id: "canvas-workflow-form" }, [
        el("div", { className: "canvas-panel-head" }, [el("h2", { text: "Workflow" })]),
        field("Workflow id", textInput("workflow-workflowId", doc.workflowId, function (value) {
          doc.workflowId = value;
          changed();
        }), "Saving stores the next version of this id."),
        field("Name", textInput("workflow-name", doc.name, function (value) {
          doc.name = value;
          changed();
        })),
        field("Description", textInput("workflow-description", doc.description, function (value) {
          if (value === "") delete doc.description;
          else doc.description = value;
          changed();
        })),
        field("Entry desk", selectInput("workflow-entryDeskId", [""].concat(ids), doc.entryDeskId, function (value) {
          doc.entryDeskId = value;
          changed({ panel: true });
        })),
        field("Observability", selectInput("workflow-observabilityProfile", ["", "basic", "full"],
          doc.observabilityProfile === undefined ? "" : doc.observabilityProfile, function (value) {
            if (value === "") delete doc.observabilityProfile;
            else doc.observabilityProfile = value;
            changed();
          })),
        el("h2", { text: "Desks (" + desks.length + ")" }),
        el("ol", { id: "canvas-outline-desks", className: "canvas-outline-list" }, desks.length
          ? desks.map(function (desk, index) {
              desk = desk || {};
              return el("li", { "data-desk-id": str(desk.deskId) }, [
                el("button", { type: "button", className: "canvas-link-btn", onclick: function () { select("desk", index); } }, [
                  el("strong", { text: str(desk.name) || "(unnamed)" }), " ", el("code", { text: str(desk.deskId) }),
                ]),
                " ", el("span", { className: "canvas-kind", text: str(desk.kind) }),
                str(desk.deskId) && desk.deskId === doc.entryDeskId ? el("em", { text: " entry" }) : null,
              ]);
            })
          : [el("li", { className: "canvas-empty", text: editable ? "No desks yet: press “+ Desk”." : "No desks." })]),
        el("h2", { text: "Handoffs (" + handoffs.length + ")" }),
        el("ol", { id: "canvas-outline-handoffs", className: "canvas-outline-list" }, handoffs.length
          ? handoffs.map(function (h, index) {
              h = h || {};
              return el("li", { "data-handoff-id": str(h.handoffId) }, [
                el("button", { type: "button", className: "canvas-link-btn", onclick: function () { select("handoff", index); } }, [
                  el("code", { text: str(h.handoffId) }),
                ]),
                ": " + str(h.fromDeskId) + " → " + str(h.toDeskId),
                h.condition ? el("span", { className: "canvas-cond", text: " if " + str(h.condition) }) : null,
              ]);
            })
          : [el("li", { className: "canvas-empty", text: editable ? "Drag from a desk's handle to another desk." : "No handoffs." })]),
      ]);
    }

    function renderPanel() {
      var item = itemOf(selection);
      var content;
      if (item && selection.kind === "desk") content = renderDeskPanel(item, selection.index);
      else if (item && selection.kind === "handoff") content = renderHandoffPanel(item);
      else content = renderWorkflowPanel();
      panel.replaceChildren(content);
    }

    // -- issues and validation -------------------------------------------------------------

    var WORKFLOW_CODES = { MISSING_WORKFLOW_ID: 1, INVALID_WORKFLOW_ID_FORMAT: 1, MISSING_ENTRY_DESK: 1 };

    function refreshIssues() {
      var local = jsonErrors();
      issuesEl.replaceChildren();
      local.forEach(function (item) {
        issuesEl.appendChild(
          el("li", {
            className: "canvas-issue canvas-issue-local",
            "data-code": "INVALID_JSON",
            "data-desk-id": item.kind === "desk" ? item.id : "",
            "data-handoff-id": item.kind === "handoff" ? item.id : "",
            onclick: function () { select(item.kind, item.index); },
          }, [el("code", { text: "INVALID_JSON" }), " " + item.kind + " " + item.id + " " + item.field + ": " + item.error])
        );
      });
      serverIssues.forEach(function (issue) {
        var target = null;
        if (issue.handoffId !== undefined) {
          target = { kind: "handoff", index: (doc.handoffs || []).findIndex(function (h) { return h && h.handoffId === issue.handoffId; }) };
        } else if (issue.deskId !== undefined) {
          target = { kind: "desk", index: (doc.desks || []).findIndex(function (d) { return d && d.deskId === issue.deskId; }) };
        }
        issuesEl.appendChild(
          el("li", {
            className: "canvas-issue" + (target && target.index >= 0 ? " canvas-issue-link" : ""),
            "data-code": issue.code,
            "data-desk-id": issue.deskId === undefined ? "" : str(issue.deskId),
            "data-handoff-id": issue.handoffId === undefined ? "" : str(issue.handoffId),
            onclick: function () {
              if (target && target.index >= 0) select(target.kind, target.index);
            },
          }, [el("code", { text: issue.code }), " " + str(issue.message)])
        );
      });
      var total = local.length + serverIssues.length;
      countEl.textContent = total ? String(total) : "";
      validEl.hidden = total > 0;
      graph.setIssues(serverIssues);
      var workflowLevel = serverIssues.filter(function (issue) { return WORKFLOW_CODES[issue.code]; });
      banner.hidden = !workflowLevel.length;
      banner.textContent = workflowLevel.map(function (issue) { return "\u26a0 " + issue.code + ": " + issue.message; }).join("\n");
      if (saveBtn) {
        saveBtn.disabled = local.length > 0;
        saveBtn.title = local.length ? "Fix the JSON marked in the side panel first" : "";
      }
    }

    function setStatus(text, kind) {
      if (!statusEl) return;
      statusEl.textContent = text;
      statusEl.className = "canvas-status" + (kind ? " canvas-status-" + kind : "");
    }

    function showMessage(text, kind) {
      messageEl.textContent = text || "";
      messageEl.className = "canvas-message" + (kind ? " canvas-message-" + kind : "");
    }

    function scheduleValidate() {
      if (!editable) return;
      clearTimeout(validateTimer);
      setStatus("Checking…", "busy");
      validateTimer = setTimeout(validateNow, VALIDATE_DELAY_MS);
    }

    function validateNow() {
      var seq = ++validateSeq;
      return postJson(config.validateUrl, { document: doc })
        .then(function (data) {
          if (seq !== validateSeq) return;
          if (data.httpStatus !== 200) {
            setStatus("Could not check: " + (data.message || data.httpStatus), "error");
            return;
          }
          serverIssues = Array.isArray(data.issues) ? data.issues : [];
          refreshIssues();
          var local = jsonErrors().length;
          if (serverIssues.length + local === 0) setStatus("\u2713 Valid" + (dirty ? " · unsaved changes" : ""), "ok");
          else setStatus((serverIssues.length + local) + " problem" + (serverIssues.length + local === 1 ? "" : "s"), "error");
          if (selection) {
            var focused = document.activeElement;
            var keep = focused && panel.contains(focused) ? focused.id : null;
            var start = keep && focused.selectionStart;
            var end = keep && focused.selectionEnd;
            renderPanel();
            if (keep) {
              var again = document.getElementById(keep);
              if (again) {
                again.focus();
                if (typeof start === "number" && again.setSelectionRange) {
                  try { again.setSelectionRange(start, end); } catch (e) { /* not a text control */ }
                }
              }
            }
          }
        })
        .catch(function (error) {
          if (seq === validateSeq) setStatus("Could not check: " + error.message, "error");
        });
    }

    // -- save, import, run -----------------------------------------------------------------

    function save() {
      var local = jsonErrors();
      if (local.length) {
        showMessage("Not saved: fix the JSON in " + local.map(function (i) { return i.id + " " + i.field; }).join(", ") + " first.", "error");
        return;
      }
      saveBtn.disabled = true;
      setStatus("Saving…", "busy");
      postJson(config.saveUrl, { document: doc })
        .then(function (data) {
          if (data.ok) {
            dirty = false;
            setStatus("Saved version " + data.version, "ok");
            window.location.assign(data.url);
            return;
          }
          saveBtn.disabled = false;
          if (Array.isArray(data.issues)) {
            serverIssues = data.issues;
            refreshIssues();
          }
          setStatus("Not saved", "error");
          showMessage(data.message || "Not saved (" + data.httpStatus + ").", "error");
        })
        .catch(function (error) {
          saveBtn.disabled = false;
          setStatus("Not saved", "error");
          showMessage("Not saved: " + error.message, "error");
        });
    }

    function loadDocument(next) {
      doc = next;
      if (!Array.isArray(doc.desks)) doc.desks = [];
      if (!Array.isArray(doc.handoffs)) doc.handoffs = [];
      drafts = new WeakMap();
      selection = null;
      serverIssues = [];
      dirty = true;
      graph.update(doc);
      graph.relayout();
      select(null);
      refreshIssues();
      scheduleValidate();
    }

    function setupImport() {
      var dialog = document.getElementById("canvas-import-dialog");
      var open = document.getElementById("canvas-import");
      if (!dialog || !open) return;
      var text = document.getElementById("canvas-import-text");
      var file = document.getElementById("canvas-import-file");
      var error = document.getElementById("canvas-import-error");
      open.addEventListener("click", function () {
        error.hidden = true;
        dialog.showModal();
      });
      file.addEventListener("change", function () {
        if (!file.files || !file.files[0]) return;
        file.files[0].text().then(function (content) {
          text.value = content;
        });
      });
      document.getElementById("canvas-import-load").addEventListener("click", function () {
        var parsed;
        try {
          parsed = JSON.parse(text.value);
        } catch (e) {
          error.textContent = "Not valid JSON: " + e.message;
          error.hidden = false;
          return;
        }
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
          error.textContent = "A workflow document is a JSON object.";
          error.hidden = false;
          return;
        }
        dialog.close();
        loadDocument(parsed);
        showMessage("Imported into the canvas: check it, then “Save as new version”.", "info");
      });
    }

    function setupRun() {
      var dialog = document.getElementById("canvas-run-dialog");
      var open = document.getElementById("canvas-run");
      if (!dialog || !open || !config.runUrl) return;
      var input = document.getElementById("canvas-run-input");
      var error = document.getElementById("canvas-run-error");
      var start = document.getElementById("canvas-run-start");
      var dirtyNote = document.getElementById("canvas-run-dirty");
      input.value = pretty(sampleFor(readJson("canvas-entry-schema")));
      open.addEventListener("click", function () {
        dirtyNote.hidden = !dirty;
        error.hidden = true;
        dialog.showModal();
      });
      function fail(message, lines) {
        error.replaceChildren(
          el("strong", { text: message }),
          el("ul", {}, (lines || []).map(function (line) { return el("li", { text: line }); }))
        );
        error.hidden = false;
      }
      start.addEventListener("click", function () {
        var value;
        try {
          value = JSON.parse(input.value);
        } catch (e) {
          fail("Not valid JSON: " + e.message);
          return;
        }
        start.disabled = true;
        postJson(config.runUrl, { input: value })
          .then(function (data) {
            if (data.ok) {
              window.location.assign(data.url);
              return;
            }
            start.disabled = false;
            fail(data.message || "Not started (" + data.httpStatus + ").", data.errors);
          })
          .catch(function (e) {
            start.disabled = false;
            fail("Not started: " + e.message);
          });
      });
    }

    // -- drawing handoffs: a handle on the hovered desk (cytoscape-edgehandles) --------------

    var handle = null;
    function setupEdgeHandles() {
      if (!editable || typeof cy.edgehandles !== "function") return;
      var eh = cy.edgehandles({
        canConnect: function (source, target) {
          return !source.same(target) && source.hasClass("desk") && target.hasClass("desk");
        },
        edgeParams: function () {
          return {};
        },
        hoverDelay: 60,
        snap: true,
        snapThreshold: 24,
        snapFrequency: 30,
        noEdgeEventsInDraw: true,
        disableBrowserGestures: true,
      });
      var wrap = graphEl.parentNode;
      handle = el("div", { className: "canvas-handle", id: "canvas-handle", title: "Drag to another desk to add a handoff", hidden: true });
      wrap.appendChild(handle);
      var handleNode = null;
      var drawing = false;

      function place(node) {
        if (drawing) return;
        handleNode = node;
        var box = node.renderedBoundingBox({ includeLabels: false });
        handle.style.left = graphEl.offsetLeft + box.x2 - 7 + "px";
        handle.style.top = graphEl.offsetTop + (box.y1 + box.y2) / 2 - 7 + "px";
        handle.dataset.deskId = node.data("deskId");
        handle.hidden = false;
      }
      function hide() {
        if (drawing) return;
        handle.hidden = true;
        handleNode = null;
      }
      cy.on("mouseover", "node.desk", function (event) {
        place(event.target);
      });
      cy.on("grab pan zoom remove", hide);
      cy.on("position", "node.desk", function (event) {
        if (handleNode && event.target.same(handleNode)) place(event.target);
      });
      cy.on("tap", function (event) {
        if (event.target === cy) hide();
      });
      handle.addEventListener("mousedown", function (event) {
        if (!handleNode || handleNode.removed()) return;
        event.preventDefault();
        drawing = true;
        handle.classList.add("canvas-handle-active");
        eh.start(handleNode);
      });
      window.addEventListener("mouseup", function () {
        if (!drawing) return;
        eh.stop();
      });
      cy.on("ehstop", function () {
        drawing = false;
        handle.classList.remove("canvas-handle-active");
        hide();
      });
      cy.on("ehcomplete", function (event, source, target, added) {
        var from = str(source.data("deskId"));
        var to = str(target.data("deskId"));
        added.remove();
        // After edgehandles has removed its preview elements.
        setTimeout(function () {
          addHandoff(from, to);
        }, 0);
      });
    }

    // -- wiring ------------------------------------------------------------------------------

    function on(id, event, fn) {
      var node = document.getElementById(id);
      if (node) node.addEventListener(event, fn);
    }
    on("canvas-add-desk", "click", addDesk);
    on("canvas-remove", "click", removeSelected);
    on("canvas-set-entry", "click", setEntry);
    on("canvas-fit", "click", function () { graph.fit(); });
    on("canvas-layout", "click", function () { graph.relayout(); });
    if (saveBtn) saveBtn.addEventListener("click", save);
    document.addEventListener("keydown", function (event) {
      if (!editable || !selection) return;
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select") return;
      if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        removeSelected();
      }
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && editable) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    window.addEventListener("resize", function () {
      cy.resize();
    });

    setupEdgeHandles();
    setupImport();
    setupRun();
    var initial = document.querySelectorAll("#canvas-issues li");
    serverIssues = Array.prototype.map.call(initial, function (li) {
      var issue = { code: li.dataset.code, message: li.textContent.replace(li.dataset.code, "").trim() };
      if (li.dataset.deskId) issue.deskId = li.dataset.deskId;
      if (li.dataset.handoffId) issue.handoffId = li.dataset.handoffId;
      return issue;
    });
    renderPanel();
    refreshIssues();
    if (editable) validateNow();

    window.rawrCanvas = {
      graph: graph,
      cy: cy,
      handle: function () { return handle; },
      document: function () { return doc; },
      select: select,
      isDirty: function () { return dirty; },
    };
    // Every control has its handler now: tests (and people on slow machines) can act.
    document.getElementById("canvas-app").setAttribute("data-ready", "true");
  }

  document.addEventListener("DOMContentLoaded", init);
})();
