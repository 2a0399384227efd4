// The agent desk: server-sent events fill the screen-pop, status and queue panels;
// the status selector and the eligibility look-up talk to the server with fetch.
// Everything shown is set with textContent: no data is ever parsed as HTML.
(function () {
  "use strict";

  var desk = document.getElementById("desk");
  if (!desk) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  var POLICY_REASONS = {
    cooling_off: "犹豫期内 in cooling-off",
    not_in_force: "非有效状态 not in force",
    not_applicable_product: "非适用险种 not an applicable product",
  };
  var SERVICE_REASONS = {
    no_tier: "无档位 no tier",
    not_in_tier: "档位不含 not in tier",
    waiting_period: "等待期内 waiting period",
    quota_used: "额度已用完 quota used",
  };
  var TIERS = { anxin: "安心档", zunxiang: "尊享档", haohua: "豪华档" };
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
  function quota(value) { return value === null ? "不限 unlimited" : value; }

  // -- eligibility -------------------------------------------------------------------------

  function renderEligibility(e) {
    var services = $("eligibility-services").querySelector("tbody");
    var policies = $("eligibility-policies").querySelector("tbody");
    services.textContent = "";
    policies.textContent = "";
    if (!e) { text("eligibility-summary", ""); return; }
    text("eligibility-summary",
      (e.tier_name || "无档位 no tier") + " · 计入保额 " + e.counted_sum_insured +
      " · 生效 " + (e.service_effective_from || "—") +
      (e.in_waiting_period ? " · 等待期至 " + e.waiting_period_ends : ""));
    e.services.forEach(function (s) {
      var row = document.createElement("tr");
      row.setAttribute("data-testid", "eligibility-service");
      row.setAttribute("data-code", s.code);
      row.setAttribute("data-entitled", s.entitled ? "yes" : "no");
      cell(row, s.name, "name");
      cell(row, s.entitled ? "✓" : "✗", "entitled");
      cell(row, s.reason ? (SERVICE_REASONS[s.reason] || s.reason) : "", "reason");
      cell(row, quota(s.quota), "quota");
      cell(row, s.used + (s.unit === "days" ? " 天" : ""), "used");
      cell(row, quota(s.remaining), "remaining");
      cell(row, (s.designate || []).join(", "), "designate");
      services.appendChild(row);
    });
    e.policies.forEach(function (p) {
      var row = document.createElement("tr");
      row.setAttribute("data-testid", "eligibility-policy");
      row.setAttribute("data-policy-no", p.policy_no);
      row.setAttribute("data-counted", p.counted ? "yes" : "no");
      cell(row, p.policy_no, "policy_no");
      cell(row, p.product, "product");
      cell(row, p.sum_insured, "sum_insured");
      cell(row, p.counted ? "✓" : "✗", "counted");
      cell(row, p.reason ? (POLICY_REASONS[p.reason] || p.reason) : "", "reason");
      policies.appendChild(row);
    });
  }

  function lookUp(insuredId) {
    var url = desk.dataset.eligibilityUrl.replace("__ID__", encodeURIComponent(insuredId));
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (result) {
        if (result[0]) { renderEligibility(result[1]); }
        else { renderEligibility(null); text("eligibility-summary", result[1].error ? result[1].error.message : "error"); }
      })
      .catch(function () { text("eligibility-summary", "查询失败 look-up failed"); });
  }

  $("eligibility-lookup").addEventListener("submit", function (event) {
    event.preventDefault();
    var id = $("eligibility-insured-id").value.trim();
    if (id) lookUp(id);
  });

  // -- screen-pop ----------------------------------------------------------------------------

  function showPop(pop) {
    var panel = $("screen-pop");
    panel.setAttribute("data-state", "active");
    panel.setAttribute("data-call-sid", pop.call_sid);
    panel.setAttribute("data-replayed", pop.replayed ? "yes" : "no");
    $("sp-idle").hidden = true;
    $("sp-fields").hidden = false;
    text("sp-call-sid", pop.call_sid);
    text("sp-verified", pop.verified ? "已验证 verified" : "未验证 unverified");
    $("sp-verified").setAttribute("data-verified", pop.verified ? "yes" : "no");
    var holder = pop.policyholder || {};
    text("sp-policyholder-name", holder.name);
    text("sp-policyholder-phone", holder.phone);
    text("sp-policyholder-id", holder.id);
    text("sp-insured-name", pop.insured ? pop.insured.name : "");
    text("sp-insured-id", pop.insured_id);
    text("sp-service", pop.service_name ? pop.service_name + " (" + pop.service + ")" : pop.service);
    text("sp-line", pop.line);
    text("sp-queue-seconds", pop.queue_seconds + " s");
    var e = pop.eligibility;
    text("sp-tier", e ? (e.tier_name || "无档位 no tier") : "");
    text("sp-waiting-period", e ? (e.in_waiting_period ? "等待期至 " + e.waiting_period_ends : "否 no") : "");
    var ent = pop.entitlement;
    text("sp-entitlement", ent ? (ent.entitled ? "可用 entitled · 剩余 " + quota(ent.remaining)
      : "不可用 not entitled · " + (SERVICE_REASONS[ent.reason] || ent.reason)) : "");
    if (ent) $("sp-entitlement").setAttribute("data-entitled", ent.entitled ? "yes" : "no");
    var sla = $("sp-sla");
    sla.textContent = "";
    (pop.sla || []).forEach(function (d) {
      var li = document.createElement("li");
      li.setAttribute("data-key", d.key);
      var span = d.hours ? d.hours + " 小时" : d.working_days + " 个工作日";
      li.textContent = d.label + "：" + span + (d.due_at ? " → " + d.due_at.replace("T", " ").slice(0, 16)
        : d.due_on ? " → " + d.due_on : "（自" + (ANCHOR_LABELS[d.anchor] || d.anchor) + "起算）");
      sla.appendChild(li);
    });
    renderEligibility(e);
    // Prefill the request form for this call.
    $("case-call-sid").value = pop.call_sid || "";
    if (pop.insured_id) { $("case-insured-id").value = pop.insured_id; $("eligibility-insured-id").value = pop.insured_id; }
    if (pop.service) $("case-service").value = pop.service;
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
    since.textContent = s.since ? new Date(s.since).toLocaleTimeString() : "—";
    var reasons = JSON.parse($("status-reason").dataset.labels || "{}");
    $("status-reason").textContent = s.reason ? (reasons[s.reason] || s.reason) : "";
    var next = $("status-next");
    next.dataset.next = s.next || "";
    next.textContent = s.next ? "之后 then: " + statusLabel(s.next) : "";
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
      cell(row, c.service, "service");
      cell(row, TIERS[c.tier] || c.tier, "tier");
      cell(row, c.queue, "queue");
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
      if (wait && !isNaN(since)) wait.textContent = Math.max(0, Math.round((now - since) / 1000)) + "s";
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
    source.addEventListener("error", function () {
      $("stream-state").setAttribute("data-state", "reconnecting");
      text("stream-state", "重新连接中 reconnecting…");
      // EventSource retries by itself unless the server refused (e.g. signed out or 503).
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    });
  }
  connect();
})();
