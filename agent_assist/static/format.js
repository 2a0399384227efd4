// How the desk writes what it shows: a Chinese word for every code, amounts with separators
// (300,000 元), times as people read them (12月6日 11:29) in the hotline's zone, whatever the
// browser's. The words come from the server (agent_assist/labels.py, the desk's data-labels),
// which writes its own pages by the same rules.
(function () {
  "use strict";

  var desk = document.getElementById("desk");
  var LABELS = desk ? JSON.parse(desk.dataset.labels || "{}") : {};
  var ZONE = (desk && desk.dataset.tz) || undefined;
  var THIS_YEAR = desk && desk.dataset.today ? Number(desk.dataset.today.slice(0, 4)) : new Date().getFullYear();

  function none(value) { return value === null || value === undefined || value === ""; }

  function label(group, code) {
    if (none(code)) return "—";
    var words = LABELS[group] || {};
    return Object.prototype.hasOwnProperty.call(words, code) ? words[code] : String(code);
  }

  function amount(value) {
    if (none(value)) return "—";
    return Number(value).toLocaleString("en-US") + " 元";
  }

  function day(iso) {
    if (none(iso)) return "—";
    var year = Number(iso.slice(0, 4)), month = Number(iso.slice(5, 7)), date = Number(iso.slice(8, 10));
    return (year === THIS_YEAR ? "" : year + "年") + month + "月" + date + "日";
  }

  var clock = new Intl.DateTimeFormat("en-CA", {
    timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });

  function when(iso) {
    if (none(iso)) return "—";
    // Without an offset it is wall-clock time in the hotline's zone already (the SLA rules').
    var wall = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:[\d.]+)?$/.exec(iso);
    if (wall) return day(wall[1]) + " " + wall[2];
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) return String(iso);
    var parts = {};
    clock.formatToParts(moment).forEach(function (p) { parts[p.type] = p.value; });
    return day(parts.year + "-" + parts.month + "-" + parts.day) + " " + parts.hour + ":" + parts.minute;
  }

  var clockTime = new Intl.DateTimeFormat("en-CA", {
    timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });

  // A moment of today, to the second (since when an agent is in a state), in the hotline's zone.
  function time(iso) {
    if (none(iso)) return "—";
    var moment = new Date(iso);
    return isNaN(moment.getTime()) ? String(iso) : clockTime.format(moment);
  }

  function seconds(value) {
    if (none(value)) return "—";
    var whole = Math.max(0, Math.round(Number(value)));
    if (whole < 60) return whole + " 秒";
    var rest = whole % 60;
    return Math.floor(whole / 60) + " 分 " + (rest < 10 ? "0" : "") + rest + " 秒";
  }

  window.hotlineFormat = { label: label, amount: amount, day: day, when: when, time: time, seconds: seconds };
})();
