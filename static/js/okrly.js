/* OKRly's own behaviour, loaded after htmx on every page. No inline handlers: the Content
   Security Policy allows scripts from this origin only. */
(function () {
  "use strict";

  /* --- Failed htmx requests -------------------------------------------------------------
     htmx swaps nothing for a 4xx/5xx answer, so without this a refused or failed action looks
     like a button that does nothing. Every failure is shown in one visible, announced region
     (role="alert"), with the server's own explanation where it sent one. */
  function announceFailure(text) {
    var region = document.getElementById("request-error");
    if (!region) return;
    region.textContent = "";
    var message = document.createElement("p");
    message.textContent = text;
    region.appendChild(message);
    region.hidden = false;
  }

  function failureText(xhr) {
    var status = xhr ? xhr.status : 0;
    var said = "";
    if (xhr && xhr.responseText) {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("application/json") === 0) {
        try {
          var body = JSON.parse(xhr.responseText);
          said = body.detail || body.message || "";
        } catch (e) { said = ""; }
      } else if (type.indexOf("text/plain") === 0) {
        said = xhr.responseText;
      } else {
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var explained = doc.querySelector("[data-error-message]") || doc.querySelector("main p");
        said = explained ? explained.textContent : "";
      }
    }
    said = (said || "").trim().slice(0, 300);
    if (status === 0) return "The server could not be reached. Nothing was changed; try again.";
    if (status === 403) return said || "You are not allowed to do that.";
    if (status === 404) return said || "That item no longer exists.";
    if (status === 429) return said || "Too many requests; wait a moment and try again.";
    if (status >= 500) return said || "Something went wrong on our side (" + status + "). Nothing was lost; try again.";
    return said || "The request was refused (" + status + ").";
  }

  document.addEventListener("htmx:responseError", function (event) {
    announceFailure(failureText(event.detail.xhr));
  });
  document.addEventListener("htmx:sendError", function () {
    announceFailure(failureText(null));
  });
  /* A write done through htmx may change the navigation's counts (Asked of me, the unanswered
     risks, unread): its refresher (okrly_tags.site_nav) fetches them again, out of band. */
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    if (event.detail.successful && config && config.verb && config.verb !== "get") {
      document.body.dispatchEvent(new CustomEvent("okrly-counts-stale"));
    }
  });
  /* A new request clears the last failure, so the message always belongs to the last action. */
  document.addEventListener("htmx:beforeRequest", function () {
    var region = document.getElementById("request-error");
    if (region && !region.hidden) { region.hidden = true; region.textContent = ""; }
  });
})();

/* --- Behaviour declared by data-attributes (instead of inline handlers) -------------------
   The Content-Security-Policy allows no inline script, so templates say what they need with
   an attribute and these listeners do it:
   - data-autosubmit on a <select>: choosing an option submits its form (the quarter and
     team pickers).
   - data-expand on a department's toggle: see below. */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });

  /* data-nav-toggle: the phone layout's "Menu" button shows and hides the navigation's
     links (the class "js" on <html> lets the CSS fold them only when this script runs). */
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var NAV_TOGGLE = "data-nav-toggle";
    var toggle = event.target instanceof Element ? event.target.closest("[" + NAV_TOGGLE + "]") : null;
    if (!toggle) return;
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    var links = document.getElementById(toggle.getAttribute("aria-controls"));
    if (links) links.classList.toggle("open", !open);
  });

  /* data-expand: a department's toggle. Its first press loads the teams (htmx, on the
     okrly-load event); later presses hide or show them. aria-expanded says which. */
  document.addEventListener("click", function (event) {
    var EXPAND = "data-expand";
    var button = event.target instanceof Element ? event.target.closest("[" + EXPAND + "]") : null;
    if (!button) return;
    var region = document.getElementById(button.getAttribute("aria-controls"));
    if (!region) return;
    var open = button.getAttribute("aria-expanded") === "true";
    var rows = region.querySelectorAll("tr.depth-1");
    button.setAttribute("aria-expanded", open ? "false" : "true");
    button.textContent = open ? "▸" : "▾";
    if (!rows.length && !open) {
      window.htmx.trigger(button, "okrly-load");
      return;
    }
    rows.forEach(function (row) { row.hidden = open; });
  });
})();

/* --- Focus and announcements after every htmx swap ----------------------------------------
   One mechanism for every partial: after a swap, focus moves into the updated region (its
   first invalid field, else an element marked data-focus, else its confirmation marked
   data-announce, else its first heading, else the region itself) and a short message is
   read out by the page's polite live region (#announcer). Without it focus fell back to
   <body> and a keyboard user had to Tab back from the top of the page. */
