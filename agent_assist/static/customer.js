// The customer on screen: the request form is always for one person, the one shown.
// - A new screen-pop (desk.js sends "desk:pop") starts the form again: that call's insured
//   person and service, or nobody, with the search box focused, for an unverified caller.
// - The search (GET /api/people?q=) finds a caller by name, pinyin, phone, the last six digits,
//   policy number or id; choosing a result puts that person on screen: their eligibility,
//   their contact history (GET /api/people/ID/history) and the request form.
// Everything shown is set with textContent: no data is ever parsed as HTML.
(function () {
  "use strict";

  var desk = document.getElementById("desk");
  if (!desk || !window.hotlineFormat) return;
  var F = window.hotlineFormat;
  function $(id) { return document.getElementById(id); }

  var form = $("case-form");
  var search = $("customer-search");
  var box = $("customer-q");
  var results = $("customer-results");
  var call = { sid: "", service: "" }; // the call on screen, kept across a form reset
  var shown = null; // the person on screen: {id, name}

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.assign(desk.dataset.signinUrl); throw new Error("signed out"); }
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      });
  }

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    return node;
  }

  function status(message) { $("customer-state").textContent = message || ""; }

  // -- the request form: only ever for the person on screen -----------------------------------

  function freshKey() {
    var bytes = new Uint8Array(18);
    window.crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function resetForm() {
    form.reset();
    $("case-request-key").value = freshKey();
    $("case-call-sid").value = call.sid;
    setPerson(null);
  }

  function setPerson(person) {
    shown = person;
    var who = $("case-person");
    $("case-insured-id").value = person ? person.id : "";
    who.setAttribute("data-person", person ? person.id : "");
    who.textContent = person
      ? "为 " + (person.name || "—") + "（" + person.id + "）受理"
      : "未选择客户：请从来电或客户查找中选择";
    who.classList.toggle("missing", !person);
    $("case-submit").disabled = !person;
    $("eligibility-who").textContent = person ? (person.name || "") + " " + person.id : "";
  }

  form.addEventListener("submit", function (event) {
    if (!shown || $("case-insured-id").value !== shown.id) {
      event.preventDefault();
      box.focus();
    }
  });

  // -- choosing a person ------------------------------------------------------------------------

  function choose(person, eligibilityShown) {
    setPerson(person);
    if (!eligibilityShown) window.hotlineDesk.lookUp(person.id);
    loadHistory(person);
    Array.prototype.forEach.call(results.querySelectorAll("li"), function (li) {
      li.classList.toggle("chosen", li.getAttribute("data-person") === person.id);
    });
  }

  function clearHistory() {
    var panel = $("history");
    panel.setAttribute("data-person", "");
    $("history-who").textContent = "";
    $("history-tables").hidden = true;
    $("history-empty").hidden = false;
    $("history-empty").textContent = "选择客户后显示其来电、回电和服务单";
  }

  // -- screen-pops --------------------------------------------------------------------------------

  // The form stays the call's through its wrap-up (where agents finish the request); once the
  // agent's state leaves the call and its wrap-up, nothing of it is left for the next caller.
  var BUSY = { on_call: true, wrap_up: true };
  var lastStatus = $("status-select").value;
  document.addEventListener("desk:status", function (event) {
    var status = (event.detail || {}).status || "";
    if (BUSY[lastStatus] && !BUSY[status]) resetForm();
    lastStatus = status;
  });

  document.addEventListener("desk:pop", function (event) {
    var pop = event.detail || {};
    call = { sid: pop.call_sid || "", service: pop.service || "" };
    resetForm();
    results.textContent = "";
    status("");
    box.value = "";
    if (pop.insured_id) {
      choose({ id: pop.insured_id, name: pop.insured ? pop.insured.name : "" }, !!pop.eligibility);
      if (pop.service) $("case-service").value = pop.service;
    } else {
      clearHistory();
      status(pop.verified ? "" : "未验证来电：请询问客户姓名或电话后查找");
      box.focus();
    }
  });

  // -- search ---------------------------------------------------------------------------------------

  search.addEventListener("submit", function (event) {
    event.preventDefault();
    var q = box.value.trim();
    if (!q) { box.focus(); return; }
    status("查找中…");
    getJson(desk.dataset.peopleUrl + "?q=" + encodeURIComponent(q)).then(function (result) {
      results.textContent = "";
      if (!result.ok) { status("无法查找：" + (result.body.error ? result.body.error.message : "")); return; }
      var people = result.body.people;
      status(people.length === 0 ? "未找到客户" :
        "找到 " + people.length + " 位" + (result.body.more ? "（仅显示前 " + people.length + " 位，请输入更多信息）" : ""));
      people.forEach(function (p) { results.appendChild(row(p)); });
    }).catch(function () { status("查找失败，请重试"); });
  });

  function row(p) {
    var li = el("li", null, { "data-testid": "customer-result", "data-person": p.id, "data-found-by": p.found_by });
    var line = el("div", null, { class: "who" });
    line.appendChild(el("strong", p.name || "—", { "data-field": "name" }));
    line.appendChild(el("span", p.id, { class: "muted", "data-field": "id" }));
    if (p.phone) line.appendChild(el("span", p.phone, { "data-field": "phone" }));
    line.appendChild(el("span", "按" + F.label("found_by", p.found_by) + "找到", { class: "tag" }));
    li.appendChild(line);
    var roles = [];
    if (p.policyholder) roles.push("投保人");
    if (p.insured) roles.push("被保险人");
    var actions = el("div", null, { class: "actions" });
    actions.appendChild(el("span", roles.join("、") || "无保单", { class: "muted" }));
    var open = el("button", "选择", { type: "button", "data-testid": "customer-choose" });
    open.addEventListener("click", function () { choose({ id: p.id, name: p.name }); });
    actions.appendChild(open);
    (p.household || []).forEach(function (member) {
      if (member.id === p.id) return;
      var other = el("button", "被保险人 " + member.name + " " + member.id,
        { type: "button", class: "secondary", "data-testid": "customer-household", "data-person": member.id });
      other.addEventListener("click", function () { choose({ id: member.id, name: member.name }); });
      actions.appendChild(other);
    });
    li.appendChild(actions);
    return li;
  }

  // -- contact history -------------------------------------------------------------------------------

  function loadHistory(person) {
    var panel = $("history");
    panel.setAttribute("data-person", person.id);
    panel.setAttribute("data-state", "loading");
    $("history-who").textContent = (person.name || "") + " " + person.id;
    var url = desk.dataset.historyUrl.replace("__ID__", encodeURIComponent(person.id));
    getJson(url).then(function (result) {
      if (panel.getAttribute("data-person") !== person.id) return; // another person since
      if (!result.ok) {
        $("history-tables").hidden = true;
        $("history-empty").hidden = false;
        $("history-empty").textContent = "无法读取联系记录";
        return;
      }
      showHistory(result.body);
      panel.setAttribute("data-state", "loaded");
    }).catch(function () {});
  }

  function fill(tableId, items, render, empty) {
    var body = $(tableId).querySelector("tbody");
    body.textContent = "";
    items.forEach(function (item) { body.appendChild(render(item)); });
    if (!items.length) {
      var tr = el("tr");
      tr.appendChild(el("td", empty, { colspan: $(tableId).querySelectorAll("th").length, class: "muted" }));
      body.appendChild(tr);
    }
  }

  function cells(tr, values) {
    values.forEach(function (v) {
      var td = el("td", v[0]);
      if (v[1]) td.setAttribute("data-field", v[1]);
      tr.appendChild(td);
    });
    return tr;
  }

  function showHistory(h) {
    $("history-empty").hidden = true;
    $("history-tables").hidden = false;
    fill("history-calls", h.calls, function (c) {
      var tr = el("tr", null, { "data-testid": "history-call", "data-call-sid": c.call_sid, "data-outcome": c.outcome });
      return cells(tr, [
        [F.when(c.started_at), "when"],
        [F.label("call_kind", c.kind), "kind"],
        [c.line_name || "—", "line"],
        [c.verified ? "已验证" : "未验证", "verified"],
        [c.service_name || "—", "service"],
        [c.agent || "—", "agent"],
        [F.label("call_outcome", c.outcome) + (c.talk_seconds ? " · " + F.seconds(c.talk_seconds) : ""), "outcome"],
      ]);
    }, "无来电记录");
    fill("history-callbacks", h.callbacks, function (cb) {
      var tr = el("tr", null, { "data-testid": "history-callback", "data-status": cb.status });
      return cells(tr, [
        [F.when(cb.created_at), "when"],
        [cb.service_name || "—", "service"],
        [F.label("callback_status", cb.status), "status"],
        [cb.attempts + " 次", "attempts"],
      ]);
    }, "无回电");
    fill("history-cases", h.cases, function (c) {
      var tr = el("tr", null, { "data-testid": "history-case", "data-case-id": c.id });
      var link = el("a", "#" + c.id, { href: desk.dataset.caseUrl.replace(/0$/, String(c.id)) });
      var first = el("td");
      first.appendChild(link);
      tr.appendChild(first);
      return cells(tr, [
        [F.when(c.opened_at), "when"],
        [c.service_name, "service"],
        [F.label("case_status", c.status) + (c.sla ? " · " + F.label("sla", c.sla) : ""), "status"],
      ]);
    }, "无服务单");
  }

  setPerson(null);
})();
