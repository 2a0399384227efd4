// The supervisor dashboard: each "snapshot" event from /supervisor/events redraws the
// lines, queues, agents and cases tables. Everything is set with textContent: no data is
// ever parsed as HTML. Waits and status times count on between events from "since".
(function () {
  "use strict";

  var board = document.getElementById("dashboard");
  if (!board) return;
  var serverOffset = 0; // server clock minus browser clock, in ms
  var STATUS_LABELS = JSON.parse(board.dataset.statusLabels || "{}");
  function statusLabel(status) { return STATUS_LABELS[status] || status; }

  function $(id) { return document.getElementById(id); }
  function show(value) { return value === null || value === undefined || value === "" ? "—" : String(value); }
  function pct(value) { return value === null || value === undefined ? "—" : Math.round(value * 100) + "%"; }
  function secs(value) { return value === null || value === undefined ? "—" : value + "s"; }
  function cell(row, value, field, className) {
    var td = document.createElement("td");
    td.textContent = show(value);
    if (field) td.setAttribute("data-field", field);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }
  function row(testid, attrs) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-testid", testid);
    Object.keys(attrs).forEach(function (k) { tr.setAttribute("data-" + k, attrs[k]); });
    return tr;
  }

  function showLines(lines) {
    var body = $("line-rows");
    body.textContent = "";
    lines.forEach(function (l) {
      var tr = row("line-row", { line: l.line, open: l.open ? "yes" : "no" });
      cell(tr, l.name + " " + l.line, "name");
      cell(tr, (l.open ? "营业中 open" : "已关闭 closed") + " · " + (l.hours_today.join(", ") || "—"), "hours");
      cell(tr, l.waiting, "waiting");
      cell(tr, secs(l.longest_wait_seconds), "longest_wait_seconds");
      cell(tr, l.offered, "offered");
      cell(tr, l.answered, "answered");
      cell(tr, l.abandoned, "abandoned");
      cell(tr, pct(l.service_level), "service_level");
      cell(tr, l.callbacks_pending, "callbacks_pending");
      body.appendChild(tr);
    });
  }

  function showQueues(queues) {
    var body = $("queue-rows");
    body.textContent = "";
    queues.forEach(function (q) {
      var tr = row("queue-row", { queue: q.name, line: q.line, kind: q.kind });
      cell(tr, q.name, "name");
      cell(tr, q.waiting, "waiting");
      cell(tr, secs(q.longest_wait_seconds), "longest_wait_seconds");
      cell(tr, secs(q.average_wait_seconds), "average_wait_seconds");
      cell(tr, q.offered, "offered");
      cell(tr, q.answered, "answered");
      cell(tr, q.answered_within_20s, "answered_within_20s");
      cell(tr, q.abandoned, "abandoned");
      cell(tr, pct(q.service_level), "service_level");
      cell(tr, q.callbacks_pending, "callbacks_pending");
      body.appendChild(tr);
    });
  }

  function showAgents(agents, counts) {
    var summary = $("agent-counts");
    summary.textContent = "";
    Object.keys(counts).forEach(function (status) {
      var span = document.createElement("span");
      span.className = "count";
      span.setAttribute("data-status", status);
      span.textContent = statusLabel(status) + ": ";
      var b = document.createElement("b");
      b.textContent = counts[status];
      span.appendChild(b);
      summary.appendChild(span);
      summary.appendChild(document.createTextNode(" "));
    });
    var body = $("agent-rows");
    body.textContent = "";
    agents.forEach(function (a) {
      var tr = row("agent-row", { username: a.username, status: a.status, since: a.since || "" });
      cell(tr, a.username, "username");
      cell(tr, a.role, "role");
      cell(tr, a.queues.join(", "), "queues");
      cell(tr, statusLabel(a.status), "status");
      cell(tr, "", "for");
      body.appendChild(tr);
    });
  }

  function showCases(cases) {
    var body = $("case-rows");
    body.textContent = "";
    cases.forEach(function (c) {
      var tr = row("case-row", { "case-id": c.id, sla: c.sla });
      var td = document.createElement("td");
      var a = document.createElement("a");
      a.href = board.dataset.caseUrl.replace(/0$/, String(c.id));
      a.textContent = "#" + c.id;
      td.appendChild(a);
      tr.appendChild(td);
      cell(tr, c.insured_name, "insured_name");
      cell(tr, c.service_name, "service_name");
      cell(tr, c.deadline, "deadline");
      cell(tr, c.due, "due");
      cell(tr, c.sla, "sla", "sla " + c.sla);
      body.appendChild(tr);
    });
    $("case-count").textContent = String(cases.length);
    $("cases-empty").hidden = cases.length > 0;
  }

  function showCalendarNotice(text) {
    var banner = $("calendar-notice");
    banner.textContent = text || "";
    banner.hidden = !text;
  }

  function showSnapshot(data) {
    serverOffset = new Date(data.server_time).getTime() - Date.now();
    showLines(data.lines);
    showQueues(data.queues);
    showAgents(data.agents, data.agent_counts);
    showCases(data.cases);
    showCalendarNotice(data.calendar_notice);
    board.setAttribute("data-updated", data.server_time);
    tick();
  }

  function tick() {
    var now = Date.now() + serverOffset;
    Array.prototype.forEach.call(document.querySelectorAll("#agent-rows tr"), function (tr) {
      var since = new Date(tr.getAttribute("data-since")).getTime();
      var field = tr.querySelector('[data-field="for"]');
      if (field) field.textContent = isNaN(since) ? "—" : Math.max(0, Math.round((now - since) / 1000)) + "s";
    });
  }
  setInterval(tick, 1000);
  tick();

  var source = null;
  function connect() {
    source = new EventSource(board.dataset.eventsUrl);
    source.addEventListener("open", function () {
      $("stream-state").setAttribute("data-state", "open");
      $("stream-state").textContent = "实时 live";
    });
    source.addEventListener("snapshot", function (event) { showSnapshot(JSON.parse(event.data)); });
    // A backend is down: the server says so, ends the stream, and the browser comes back.
    source.addEventListener("unavailable", function (event) {
      $("stream-state").setAttribute("data-state", "unavailable");
      $("stream-state").textContent = JSON.parse(event.data).message + "，正在重试 retrying…";
    });
    // Signed out here or elsewhere (password changed, account disabled): back to sign-in.
    source.addEventListener("signed_out", function () {
      source.close();
      window.location.assign(board.dataset.signinUrl);
    });
    source.addEventListener("error", function () {
      // EventSource retries by itself unless the server refused (e.g. signed out).
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
      if ($("stream-state").getAttribute("data-state") === "unavailable") return;
      $("stream-state").setAttribute("data-state", "reconnecting");
      $("stream-state").textContent = "重新连接中 reconnecting…";
    });
  }
  connect();
})();
