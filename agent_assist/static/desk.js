// The agent desk: server-sent events fill the screen-pop, status and queue panels;
// the status selector and the eligibility look-up talk to the server with fetch.
// Everything shown is set with textContent: no data is ever parsed as HTML.
(function () {
  "use strict";

  var desk = document.getElementById("desk");
  if (!desk) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var F = window.hotlineFormat; // words for codes, amounts and times (format.js)
  var ANCHOR_LABELS = JSON.parse(desk.dataset.anchorLabels || "{}");
  var serverOffset = 0; // server clock minus browser clock, in ms

  function $(id) { return document.getElementById(id); }
  function text(id, value) {
    var el = $(id);
    if (el) el.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
  }
  function cell(row, value, field) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "—" : String(value);
    if (field) td.setAttribute("data-field", field);
    row.appendChild(td);
    return td;
  }
  function quota(value) { return value === null ? "不限" : value; }

  // -- eligibility -------------------------------------------------------------------------

  function renderEligibility(e) {
    var services = $("eligibility-services").querySelector("tbody");
    var policies = $("eligibility-policies").querySelector("tbody");
    services.textContent = "";
    policies.textContent = "";
    if (!e) { text("eligibility-summary", ""); return; }
    text("eligibility-summary",
      (e.tier_name || "无档位") + " · 计入保额 " + F.amount(e.counted_sum_insured) +
      " · 服务生效 " + F.day(e.service_effective_from) +
      (e.in_waiting_period ? " · 等待期至 " + F.day(e.waiting_period_ends) : ""));
    e.services.forEach(function (s) {
      var row = document.createElement("tr");
      row.setAttribute("data-testid", "eligibility-service");
      row.setAttribute("data-code", s.code);
      row.setAttribute("data-entitled", s.entitled ? "yes" : "no");
      cell(row, s.name, "name");
      cell(row, s.entitled ? "✓" : "✗", "entitled");
      cell(row, s.reason ? F.label("service_reason", s.reason) : "", "reason");
      cell(row, quota(s.quota), "quota");
      cell(row, s.used + " " + F.label("unit", s.unit), "used");
      cell(row, quota(s.remaining), "remaining");
      cell(row, (s.designate || []).map(function (d) { return F.label("designation", d); }).join("、") || "—", "designate");
      services.appendChild(row);
    });
    e.policies.forEach(function (p) {
      var row = document.createElement("tr");
      row.setAttribute("data-testid", "eligibility-policy");
      row.setAttribute("data-policy-no", p.policy_no);
      row.setAttribute("data-counted", p.counted ? "yes" : "no");
      cell(row, p.policy_no, "policy_no");
      cell(row, p.product, "product");
      cell(row, F.amount(p.sum_insured), "sum_insured");
      cell(row, p.counted ? "✓" : "✗", "counted");
      cell(row, p.reason ? F.label("policy_reason", p.reason) : "", "reason");
      policies.appendChild(row);
    });
  }

  var asked = null; // the last person looked up: an older answer arriving late is dropped
  function lookUp(insuredId) {
    asked = insuredId;
    var url = desk.dataset.eligibilityUrl.replace("__ID__", encodeURIComponent(insuredId));
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (result) {
        if (asked !== insuredId) return;
        if (result[0]) { renderEligibility(result[1]); }
        else { renderEligibility(null); text("eligibility-summary", "未找到被保险人 " + insuredId); }
      })
      .catch(function () { text("eligibility-summary", "查询失败，请重试"); });
  }
  // The customer search (customer.js) opens a person's eligibility here.
  window.hotlineDesk = { lookUp: lookUp };

  // -- screen-pop ----------------------------------------------------------------------------

  function showPop(pop) {
    var panel = $("screen-pop");
    panel.setAttribute("data-state", "active");
    panel.setAttribute("data-call-sid", pop.call_sid);
    panel.setAttribute("data-replayed", pop.replayed ? "yes" : "no");
    $("sp-idle").hidden = true;
    $("sp-fields").hidden = false;
    text("sp-call-sid", pop.call_sid);
    text("sp-verified", pop.verified ? "已验证" : "未验证");
    $("sp-verified").setAttribute("data-verified", pop.verified ? "yes" : "no");
    var holder = pop.policyholder || {};
    text("sp-policyholder-name", holder.name);
    text("sp-policyholder-phone", holder.phone);
    text("sp-policyholder-id", holder.id);
    text("sp-insured-name", pop.insured ? pop.insured.name : "");
    text("sp-insured-id", pop.insured_id);
    text("sp-service", pop.service_name || F.label("service", pop.service));
    text("sp-line", F.label("line", pop.line));
    text("sp-queue-seconds", F.seconds(pop.queue_seconds));
    var e = pop.eligibility;
    text("sp-tier", e ? (e.tier_name || "无档位") : "");
    text("sp-waiting-period", e ? (e.in_waiting_period ? "等待期至 " + F.day(e.waiting_period_ends) : "否") : "");
    var ent = pop.entitlement;
    text("sp-entitlement", ent ? (ent.entitled ? "可用 · 剩余 " + quota(ent.remaining)
      : "不可用 · " + F.label("service_reason", ent.reason)) : "");
    if (ent) $("sp-entitlement").setAttribute("data-entitled", ent.entitled ? "yes" : "no");
    var sla = $("sp-sla");
    sla.textContent = "";
    (pop.sla || []).forEach(function (d) {
      var li = document.createElement("li");
      li.setAttribute("data-key", d.key);
      var span = d.hours ? d.hours + " 小时" : d.working_days + " 个工作日";
      li.textContent = d.label + "：" + span + (d.due_at ? " → " + F.when(d.due_at)
        : d.due_on ? " → " + F.day(d.due_on) : "（自" + (ANCHOR_LABELS[d.anchor] || d.anchor) + "起算）");
      sla.appendChild(li);
    });
    asked = pop.insured_id || null;
    renderEligibility(e);
    // The request form and the customer panels start again from this call (customer.js).
    document.dispatchEvent(new CustomEvent("desk:pop", { detail: pop }));
  }

  // -- status ---------------------------------------------------------------------------------

  function statusLabel(value) {
    var option = $("status-select").querySelector('option[value="' + value + '"]');
    return option ? option.textContent : value;
  }

  function showStatus(s) {
    $("status-select").value = s.status;
    var since = $("status-since");
    since.setAttribute("datetime", s.since || "");
    since.textContent = F.time(s.since);
    var reasons = JSON.parse($("status-reason").dataset.labels || "{}");
    $("status-reason").textContent = s.reason ? (reasons[s.reason] || s.reason) : "";
    var next = $("status-next");
    next.dataset.next = s.next || "";
    next.textContent = s.next ? "之后 then: " + statusLabel(s.next) : "";
    // The phone's wrap-up countdown follows the state (phone.js).
    document.dispatchEvent(new CustomEvent("desk:status", { detail: s }));
  }

  $("status-select").addEventListener("change", function () {
    fetch(desk.dataset.statusUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ status: this.value }),
    }).then(function (r) { return r.json(); }).then(function (body) {
      // 200: taken now; 202: kept for after the call (the selector shows the state now).
      if (body.status) showStatus(body);
    });
  });
  $("status-submit").hidden = true;

  // -- queue ----------------------------------------------------------------------------------

  function showQueue(q) {
    serverOffset = new Date(q.server_time).getTime() - Date.now();
    var rows = $("queue-rows");
    rows.textContent = "";
    q.callers.forEach(function (c) {
      var row = document.createElement("tr");
      row.setAttribute("data-testid", "queue-row");
      row.setAttribute("data-call-sid", c.call_sid);
      row.setAttribute("data-since", c.since);
      cell(row, c.name || "未识别", "name");
      cell(row, F.label("service", c.service), "service");
      cell(row, F.label("tier", c.tier), "tier");
      cell(row, F.label("queue", c.queue), "queue");
      cell(row, "", "wait");
      rows.appendChild(row);
    });
    text("queue-count", q.callers.length);
    $("queue-empty").hidden = q.callers.length > 0;
    tick();
  }

  function tick() {
    var now = Date.now() + serverOffset;
    Array.prototype.forEach.call(document.querySelectorAll('#queue-rows tr'), function (row) {
      var since = new Date(row.getAttribute("data-since")).getTime();
      var wait = row.querySelector('[data-field="wait"]');
      if (wait && !isNaN(since)) wait.textContent = F.seconds((now - since) / 1000);
    });
  }
  setInterval(tick, 1000);

  // -- the simulator's "take the next call" (only without Twilio: HOTLINE_SIMULATOR) ------------
  // The screen-pop itself arrives through the event stream, like a real call's.

  var takeForm = $("take-form");
  if (takeForm) {
    takeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      $("take-next").disabled = true;
      fetch(takeForm.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      }).then(function (r) { return r.json(); }).then(function (body) {
        var result = $("take-result");
        result.setAttribute("data-outcome", body.error ? body.error.code : "taken");
        text("take-result", body.error ? body.error.message : body.message);
      }).catch(function () {
        text("take-result", "接听失败 could not take a call");
      }).then(function () { $("take-next").disabled = false; });
    });
  }

  // -- the event stream -------------------------------------------------------------------------

  var source = null;
  function connect() {
    source = new EventSource(desk.dataset.eventsUrl);
    source.addEventListener("open", function () {
      $("stream-state").setAttribute("data-state", "open");
      text("stream-state", "实时连接 live");
    });
    source.addEventListener("screen_pop", function (event) { showPop(JSON.parse(event.data)); });
    source.addEventListener("status", function (event) { showStatus(JSON.parse(event.data)); });
    source.addEventListener("queue", function (event) { showQueue(JSON.parse(event.data)); });
    // A backend is down: the server says so, ends the stream, and the browser comes back.
    source.addEventListener("unavailable", function (event) {
      $("stream-state").setAttribute("data-state", "unavailable");
      text("stream-state", JSON.parse(event.data).message + "，正在重试 retrying…");
    });
    // Signed out here or elsewhere (password changed, account disabled): back to sign-in.
    source.addEventListener("signed_out", function () {
      source.close();
      window.location.assign(desk.dataset.signinUrl);
    });
    source.addEventListener("error", function () {
      // EventSource retries by itself unless the server refused (e.g. signed out).
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
      if ($("stream-state").getAttribute("data-state") === "unavailable") return;
      $("stream-state").setAttribute("data-state", "reconnecting");
      text("stream-state", "重新连接中 reconnecting…");
    });
  }
  connect();
})();