(function () {
  "use strict";

  var swappedIds = new WeakMap();

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region || !text) return;
    /* Emptied first, so the same message twice in a row is still read out. */
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function focusInside(region) {
    var target =
      region.querySelector("[aria-invalid='true']") ||
      region.querySelector("[data-focus]") ||
      region.querySelector("[data-announce]") ||
      region.querySelector("h1, h2, h3, h4") ||
      region;
    if (!target.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "nearest" });
    return target;
  }

  function messageFor(region, focused) {
    var invalid = region.querySelectorAll("[aria-invalid='true']");
    if (invalid.length) {
      var first = region.querySelector(".field-error, .form-errors, [role='alert']");
      var said = first ? first.textContent.trim() : "";
      return (invalid.length === 1 ? "1 problem to fix. " : invalid.length + " problems to fix. ") + said;
    }
    if (region.hasAttribute("data-announce")) return region.textContent.trim();
    var told = region.querySelector("[data-announce]");
    if (told) return told.textContent.trim();
    if (region.hasAttribute("data-announce-text")) return region.getAttribute("data-announce-text");
    return focused && focused !== region ? focused.textContent.trim() + " updated." : "Updated.";
  }

  /* The id each request's swap replaced, by its request: two requests can be under way at
     once (an action, and the navigation's counts it makes stale), and the second's swap must
     not make the first lose its region. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.xhr) swappedIds.set(event.detail.xhr, target && target.id ? target.id : null);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var xhr = event.detail.xhr;
    var swappedId = xhr ? swappedIds.get(xhr) : null;
    var region = (swappedId && document.getElementById(swappedId)) || event.detail.target;
    if (!(region instanceof HTMLElement) || !region.isConnected) return;
    /* A figure that refreshed itself (the Risk feed tab's count): nothing moves, and the
       message of the action that caused it stays the one read out. */
    if (region.hasAttribute("data-quiet")) return;
    if (region.hasAttribute("data-no-focus")) {
      /* The control that asked keeps focus (a toggle); what changed is still said. */
      announce(messageFor(region, null));
      return;
    }
    var focused = focusInside(region);
    announce(messageFor(region, focused));
  });
})();

/* --- The live forecast on a check-in card --------------------------------------------------
   As the value is typed (and the status chosen) the card says where this pace ends by the
   quarter's last week, with the same least-squares line as the server (checkins/forecast.py):
   the start value as week 0, the key result's other weeks, and the typed value for the form's
   week. "On track" with a projection short of the target shows the stated-vs-forecast
   warning before submitting. */
(function () {
  "use strict";

  function points(box) {
    var found = [[0, parseFloat(box.getAttribute("data-start"))]];
    var text = box.getAttribute("data-points") || "";
    text.split(",").forEach(function (pair) {
      if (!pair) return;
      var parts = pair.split(":");
      found.push([parseInt(parts[0], 10), parseFloat(parts[1])]);
    });
    return found;
  }

  function project(series, lastWeek) {
    var weeks = {};
    series.forEach(function (p) { weeks[p[0]] = true; });
    if (Object.keys(weeks).length < 2) return null;
    var n = series.length, mx = 0, my = 0;
    series.forEach(function (p) { mx += p[0]; my += p[1]; });
    mx /= n; my /= n;
    var sxx = 0, sxy = 0;
    series.forEach(function (p) { sxx += (p[0] - mx) * (p[0] - mx); sxy += (p[0] - mx) * (p[1] - my); });
    return Math.round((my + (sxy / sxx) * (lastWeek - mx)) * 100) / 100;
  }

  function plain(number) {
    return String(Number(number.toFixed(2)));
  }

  function update(box) {
    var form = box.closest("form");
    if (!form) return;
    var valueField = form.querySelector("input[name$='-value']");
    var line = box.querySelector(".forecast-line");
    var warning = box.querySelector(".forecast-warning");
    var typed = valueField ? valueField.value.trim() : "";
    var value = typed === "" ? NaN : Number(typed);
    var lastWeek = parseInt(box.getAttribute("data-weeks"), 10);
    var unit = box.getAttribute("data-unit") || "";
    line.textContent = "";
    if (!isFinite(value)) {
      line.textContent = "Type the current value to see where this pace ends.";
      warning.hidden = true;
      return;
    }
    var series = points(box);
    series.push([parseInt(box.getAttribute("data-week"), 10), value]);
    var projected = project(series, lastWeek);
    if (projected === null) {
      line.textContent = "No forecast yet: it needs a second week of values.";
      warning.hidden = true;
      return;
    }
    var strong = document.createElement("strong");
    strong.textContent = (plain(projected) + " " + unit).trim();
    line.appendChild(document.createTextNode("At this pace: "));
    line.appendChild(strong);
    line.appendChild(document.createTextNode(" by week " + lastWeek + "."));
    var start = parseFloat(box.getAttribute("data-start"));
    var target = parseFloat(box.getAttribute("data-target"));
    var margin = Math.abs(target - start) * parseFloat(box.getAttribute("data-margin"));
    var misses = box.getAttribute("data-direction") === "increase"
      ? projected < target - margin
      : projected > target + margin;
    var status = form.querySelector("input[name$='-status']:checked");
    warning.hidden = !(misses && status && status.value === "on_track");
  }

  function nearBox(event) {
    var form = event.target && event.target.form;
    return form ? form.querySelector("[data-forecast]") : null;
  }

  document.addEventListener("input", function (event) {
    var box = nearBox(event);
    if (box) update(box);
  });
  document.addEventListener("change", function (event) {
    var box = nearBox(event);
    if (box) update(box);
  });
})();
