/*
 * The calendar page: FullCalendar (static/vendor/fullcalendar) fed by tasks:calendar-events.
 * Month / week / day on wider screens, a list (agenda) on phones. Selecting a time range opens
 * the new-event form with it. Settings come from data-* attributes (no inline script: CSP).
 */
(function () {
  "use strict";

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // A local "YYYY-MM-DDTHH:MM" (what the form's datetime-local inputs take).
  function localStamp(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
      "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function init() {
    var el = document.getElementById("weft-calendar");
    if (!el || !window.FullCalendar) { return; }
    var data = el.dataset;
    var phone = window.matchMedia("(max-width: 767.98px)").matches;
    var extra = {};
    if (data.room) { extra.room = data.room; }
    if (data.everyone === "1") { extra.everyone = "1"; }

    var calendar = new window.FullCalendar.Calendar(el, {
      locale: data.locale || "en",
      firstDay: 1,
      initialView: phone ? "listWeek" : "timeGridWeek",
      headerToolbar: phone
        ? { left: "prev,next", center: "title", right: "today" }
        : { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek" },
      footerToolbar: phone ? { center: "listWeek,timeGridDay,dayGridMonth" } : false,
      height: "auto",
      nowIndicator: true,
      slotMinTime: "07:00:00",
      slotMaxTime: "22:00:00",
      scrollTime: "08:00:00",
      dayMaxEvents: true,
      navLinks: true,
      selectable: data.canAdd === "1",
      selectMirror: true,
      events: { url: data.eventsUrl, extraParams: extra },
      eventDidMount: function (info) {
        var p = info.event.extendedProps || {};
        var where = p.room || p.location;
        if (where) { info.el.setAttribute("title", info.event.title + " · " + where); }
      },
      eventSourceFailure: function () {
        var box = document.getElementById("weft-toasts");
        if (box && window.bootstrap) {
          var toast = document.createElement("div");
          toast.className = "toast text-bg-danger";
          toast.setAttribute("role", "alert");
          toast.innerHTML = '<div class="toast-body"></div>';
          toast.firstChild.textContent = data.errorText;
          box.appendChild(toast);
          new window.bootstrap.Toast(toast).show();
        }
      },
      select: function (info) {
        var url = data.newUrl + "?start=" + encodeURIComponent(localStamp(info.start)) +
          "&end=" + encodeURIComponent(localStamp(info.end));
        if (info.allDay) { url += "&all_day=1"; }
        if (data.room) { url += "&room=" + encodeURIComponent(data.room); }
        window.location.href = url;
      }
    });
    calendar.render();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
