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
   - data-remove-on-success: the element goes once its htmx request succeeded (the expand
     button of a department, whose teams are now shown below it).
   - data-reset-on-success: the form is emptied once its htmx request succeeded (an
     acknowledgement, now listed); after a failure what was typed stays. */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var element = event.detail.elt;
    if (!event.detail.successful || !(element instanceof HTMLElement)) return;
    if (element.hasAttribute("data-reset-on-success") && element instanceof HTMLFormElement) {
      element.reset();
    }
    if (element.hasAttribute("data-remove-on-success")) {
      element.remove();
    }
  });
})();
