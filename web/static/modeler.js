// The modeler page: one tab per diagram or decision table (its tool made when the tab
// is first opened), the form editor, and the Lint, Validate, Run scenarios and Deploy
// buttons. The page's data comes in <script type="application/json" id="modeler-data">.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("modeler-data").textContent);
  var labels = data.labels || {};
  var t = function (text) { return labels[text] || text; };
  var files = Object.assign({}, data.files);   // forms edited here live in this copy
  var tools = {};       // file name -> Promise of its modeler
  var problems = [];    // the last problems shown, per file in each modeler
  var status = document.getElementById("modeler-status");
  var list = document.getElementById("modeler-problems");
  var csrf = document.querySelector("#modeler-csrf input[name=csrf_token]").value;

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("modeler-status--error", !!isError);
  }

  // ------------------------------------------------------------------ tabs

  function panelOf(file) {
    var found = null;
    document.querySelectorAll(".modeler-panel[data-file]").forEach(function (panel) {
      if (panel.getAttribute("data-file") === file) { found = panel; }
    });
    return found;
  }

  function toolFor(file) {
    if (!tools[file]) {
      var panel = panelOf(file);
      var canvas = panel.querySelector("[data-canvas]");
      if (data.kinds[file] === "bpmn") {
        tools[file] = window.Workbench.bpmnModeler(canvas, panel.querySelector("[data-properties]"),
          files[file], { roles: data.roles, notifyRoles: data.notifyRoles,
            departments: data.departments, forms: data.forms, labels: labels, file: file });
      } else {
        tools[file] = window.Workbench.dmnModeler(canvas, files[file]);
      }
      tools[file].then(function (tool) {
        if (tool.showProblems) { tool.showProblems(problems); }
      }, function (error) {
        say(t("The diagram could not be shown:") + " " + error.message, true);
      });
    }
    return tools[file];
  }

  function openTab(tab) {
    document.querySelectorAll(".modeler-tab").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    });
    var file = tab.getAttribute("data-file");
    if (file) { return toolFor(file); }
    return null;
  }

  function openFile(file) {
    var tab = null;
    document.querySelectorAll(".modeler-tab").forEach(function (candidate) {
      if (candidate.getAttribute("data-file") === file) { tab = candidate; }
    });
    return tab ? openTab(tab) : null;
  }

  document.querySelectorAll(".modeler-tab").forEach(function (tab) {
    tab.addEventListener("click", function () { openTab(tab); });
  });

  function currentFile() {
    var tab = document.querySelector(".modeler-tab[aria-selected=true]");
    return tab ? tab.getAttribute("data-file") : "";
  }

  // ------------------------------------------------------------------ forms

  var schemaBox = document.getElementById("form-schema");
  var uiBox = document.getElementById("form-uischema");
  var editor = document.getElementById("form-editor");

  function openForm(name) {
    var ui = name.replace(/\.schema\.json$/, ".uischema.json");
    schemaBox.value = files[name] || "";
    schemaBox.setAttribute("data-form-file", name);
    uiBox.value = files[ui] || "";
    uiBox.setAttribute("data-form-file", ui);
    document.getElementById("form-editor-title").textContent = name;
    document.querySelectorAll(".form-list__item[data-form]").forEach(function (item) {
      item.setAttribute("aria-current", item.getAttribute("data-form") === name ? "true" : "false");
    });
    editor.dispatchEvent(new CustomEvent("wb-refresh", { bubbles: true }));
  }

  [schemaBox, uiBox].forEach(function (box) {
    box.addEventListener("input", function () {
      var name = box.getAttribute("data-form-file");
      if (name) { files[name] = box.value; }
    });
  });
  function listForm(name) {
    var item = document.createElement("button");
    item.type = "button";
    item.className = "form-list__item";
    item.setAttribute("data-form", name);
    item.textContent = name.replace(/\.schema\.json$/, "");
    item.addEventListener("click", function () { openForm(name); });
    return item;
  }

  document.querySelectorAll(".form-list__item[data-form]").forEach(function (item) {
    item.addEventListener("click", function () { openForm(item.getAttribute("data-form")); });
  });

  // A new form starts as a one-field schema with its layout; the panel's form choices read
  // data.forms when drawn, so the new names are offered there at once.
  var newFormName = document.getElementById("new-form-name");
  document.getElementById("new-form").addEventListener("click", function () {
    var base = newFormName.value.trim();
    var name = base + ".schema.json";
    var ui = base + ".uischema.json";
    if (!/^[a-z][a-z0-9_]{0,59}$/.test(base)) {
      say(t("A form name starts with a lower-case letter and holds only lower-case letters, " +
        "digits and underscores."), true);
      return;
    }
    if (files[name] !== undefined || files[ui] !== undefined) {
      say(t("A form of that name exists already."), true);
      return;
    }
    files[name] = JSON.stringify({
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      title: base.replace(/_/g, " ").replace(/^./, function (c) { return c.toUpperCase(); }),
      description: t("Describe what staff do in this step."),
      type: "object",
      properties: { note: { type: "string", title: t("Note"), maxLength: 5000 } },
      required: ["note"],
      additionalProperties: false
    }, null, 2) + "\n";
    files[ui] = JSON.stringify({ "ui:order": ["note"], note: { "ui:widget": "textarea" } },
      null, 2) + "\n";
    data.forms.push(name, ui);
    var entry = document.createElement("li");
    entry.appendChild(listForm(name));
    document.querySelector("#panel-forms .form-list ul").appendChild(entry);
    newFormName.value = "";
    openForm(name);
    say(t("New form:") + " " + name);
  });

  // ------------------------------------------------------------------ scenarios

  var scenarioBox = document.getElementById("scenario-text");

  function openScenario(name) {
    scenarioBox.value = files[name] || "";
    scenarioBox.setAttribute("data-scenario-file", name);
    document.getElementById("scenario-editor-title").textContent = name;
    document.querySelectorAll(".scenario-list__item").forEach(function (item) {
      item.setAttribute("aria-current", item.getAttribute("data-scenario") === name ? "true" : "false");
    });
  }

  scenarioBox.addEventListener("input", function () {
    var name = scenarioBox.getAttribute("data-scenario-file");
    if (name) { files[name] = scenarioBox.value; }
  });
  document.querySelectorAll(".scenario-list__item").forEach(function (item) {
    item.addEventListener("click", function () { openScenario(item.getAttribute("data-scenario")); });
  });

  // ------------------------------------------------------------------ the bundle

  function currentFiles() {
    var names = Object.keys(files);
    return Promise.all(names.map(function (name) {
      if (!tools[name]) { return files[name]; }
      return tools[name].then(function (tool) { return tool.getXML(); });
    })).then(function (texts) {
      var body = new FormData();
      body.append("csrf_token", csrf);
      names.forEach(function (name, i) {
        body.append("files", new Blob([texts[i]], { type: "application/octet-stream" }), name);
      });
      return body;
    });
  }

  function post(url, body) {
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          answer.status = response.status;
          return answer;
        });
      });
  }

  function item(className) {
    var li = document.createElement("li");
    if (className) { li.className = className; }
    list.appendChild(li);
    return li;
  }

  function listProblem(problem) {
    var li = item("problem--bad");
    var where = document.createElement("button");
    where.type = "button";
    where.className = "problem__where";
    where.textContent = problem.file + (problem.element ? " · " + problem.element : "") +
      (problem.line ? " · " + problem.line : "");
    where.addEventListener("click", function () { openFile(problem.file); });
    li.appendChild(where);
    li.appendChild(document.createTextNode(" " + problem.message));
  }

  function showProblems(found) {
    problems = found || [];
    list.textContent = "";
    problems.forEach(listProblem);
    document.querySelectorAll(".modeler-tab").forEach(function (tab) {
      var file = tab.getAttribute("data-file");
      tab.classList.toggle("modeler-tab--problem", problems.some(function (p) {
        return file && p.file === file;
      }));
    });
    Object.keys(tools).forEach(function (name) {
      tools[name].then(function (tool) { if (tool.showProblems) { tool.showProblems(problems); } });
    });
  }

  function failed(answer) {
    say(answer.error || t("The server did not answer."), true);
    showProblems(answer.problems || []);
  }

  // ------------------------------------------------------------------ buttons

  var actions = {
    lint: function () {
      var file = currentFile();
      if (!file || data.kinds[file] !== "bpmn") { return Promise.resolve(); }
      return toolFor(file).then(function (tool) { return tool.lint(); }).then(function (issues) {
        list.textContent = "";
        say(issues.length ? t("Lint findings on this diagram:") : t("This diagram lints clean."),
          issues.length > 0);
        issues.forEach(listProblem);
      });
    },
    validate: function () {
      say(t("Checking…"));
      return currentFiles().then(function (body) { return post(data.urls.validate, body); })
        .then(function (answer) {
          if (answer.status !== 200) { return failed(answer); }
          showProblems(answer.problems);
          say(answer.problems.length ? "" : t("No problems found."), answer.problems.length > 0);
        });
    },
    scenarios: function () {
      say(t("Running the scenarios…"));
      return currentFiles().then(function (body) { return post(data.urls.scenarios, body); })
        .then(function (answer) {
          if (answer.status !== 200) { return failed(answer); }
          var failures = answer.scenarios.filter(function (s) { return !s.passed; })
            .map(function (s) { return s.failure; }).filter(Boolean);
          showProblems(failures);
          answer.scenarios.forEach(function (s) {
            var li = item(s.passed ? "problem--ok" : "problem--bad");
            li.textContent = s.name + " (" + s.file + "): " + t(s.passed ? "passed" : "failed");
          });
          say("");
        });
    },
    deploy: function () {
      var note = document.getElementById("change-note").value.trim();
      if (!note) { say(t("Write a change note first."), true); return Promise.resolve(); }
      say(t("Deploying…"));
      return currentFiles().then(function (body) {
        body.append("note", note);
        return post(data.urls.deploy, body);
      }).then(function (answer) {
        if (answer.status !== 201) { return failed(answer); }
        showProblems([]);
        say(answer.versions.length ? t("Deployed:") + " " + answer.versions.map(function (v) {
          return v.process_id + " " + t("version") + " " + v.version;
        }).join(", ") : t("Nothing changed: no new version."));
      });
    }
  };

  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      button.disabled = true;
      var done = function () { button.disabled = false; };
      actions[button.getAttribute("data-action")]().then(done, function (error) {
        done();
        say(t("The server did not answer.") + " " + (error && error.message || ""), true);
      });
    });
  });

  // For tests and the console: the current text of a file.
  window.modelerPage = {
    xml: function (file) { return toolFor(file).then(function (tool) { return tool.getXML(); }); },
    tool: toolFor,
    files: files
  };

  // After htmx has set up the form editor (it does so when the document is loaded).
  document.addEventListener("DOMContentLoaded", function () {
    var first = document.querySelector(".modeler-tab");
    if (first) { openTab(first); }
    var firstForm = document.querySelector(".form-list__item[data-form]");
    if (firstForm) { openForm(firstForm.getAttribute("data-form")); }
    var firstScenario = document.querySelector(".scenario-list__item");
    if (firstScenario) { openScenario(firstScenario.getAttribute("data-scenario")); }
  });
})();
