/*
 * RawrDeskGraph: draws a CoordinationWorkflowV1 document as a layered DAG.
 *
 * Shared by the canvas (workflow pages, editable) and the run page (live desk states).
 * Load, in this order (all served from static/, nothing from a CDN):
 *   static/vendor/cytoscape/cytoscape.min.js
 *   static/vendor/cytoscape-dagre/cytoscape-dagre.js      (bundles dagre; registers "dagre")
 *   static/console/desk_graph.js
 *
 * API
 *   const graph = RawrDeskGraph.render(container, document, options)
 *     container  an Element with a size (CSS height); the graph is fitted into it.
 *     document   a CoordinationWorkflowV1 object ({entryDeskId, desks: [...], handoffs: [...]}).
 *                Any stored value is survivable: missing lists, non-string fields, duplicate
 *                desk ids and handoffs to unknown desks are drawn (an unknown end becomes a
 *                dashed "?" placeholder node) instead of throwing.
 *     options    {direction: "LR" (default) | "TB",
 *                 interactive: false (default; no pan/zoom/drag, for read-only pictures)
 *                              | true (pan, zoom, drag desks; the canvas uses this),
 *                 states: {deskId: state} (initial colours, see setStates)}
 *   graph.setStates({deskId: "pending"|"running"|"waiting"|"completed"|"failed"|"skipped"})
 *                colours those desks; desks not named keep their current state (so partial
 *                updates from polling are fine). Unknown desk ids and states are ignored.
 *   graph.setIssues([{code, message, deskId?, handoffId?}])
 *                marks desks / handoffs with validation issues (red border, the codes in the
 *                label); CYCLE_DETECTED (no id) marks every handoff on a cycle. [] clears.
 *   graph.update(document)
 *                redraws a changed document; keeps positions when only fields changed, lays
 *                the graph out again when desks or handoffs were added, removed or rewired.
 *   graph.fit()  fits the whole graph into the container.
 *   graph.cy     the cytoscape instance (the canvas adds editing on top; tests read
 *                rendered positions from it).
 *   graph.destroy()
 *
 * Elements: a desk is node "desk-<i>" (i = index in document.desks) with data
 * {deskId, index, kind, name, label, state}; a handoff is edge "handoff-<i>" with data
 * {handoffId, index, fromDeskId, toDeskId, condition}. The entry desk has class "entry".
 */
