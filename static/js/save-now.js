/* Save now: follow a pending STK push until M-Pesa answers (the copy button is app.js's [data-copy]). */
(function () {
  "use strict";
  var box = document.getElementById("payment-status");
  if (!box || box.dataset.status !== "pending") return;
  var tries = 0;
  var timer = setInterval(function () {
    if (++tries > 60) { clearInterval(timer); return; }
    fetch(box.dataset.statusUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (d) {
      var msg = document.getElementById("payment-message");
      msg.textContent = d.message; msg.className = "status status-" + d.status;
      if (d.status !== "pending") clearInterval(timer);
    }).catch(function () {});
  }, 2000);
})();
