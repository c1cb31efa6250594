/* The run list's copy buttons and the bulk-job progress page (workflows/admin/bulk.py). */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".rawr-copy");
    if (!button) { return; }
    event.preventDefault();
    copyText(button.getAttribute("data-copy")).then(function () {
      button.classList.add("rawr-copied");
      button.setAttribute("title", "Copied");
      setTimeout(function () {
        button.classList.remove("rawr-copied");
        button.setAttribute("title", "Copy the full run id");
      }, 1500);
    });
  });

  function progressPage() {
    var root = document.getElementById("rawr-bulk-progress");
    var stateNode = document.getElementById("bulk-state");
    if (!root || !stateNode) { return; }
    var url = root.getAttribute("data-step-url");
    var form = document.getElementById("bulk-step-form");
    var token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    var resume = document.getElementById("bulk-resume");
    var status = document.getElementById("bulk-status");
    var bar = root.querySelector(".rawr-progress-bar");
    var meter = root.querySelector(".rawr-progress");

    function set(id, value) { document.getElementById(id).textContent = String(value); }

    function render(state) {
      set("bulk-processed", state.processed);
      set("bulk-total", state.total);
      set("bulk-ok", state.ok);
      set("bulk-failed", state.failed);
      bar.style.width = state.percent + "%";
      meter.setAttribute("aria-valuenow", String(state.percent));
      var errors = document.getElementById("bulk-errors");
      errors.textContent = "";
      (state.errors || []).forEach(function (line) {
        var item = document.createElement("li");
        item.textContent = line;
        errors.appendChild(item);
      });
      var done = document.getElementById("bulk-done");
      if (done) {
        done.textContent = "";
        (state.done || []).forEach(function (line) {
          var item = document.createElement("li");
          item.textContent = state.doneVerb + " " + line;
          done.appendChild(item);
        });
      }
      if (state.finished) {
        bar.classList.add("rawr-progress-done");
        status.setAttribute("data-state", "done");
        status.textContent = "Done.";
        if (resume) { resume.hidden = true; }
      }
    }

    function pause(message) {
      status.setAttribute("data-state", "error");
      status.textContent = "Paused: " + message;
      if (resume) { resume.hidden = false; }
    }

    function step() {
      status.setAttribute("data-state", "working");
      status.textContent = "Working…";
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Accept": "application/json" }
      }).then(function (response) {
        return response.json().catch(function () {
          return { error: "the server answered " + response.status };
        });
      }).then(function (state) {
        if (state.error) { pause(state.error); return; }
        render(state);
        if (!state.finished) { setTimeout(step, state.busy ? 1000 : 0); }
      }).catch(function (error) { pause(String(error)); });
    }

    if (resume) {
      resume.addEventListener("click", function () { resume.hidden = true; step(); });
    }
    var initial = JSON.parse(stateNode.textContent);
    if (!initial.finished) { step(); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", progressPage);
  } else {
    progressPage();
  }
})();