(function () {
  "use strict";

  var STATES = ["pending", "running", "waiting", "completed", "failed", "skipped"];

  var STYLE = [
    {
      selector: "node",
      style: {
        shape: "round-rectangle",
        width: 170,
        height: 54,
        "background-color": "#ffffff",
        "border-width": 2,
        "border-color": "#8a9bb0",
        "text-wrap": "wrap",
        "text-max-width": 158,
        "text-valign": "center",
        "text-halign": "center",
        "font-family": "Helvetica, Arial, sans-serif",
        "font-size": 12,
        color: "#1f2d3d",
        "line-height": 1.3,
      },
    },
    // Only the graph's own elements have labels (edgehandles' ghost elements have none).
    { selector: "node[label], edge[label]", style: { label: "data(label)" } },
    { selector: "node.entry", style: { "border-width": 3, "border-color": "#264b73" } },
    { selector: "node.kind-join", style: { shape: "round-hexagon", width: 200 } },
    { selector: "node.kind-human-wait", style: { shape: "round-octagon" } },
    { selector: "node.kind-observer", style: { "border-style": "dashed" } },
    {
      selector: "node.missing",
      style: {
        "border-style": "dashed",
        "border-color": "#c0392b",
        "background-color": "#fdf2f1",
        color: "#c0392b",
        width: 150,
        height: 40,
      },
    },
    { selector: "node.state-pending", style: { "background-color": "#f4f6f8" } },
    {
      selector: "node.state-running",
      style: { "background-color": "#dcebfb", "border-color": "#2b6cb0" },
    },
    {
      selector: "node.state-waiting",
      style: { "background-color": "#fff4d6", "border-color": "#b7791f" },
    },
    {
      selector: "node.state-completed",
      style: { "background-color": "#ddf4e4", "border-color": "#2f855a" },
    },
    {
      selector: "node.state-failed",
      style: { "background-color": "#fde2e1", "border-color": "#c53030" },
    },
    {
      selector: "node.state-skipped",
      style: { "background-color": "#f0f0f0", "border-style": "dashed", color: "#777" },
    },
    {
      selector: "edge",
      style: {
        width: 2,
        "curve-style": "bezier",
        "line-color": "#8a9bb0",
        "target-arrow-color": "#8a9bb0",
        "target-arrow-shape": "triangle",
        "arrow-scale": 1.1,
        "font-size": 11,
        "font-family": "Menlo, Consolas, monospace",
        color: "#334",
        "text-background-color": "#ffffff",
        "text-background-opacity": 0.9,
        "text-background-padding": 2,
        "text-wrap": "wrap",
        "text-max-width": 220,
      },
    },
    {
      selector: "node.has-issue",
      style: {
        height: 78,
        "border-color": "#d0312d",
        "border-width": 3,
        "border-style": "solid",
        "background-color": "#fff5f5",
      },
    },
    {
      // Drawn above the desks, label just above the line, so a short edge still shows both.
      selector: "edge.has-issue",
      style: {
        "line-color": "#d0312d",
        "target-arrow-color": "#d0312d",
        "line-style": "dashed",
        width: 3,
        color: "#b01e1a",
        "font-weight": "bold",
        "font-size": 10,
        "text-max-width": 96,
        "text-margin-y": -16,
        "text-border-width": 1,
        "text-border-color": "#f1b0a9",
        "text-border-opacity": 1,
        "z-index-compare": "manual",
        "z-index": 20,
      },
    },
    {
      selector: "node:selected",
      style: { "overlay-color": "#417690", "overlay-opacity": 0.12, "overlay-padding": 6 },
    },
    {
      selector: "edge:selected",
      style: { "overlay-color": "#417690", "overlay-opacity": 0.18, "overlay-padding": 6 },
    },
  ];

  function str(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  function shortKind(kind) {
    var text = str(kind);
    return text.indexOf("desk:") === 0 ? text.slice(5) : text;
  }

  function clip(text, max) {
    return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
  }

  /* The cytoscape elements for a document, plus a structural key that changes only when
     desks or handoffs are added, removed or rewired (then a new layout is needed); renaming
     a desk keeps its node (ids are positions in the document), so it keeps its place. */
  function elementsFor(doc) {
    doc = doc && typeof doc === "object" ? doc : {};
    var desks = list(doc.desks);
    var handoffs = list(doc.handoffs);
    var nodes = [];
    var edges = [];
    var nodeOfDesk = {};
    var missing = {};
    var structure = [];

    desks.forEach(function (desk, index) {
      desk = desk && typeof desk === "object" ? desk : {};
      var deskId = str(desk.deskId);
      var kind = shortKind(desk.kind);
      var id = "desk-" + index;
      if (!(deskId in nodeOfDesk)) nodeOfDesk[deskId] = id;
      var classes = ["desk", "kind-" + kind.replace(/[^a-z-]/g, "")];
      if (deskId !== "" && deskId === str(doc.entryDeskId)) classes.push("entry");
      nodes.push({
        group: "nodes",
        data: {
          id: id,
          index: index,
          deskId: deskId,
          kind: kind,
          name: str(desk.name),
          base:
            clip(str(desk.name) || deskId || "(unnamed)", 60) +
            "\n" +
            clip(kind || "?", 40) +
            (classes.indexOf("entry") >= 0 ? " \u00b7 entry" : ""),
          label: "",
        },
        classes: classes.join(" "),
      });
      structure.push(id);
    });

    function endpoint(deskId) {
      if (deskId in nodeOfDesk) return nodeOfDesk[deskId];
      if (!(deskId in missing)) {
        missing[deskId] = "missing-" + Object.keys(missing).length;
        nodes.push({
          group: "nodes",
          data: {
            id: missing[deskId],
            deskId: deskId,
            base: "? " + clip(deskId || "(empty id)", 40),
            label: "",
            placeholder: true,
          },
          classes: "missing",
        });
      }
      return missing[deskId];
    }

    handoffs.forEach(function (handoff, index) {
      handoff = handoff && typeof handoff === "object" ? handoff : {};
      var from = str(handoff.fromDeskId);
      var to = str(handoff.toDeskId);
      var condition = str(handoff.condition);
      edges.push({
        group: "edges",
        data: {
          id: "handoff-" + index,
          index: index,
          handoffId: str(handoff.handoffId),
          fromDeskId: from,
          toDeskId: to,
          condition: condition,
          source: endpoint(from),
          target: endpoint(to),
          base: clip(condition, 80),
          label: "",
        },
        classes: "handoff",
      });
      structure.push(edges[edges.length - 1].data.source + ">" + edges[edges.length - 1].data.target);
    });
    return { elements: nodes.concat(edges), structure: structure.join("|") };
  }

  /* Handoff edge ids that lie on a cycle (edge u->v where v reaches u). */
  function cycleEdges(cy) {
    var out = [];
    cy.edges().forEach(function (edge) {
      var start = edge.target();
      var goal = edge.source();
      var seen = {};
      var stack = [start];
      while (stack.length) {
        var node = stack.pop();
        if (node.same(goal)) {
          out.push(edge.id());
          return;
        }
        if (seen[node.id()]) continue;
        seen[node.id()] = true;
        node.outgoers("node").forEach(function (next) {
          stack.push(next);
        });
      }
    });
    return out;
  }

  function render(container, doc, options) {
    options = options || {};
    var interactive = !!options.interactive;
    var direction = options.direction === "TB" ? "TB" : "LR";
    var built = elementsFor(doc);
    var states = {};
    var issues = [];

    var cy = window.cytoscape({
      container: container,
      elements: built.elements,
      style: STYLE,
      layout: { name: "preset" },
      userZoomingEnabled: interactive,
      userPanningEnabled: interactive,
      boxSelectionEnabled: false,
      autoungrabify: !interactive,
      autounselectify: !interactive,
      minZoom: 0.2,
      maxZoom: 2.5,
    });
    var structure = built.structure;

    // Only the document's own elements (not an edge being drawn) are laid out and fitted.
    function own() {
      return cy.$("node.desk, node.missing, edge.handoff");
    }

    function layout() {
      own()
        .layout({
          name: "dagre",
          rankDir: direction,
          nodeSep: 36,
          rankSep: direction === "LR" ? 110 : 60,
          edgeSep: 20,
          // A handoff with a condition gets a longer edge, so its label fits between desks.
          minLen: function (edge) {
            return edge.data("base") ? 2 : 1;
          },
          padding: 24,
          fit: false,
          animate: false,
        })
        .run();
      fitCapped();
    }

    function fitCapped() {
      cy.fit(own(), 24);
      if (cy.zoom() > 1.25) {
        cy.zoom(1.25);
        cy.center(own());
      }
    }

    function relabel() {
      var byDesk = {};
      var byHandoff = {};
      var onCycle = {};
      issues.forEach(function (issue) {
        if (!issue || typeof issue !== "object") return;
        if (issue.handoffId !== undefined && issue.handoffId !== null) {
          (byHandoff[issue.handoffId] = byHandoff[issue.handoffId] || []).push(issue.code);
        } else if (issue.deskId !== undefined && issue.deskId !== null) {
          (byDesk[issue.deskId] = byDesk[issue.deskId] || []).push(issue.code);
        } else if (issue.code === "CYCLE_DETECTED") {
          cycleEdges(cy).forEach(function (id) {
            onCycle[id] = true;
          });
        }
      });
      cy.batch(function () {
        cy.nodes().forEach(function (node) {
          var deskId = node.data("deskId");
          var codes = byDesk[deskId] || [];
          var state = states[deskId];
          node.removeClass(STATES.map(function (s) { return "state-" + s; }).join(" "));
          if (state && !node.data("placeholder")) node.addClass("state-" + state);
          node.data("state", state || "");
          node.toggleClass("has-issue", codes.length > 0);
          node.data("issueCodes", codes.join(" "));
          node.data(
            "label",
            [node.data("base")]
              .concat(codes.map(function (code) { return "\u26a0 " + code.replace(/_/g, "_\u200b"); }))
              .join("\n")
          );
        });
        cy.edges().forEach(function (edge) {
          var codes = (byHandoff[edge.data("handoffId")] || []).slice();
          if (onCycle[edge.id()]) codes.push("CYCLE_DETECTED");
          edge.toggleClass("has-issue", codes.length > 0);
          edge.data("issueCodes", codes.join(" "));
          var base = edge.data("base");
          // A zero-width space after "_" lets a long code wrap on a short edge.
          var flagged = codes.map(function (code) { return "\u26a0 " + code.replace(/_/g, "_\u200b"); });
          edge.data("label", flagged.concat(base ? [base] : []).join("\n"));
        });
      });
    }

    relabel();
    layout();
    if (options.states) setStates(options.states);

    function setStates(next) {
      if (!next || typeof next !== "object") return;
      Object.keys(next).forEach(function (deskId) {
        if (STATES.indexOf(next[deskId]) >= 0) states[deskId] = next[deskId];
      });
      relabel();
    }

    function setIssues(next) {
      issues = Array.isArray(next) ? next : [];
      relabel();
    }

    function update(nextDoc) {
      var rebuilt = elementsFor(nextDoc);
      var positions = {};
      cy.nodes().forEach(function (node) {
        positions[node.id()] = node.position();
      });
      var selected = cy.$(":selected").map(function (el) { return el.id(); });
      cy.batch(function () {
        cy.elements().remove();
        cy.add(rebuilt.elements);
        cy.nodes().forEach(function (node) {
          if (positions[node.id()]) node.position(positions[node.id()]);
        });
        selected.forEach(function (id) { cy.getElementById(id).select(); });
      });
      relabel();
      if (rebuilt.structure !== structure) {
        structure = rebuilt.structure;
        layout();
      }
    }

    return {
      cy: cy,
      setStates: setStates,
      setIssues: setIssues,
      update: update,
      fit: fitCapped,
      relayout: layout,
      destroy: function () {
        cy.destroy();
      },
    };
  }

  window.RawrDeskGraph = { render: render, STATES: STATES.slice() };
})();
