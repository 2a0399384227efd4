// The supervisor dashboard: each "snapshot" event from /supervisor/events redraws the
// lines, queues, agents and cases tables; a "checked" event says the figures were looked
// at and had not changed. Everything is set with textContent: no data is ever parsed as
// HTML. Which figures are past their thresholds comes with the data ("levels"); the time an
// agent has been in a state counts on between events from "since", against the limits the
// server sent with it.
(function () {
  "use strict";

  var board = document.getElementById("dashboard");
  if (!board) return;
  var serverOffset = 0; // server clock minus browser clock, in ms
  var lastUpdated = null; // server time of the latest snapshot or check, in ms
  var STALE_AFTER_MS = (parseFloat(board.dataset.staleAfter) || 60) * 1000;
  var STATUS_LABELS = JSON.parse(board.dataset.statusLabels || "{}");
  function statusLabel(status) { return STATUS_LABELS[status] || status; }
  var REASON_LABELS = JSON.parse(board.dataset.reasonLabels || "{}");
  // 小休（未接）: why an agent is on a break or offline, when the system put them there.
  function stateLabel(a) {
    return statusLabel(a.status) + (a.reason ? "（" + (REASON_LABELS[a.reason] || a.reason) + "）" : "");
  }

  function $(id) { return document.getElementById(id); }
  function show(value) { return value === null || value === undefined || value === "" ? "—" : String(value); }
  function pct(value) { return value === null || value === undefined ? "—" : Math.round(value * 100) + "%"; }
  function secs(value) { return value === null || value === undefined ? "—" : Math.round(value) + "s"; }
  // The server's own wall-clock time (HOTLINE_TZ), as its ISO timestamps write it.
  function clock(serverTime) { return serverTime.substr(11, 8); }
  function cell(row, value, field, className) {
    var td = document.createElement("td");
    td.textContent = show(value);
    if (field) td.setAttribute("data-field", field);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }
  function levelled(row, value, field, levels) {
    var td = cell(row, value, field);
    var level = levels && levels[field];
    if (level) {
      td.className = "level-" + level;
      td.setAttribute("data-level", level);
    }
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
      levelled(tr, l.waiting, "waiting", l.levels);
      levelled(tr, secs(l.longest_wait_seconds), "longest_wait_seconds", l.levels);
      cell(tr, l.offered, "offered");
      cell(tr, l.answered, "answered");
      cell(tr, l.abandoned, "abandoned");
      cell(tr, l.short_abandons, "short_abandons");
      levelled(tr, pct(l.service_level), "service_level", l.levels);
      levelled(tr, secs(l.average_speed_of_answer), "average_speed_of_answer", l.levels);
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
      levelled(tr, q.waiting, "waiting", q.levels);
      levelled(tr, secs(q.longest_wait_seconds), "longest_wait_seconds", q.levels);
      cell(tr, q.offered, "offered");
      cell(tr, q.answered, "answered");
      cell(tr, q.answered_within_sl, "answered_within_sl");
      cell(tr, q.abandoned, "abandoned");
      cell(tr, q.short_abandons, "short_abandons");
      levelled(tr, pct(q.service_level), "service_level", q.levels);
      levelled(tr, secs(q.average_speed_of_answer), "average_speed_of_answer", q.levels);
      cell(tr, secs(q.average_handle_time), "average_handle_time");
      cell(tr, q.callbacks_requested, "callbacks_requested");
      cell(tr, q.callbacks_pending, "callbacks_pending");
      body.appendChild(tr);
    });
  }

  function showAgents(agents, counts, supervisors) {
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
      var limits = a.state_threshold || {};
      var tr = row("agent-row", {
        username: a.username, status: a.status, since: a.since || "",
        "warn-after": limits.warn === undefined ? "" : limits.warn,
        "alert-after": limits.alert === undefined ? "" : limits.alert,
      });
      cell(tr, a.username, "username");
      cell(tr, a.queues.join(", "), "queues");
      cell(tr, stateLabel(a), "status");
      cell(tr, "", "for");
      cell(tr, "", "call");
      cell(tr, a.handled_today, "handled_today");
      cell(tr, secs(a.average_handle_time_today), "average_handle_time_today");
      cell(tr, a.missed_offers_today, "missed_offers_today");
      body.appendChild(tr);
    });
    var apart = $("supervisors");
    Array.prototype.slice.call(apart.querySelectorAll(".count")).forEach(function (n) { n.remove(); });
    supervisors.forEach(function (s) {
      var span = document.createElement("span");
      span.className = "count";
      span.setAttribute("data-username", s.username);
      span.textContent = s.username + " · " + statusLabel(s.status);
      apart.appendChild(span);
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

  function updated(serverTime) {
    var at = new Date(serverTime).getTime();
    if (isNaN(at)) return;
    serverOffset = at - Date.now();
    lastUpdated = at;
    var label = $("last-updated");
    label.setAttribute("data-at", serverTime);
    label.textContent = "最后更新 Last updated " + clock(serverTime);
    board.setAttribute("data-updated", serverTime);
  }

  function showCalendarNotice(text) {
    var banner = $("calendar-notice");
    banner.textContent = text || "";
    banner.hidden = !text;
  }

  function showSnapshot(data) {
    showLines(data.lines);
    showQueues(data.queues);
    showAgents(data.agents, data.agent_counts, data.supervisors || []);
    showCases(data.cases);
    showCalendarNotice(data.calendar_notice);
    updated(data.server_time);
    tick();
  }

  function tick() {
    var now = Date.now() + serverOffset;
    Array.prototype.forEach.call(document.querySelectorAll("#agent-rows tr"), function (tr) {
      var since = new Date(tr.getAttribute("data-since")).getTime();
      var seconds = isNaN(since) ? null : Math.max(0, Math.round((now - since) / 1000));
      var field = tr.querySelector('[data-field="for"]');
      if (!field) return;
      field.textContent = seconds === null ? "—" : seconds + "s";
      var warn = parseFloat(tr.getAttribute("data-warn-after"));
      var alert = parseFloat(tr.getAttribute("data-alert-after"));
      var level = seconds === null ? "" : seconds >= alert ? "alert" : seconds >= warn ? "warn" : "";
      field.className = level ? "level-" + level : "";
      if (level) field.setAttribute("data-level", level); else field.removeAttribute("data-level");
      var call = tr.querySelector('[data-field="call"]');
      if (call) call.textContent = tr.getAttribute("data-status") === "on_call" && seconds !== null ? seconds + "s" : "—";
    });
    var label = $("last-updated");
    var stale = lastUpdated !== null && now - lastUpdated > STALE_AFTER_MS;
    label.classList.toggle("stale", stale);
    label.setAttribute("data-stale", stale ? "yes" : "no");
  }
  var initial = $("last-updated").getAttribute("data-at");
  if (initial) updated(initial);
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
    source.addEventListener("checked", function (event) { updated(JSON.parse(event.data).server_time); tick(); });
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
