// The Telemetry tab: draws the charts the server built (JSON in a json_script tag) with the vendored
// strict Plotly bundle, loaded only when a page has charts, and makes "Copy" buttons work.
// No inline scripts and no eval anywhere: the CSP allows scripts from 'self' only.
(function () {
  "use strict";
  if (window.coeTelemetry) {  // htmx put this script in again with a new tab: draw what it brought
    window.coeTelemetry.init(document);
    return;
  }


  function drawCharts(root) {
    var holders = Array.prototype.slice.call(root.querySelectorAll("[data-chart]:not([data-drawn])"));
    if (!holders.length) {
      return;
    }
    holders.forEach(function (holder) { holder.setAttribute("data-drawn", "pending"); });
    window.coePortal.loadPlotly(holders[0].getAttribute("data-plotly-src")).then(function (Plotly) {
      holders.forEach(function (holder) {
        var source = document.getElementById(holder.getAttribute("data-figures"));
        if (!source || !holder.isConnected) {
          return;
        }
        var figure = JSON.parse(source.textContent)[holder.getAttribute("data-chart")];
        if (!figure) {
          return;
        }
        holder.textContent = "";
        Plotly.newPlot(holder, figure.data, figure.layout, {
          responsive: true, displaylogo: false, displayModeBar: false,
        }).then(function () { holder.setAttribute("data-drawn", "yes"); });
      });
    });
  }

  function showCopyButtons(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) { button.hidden = false; });
  }

  function init(root) {
    drawCharts(root);
    showCopyButtons(root);
  }

  // "Copy" puts the text of the element named by data-copy on the clipboard and says so.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) {
      return;
    }
    var text = "value" in source ? source.value : source.textContent;
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    navigator.clipboard.writeText(text.trim()).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
  window.coeTelemetry = { init: init };
  init(document);
})();
