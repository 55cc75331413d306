// Small behaviours for every page. No inline scripts anywhere: the CSP allows scripts from 'self' only.
(function () {
  "use strict";
  // Select a one-time secret (a new token) when it is focused, so it is easy to copy.
  document.addEventListener("focusin", function (event) {
    if (event.target.classList && event.target.classList.contains("secret__value")) {
      event.target.select();
    }
  });
  // htmx does not swap 4xx/5xx answers; tell the person something went wrong instead of nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 403 ? "You are not allowed to do that." : "Something went wrong (" + status + "). Please try again.";
    var box = document.getElementById("htmx-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "htmx-error";
      box.className = "message message--error toast";
      box.setAttribute("role", "alert");
      document.body.appendChild(box);
    }
    box.textContent = text;
    setTimeout(function () { box.remove(); }, 6000);
  });

  // The vendored Plotly bundle, loaded once per page by whichever page draws charts (the
  // Telemetry tab, the dashboards): a promise of window.Plotly.
  var plotly = null;
  function loadPlotly(src) {
    if (window.Plotly) {
      return Promise.resolve(window.Plotly);
    }
    if (!plotly) {
      plotly = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { resolve(window.Plotly); };
        script.onerror = function () { plotly = null; reject(new Error("Plotly did not load from " + src)); };
        document.head.appendChild(script);
      });
    }
    return plotly;
  }
  window.coePortal = { loadPlotly: loadPlotly };
})();
