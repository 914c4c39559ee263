/* The browser's own time zone, offered next to a time-zone picker (select[data-zone-suggest])
   when the picker holds another: one click, nothing chosen for the person. Browsers report
   some zones under their old IANA names (Chromium says Asia/Katmandu), so those are mapped
   to the names the picker lists. */
(function () {
  "use strict";

  var RENAMED = {
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Rangoon": "Asia/Yangon",
    "Europe/Kiev": "Europe/Kyiv",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Pacific/Truk": "Pacific/Chuuk",
    "Pacific/Ponape": "Pacific/Pohnpei",
    "Etc/UTC": "UTC",
    "Etc/GMT": "UTC"
  };

  function browserZone() {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      return RENAMED[zone] || zone;
    } catch (e) {
      return "";
    }
  }

  function offer(select) {
    var zone = browserZone();
    if (!zone || select.value === zone) return;
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === zone; });
    if (!option) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary zone-suggest";
    button.textContent = "Use " + zone + " (this browser's zone)";
    button.addEventListener("click", function () {
      select.value = zone;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      button.remove();
      select.focus();
    });
    select.insertAdjacentElement("afterend", button);
  }

  function init() {
    document.querySelectorAll("select[data-zone-suggest]").forEach(offer);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
