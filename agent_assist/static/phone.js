// The agent's phone (SPEC §6): ringing with accept / reject, then mute, hang up and a call
// timer, then the wrap-up countdown with "ready now" and "more time" (once).
// Two phones behind the same controls: Twilio's Voice SDK (a Twilio.Device registered with
// /agent/token, refreshed before it expires) with Twilio settings; without them, the
// simulator's phone (/simulator/phone, polled every second, its buttons posted with the
// desk's CSRF token). The wrap-up follows the agent's state from the event stream (desk.js
// sends "desk:status").
(function () {
  "use strict";

  var panel = document.getElementById("phone");
  if (!panel) return;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var mode = panel.dataset.mode;

  function $(id) { return document.getElementById(id); }
  function part(name) { return panel.querySelector('[data-testid="' + name + '"]'); }
  function say(message) { $("phone-result").textContent = message || ""; }
  function twoDigits(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    return twoDigits(Math.floor(seconds / 60)) + ":" + twoDigits(seconds % 60);
  }
  // 138****5678, as every number shown to agents (the simulator masks its own).
  function masked(number) {
    var digits = String(number || "").replace(/^client:/, "");
    if (!/^\+?\d{7,}$/.test(digits)) return digits || "未知号码";
    var local = digits.replace(/^\+86/, "");
    return local.slice(0, 3) + "****" + local.slice(-4);
  }

  // -- what the panel shows ---------------------------------------------------------------------

  var view = { state: "idle", caller: "", ringUntil: 0, callSince: 0, wrapUntil: 0, extended: false };

  function show(state) {
    var was = view.state;
    view.state = state;
    panel.setAttribute("data-state", state);
    part("phone-ringing").hidden = state !== "ringing";
    part("phone-call").hidden = state !== "on_call";
    part("phone-wrap-up").hidden = state !== "wrap_up";
    render();
  }

  function render() {
    var now = Date.now();
    if (view.state === "ringing") {
      $("phone-caller").textContent = view.caller;
      $("phone-ring-left").textContent = String(Math.max(0, Math.ceil((view.ringUntil - now) / 1000)));
    } else if (view.state === "on_call") {
      $("phone-call-caller").textContent = view.caller;
      $("phone-timer").textContent = clock((now - view.callSince) / 1000);
    } else if (view.state === "wrap_up") {
      $("wrap-up-left").textContent = String(Math.max(0, Math.ceil((view.wrapUntil - now) / 1000)));
      $("wrap-up-extend").disabled = view.extended;
    }
  }
  setInterval(render, 250);

  function ringing(caller, seconds) {
    view.caller = caller;
    view.ringUntil = Date.now() + (seconds || 0) * 1000;
    if (view.state !== "ringing") show("ringing");
  }
  function talking(caller, seconds) {
    view.caller = caller || view.caller;
    if (view.state !== "on_call") {
      view.callSince = Date.now() - (seconds || 0) * 1000;
      $("phone-mute").setAttribute("aria-pressed", "false");
      $("phone-mute").textContent = "静音 Mute";
      show("on_call");
    }
  }
  function idle() {
    if (view.state === "ringing" || view.state === "on_call") show("idle");
  }

  // -- the wrap-up, from the agent's state --------------------------------------------------------

  document.addEventListener("desk:status", function (event) {
    var s = event.detail || {};
    if (s.status === "wrap_up" && s.wrap_up_until) {
      if (view.state === "on_call") show("idle"); // the call is over, whoever hung up
      view.wrapUntil = new Date(s.wrap_up_until).getTime();
      view.extended = !!s.wrap_up_extended;
      show("wrap_up");
    } else if (view.state === "wrap_up") {
      show("idle");
    }
  });

  function wrapUp(action) {
    fetch(panel.dataset.wrapUpUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ action: action }),
    }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.error) { say(body.error.message); return; }
      // The event stream brings the new state too; this only makes it immediate.
      document.dispatchEvent(new CustomEvent("desk:status", { detail: body }));
    }).catch(function () { say("操作失败，请重试 failed, try again"); });
  }
  $("wrap-up-end").addEventListener("click", function () { wrapUp("end"); });
  $("wrap-up-extend").addEventListener("click", function () { wrapUp("extend"); });

  // -- the simulator's phone ------------------------------------------------------------------------

  function simulatorPhone() {
    var url = panel.dataset.phoneUrl;
    function shown(p) {
      if (p.state === "ringing") ringing(p.caller, p.expires_in);
      else if (p.state === "on_call") talking(p.caller, p.seconds);
      else idle();
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) { if (p) shown(p); })
        .catch(function () {})
        .then(function () { setTimeout(poll, 1000); });
    }
    function press(action) {
      return fetch(url + "/" + action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      }).then(function (r) { return r.json(); }).then(function (body) {
        if (body.error) { say(body.error.message); return; }
        say("");
        shown(body);
      }).catch(function () { say("操作失败，请重试 failed, try again"); });
    }
    poll();
    return {
      accept: function () { return press("accept"); },
      reject: function () { return press("reject"); },
      hangUp: function () { return press("hangup"); },
      // The simulated caller hears nothing anyway: muting is the button's state alone.
      mute: function (on) { return on; },
    };
  }

  // -- Twilio's Voice SDK -----------------------------------------------------------------------------

  function twilioPhone() {
    var call = null;
    var state = $("phone-state");
    if (!window.Twilio || !window.Twilio.Device) {
      state.textContent = "浏览器电话组件未加载 Voice SDK not loaded";
      return null;
    }
    function token() {
      return fetch(panel.dataset.tokenUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (body.error) throw new Error(body.error.message);
          return body.token;
        });
    }
    function ended() { call = null; idle(); }
    token().then(function (jwt) {
      var device = new window.Twilio.Device(jwt, { closeProtection: true, codecPreferences: ["opus", "pcmu"] });
      device.on("registered", function () { state.textContent = "浏览器电话已就绪 Browser phone ready"; });
      device.on("unregistered", function () { state.textContent = "浏览器电话未注册 Browser phone not registered"; });
      device.on("error", function (error) { say("电话错误 phone error: " + (error && error.message)); });
      // Refreshed before it expires (the SDK warns 10 s ahead by default).
      device.on("tokenWillExpire", function () {
        token().then(function (fresh) { device.updateToken(fresh); });
      });
      device.on("incoming", function (incoming) {
        if (call) { incoming.reject(); return; }
        call = incoming;
        ringing(masked(incoming.parameters.From), Number(panel.dataset.offerSeconds));
        incoming.on("accept", function () { talking(masked(incoming.parameters.From), 0); });
        incoming.on("disconnect", ended);
        incoming.on("cancel", ended);
        incoming.on("reject", ended);
        incoming.on("error", function (error) { say("通话错误 call error: " + (error && error.message)); });
      });
      device.register();
    }).catch(function (error) { state.textContent = "浏览器电话不可用 unavailable: " + error.message; });
    return {
      accept: function () { if (call) call.accept(); },
      reject: function () { if (call) call.reject(); },
      hangUp: function () { if (call) call.disconnect(); },
      mute: function (on) { if (call) call.mute(on); return on; },
    };
  }

  var phone = mode === "twilio" ? twilioPhone() : mode === "simulator" ? simulatorPhone() : null;
  if (!phone) return;

  $("phone-accept").addEventListener("click", function () { phone.accept(); });
  $("phone-reject").addEventListener("click", function () { phone.reject(); });
  $("phone-hangup").addEventListener("click", function () { phone.hangUp(); });
  $("phone-mute").addEventListener("click", function () {
    var on = this.getAttribute("aria-pressed") !== "true";
    phone.mute(on);
    this.setAttribute("aria-pressed", on ? "true" : "false");
    this.textContent = on ? "取消静音 Unmute" : "静音 Mute";
  });
})();
