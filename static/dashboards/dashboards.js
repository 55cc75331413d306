// Dashboards: draws each chart the server built (its figure in a json_script tag) with the vendored
// strict Plotly bundle, loaded once per page; again after htmx swaps the dashboard's body. The
// chart toolbar offers a PNG download. No inline scripts and no eval: the CSP allows 'self' only.
(function () {
  "use strict";

  function draw(root) {
    var holders = Array.prototype.slice.call(root.querySelectorAll("[data-dashboard-chart]:not([data-drawn])"));
    if (!holders.length) {
      return;
    }
    holders.forEach(function (holder) { holder.setAttribute("data-drawn", "pending"); });
    window.coePortal.loadPlotly(holders[0].getAttribute("data-plotly-src")).then(function (Plotly) {
      holders.forEach(function (holder) {
        var source = document.getElementById(holder.getAttribute("data-dashboard-chart"));
        if (!source || !holder.isConnected) {
          return;
        }
        var figure = JSON.parse(source.textContent);
        holder.textContent = "";
        Plotly.newPlot(holder, figure.data, figure.layout, {
          responsive: true,
          displaylogo: false,
          modeBarButtons: [["toImage"]],
          toImageButtonOptions: { format: "png", filename: holder.getAttribute("data-png-name") || "chart", scale: 2 },
        }).then(function () { holder.setAttribute("data-drawn", "yes"); });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.body.addEventListener("htmx:afterSettle", function (event) { draw(event.detail.elt || document); });
}());
