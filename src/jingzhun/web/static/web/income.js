// The income form (household_income.html): the net and per-capita net income as one types,
// computed as the server computes them (registry.models.IncomeRecord): wage + business +
// property + transfer - business costs, divided by the household size, rounded to the fen.
// Amounts are added as whole fen, so 0.1 + 0.2 is 0.30. A cell that is not an amount (text,
// a negative number, more than two decimals) shows "—" until it is corrected.
(function () {
  "use strict";
  var form = document.getElementById("income-form");
  if (!form) return;
  var persons = parseInt(form.getAttribute("data-persons"), 10) || 0;
  var net = document.getElementById("income-net");
  var perCapita = document.getElementById("income-per-capita");
  var inputs = form.querySelectorAll("input[data-sign]");

  function fen(text) {
    var t = text.replace(/[,\s，]/g, "");
    if (t === "") return 0;
    if (!/^\d+(\.\d{1,2})?$/.test(t)) return null;
    var parts = t.split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }

  function yuan(f) {
    var sign = f < 0 ? "-" : "";
    var a = Math.abs(f);
    var whole = String(Math.floor(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + whole + "." + String(a % 100).padStart(2, "0");
  }

  function update() {
    var total = 0;
    var bad = false;
    for (var i = 0; i < inputs.length; i++) {
      var f = fen(inputs[i].value);
      inputs[i].setAttribute("aria-invalid", f === null ? "true" : "false");
      if (f === null) { bad = true; continue; }
      total += inputs[i].getAttribute("data-sign") === "sub" ? -f : f;
    }
    net.textContent = bad ? "—" : yuan(total);
    perCapita.textContent = bad || !persons ? "—" : yuan(divide(total, persons));
  }

  // total / n in whole fen, a half rounded to even: Decimal.quantize's default rounding
  function divide(total, n) {
    var a = Math.abs(total);
    var q = Math.floor(a / n);
    var twice = 2 * (a - q * n);
    if (twice > n || (twice === n && q % 2 === 1)) q += 1;
    return total < 0 ? -q : q;
  }

  form.addEventListener("input", update);
  update();
})();
