// Times marked data-local-time are rewritten into the browser's own time zone (the server wrote them in the
// signed-in person's zone, or the organisation's), and the note naming the zone follows.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  var note = document.getElementById("zone-note");
  if (!zone || !note || note.dataset.zone === zone || note.dataset.signedIn === "yes") { return; }
  var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    weekday: "long", day: "numeric", month: "long", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone
  });
  document.querySelectorAll("time[data-local-time]").forEach(function (el) {
    el.textContent = format.format(new Date(el.getAttribute("datetime")));
  });
  note.textContent = note.textContent.replace(note.dataset.zone, zone.replace(/_/g, " "));
})();
