/* The survey team's field page (issue 24 item 6; ADR "fieldsurvey-offline"): every self-check
 * survey is first put in a queue in this browser's IndexedDB with an id made here (client_id) and
 * the version of the sampled household downloaded with the page, then sent to the sync endpoint
 * when there is a connection; the server stores each client_id once, so a retry never saves
 * twice. Outcomes: stored/duplicate leave the queue; a conflict (entered on the web meanwhile,
 * or the survey closed) or a refusal stays, with the server's sentence, for the surveyor to
 * resolve ("仍然提交" with the current version where the server gives one, or "放弃").
 * Plain JavaScript, no framework; the same shape as visits.js. */
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) return;
  var data = JSON.parse(document.getElementById("survey-data").textContent);
  var msg = document.getElementById("survey-messages").dataset;
  var households = {};
  data.households.forEach(function (h) { households[h.id] = h; });
  var DB = "jz-surveys-" + data.user;
  var STORE = "queue";
  var FLAGS = ["food_clothing_secure", "education_secure", "medical_secure", "housing_secure", "water_secure"];
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var syncing = false;

  var queue = window.JzOfflineQueue(DB, STORE);
  var all = queue.all, put = queue.put, drop = queue.drop, uuid = queue.uuid;

  var error = document.getElementById("s-error");
  function fail(text) { error.textContent = text; error.hidden = false; }

  function render() {
    return all().then(function (items) {
      var panel = document.getElementById("survey-queue");
      var list = document.getElementById("queue-list");
      list.textContent = "";
      panel.hidden = items.length === 0;
      items.sort(function (a, b) { return a.queued_at - b.queued_at; });
      items.forEach(function (item) {
        var h = households[item.sampled_id] || { code: item.sampled_id, head: "" };
        var li = document.createElement("li");
        li.className = "queue-item queue-" + item.state;
        li.id = "queued-" + item.client_id;
        var text = h.code + " " + h.head + " · " + item.surveyed_on + " · ";
        text += item.state === "pending" ? msg.queued
          : (item.state === "conflict" ? msg.conflict : msg.refused) + item.message;
        li.appendChild(document.createTextNode(text));
        if (item.state === "conflict" && item.current_version !== undefined) {
          var keep = document.createElement("button");
          keep.type = "button"; keep.textContent = msg.keep; keep.className = "resolve-keep";
          keep.addEventListener("click", function () {
            item.version = item.current_version;
            item.state = "pending"; item.message = "";
            put(item).then(render).then(sync);
          });
          li.appendChild(keep);
        }
        if (item.state !== "pending") {
          var discard = document.createElement("button");
          discard.type = "button"; discard.textContent = msg.discard; discard.className = "resolve-discard";
          discard.addEventListener("click", function () { drop(item.client_id).then(render); });
          li.appendChild(discard);
        }
        list.appendChild(li);
      });
      return items;
    });
  }

  function sendBatch(batch) {
    var plain = batch.map(function (item) {
      return {
        client_id: item.client_id, sampled_id: item.sampled_id, version: item.version,
        surveyed_on: item.surveyed_on, team: item.team, answers: item.answers
      };
    });
    return fetch(form.dataset.sync, {
      method: "POST", body: JSON.stringify({ surveys: plain }), credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json", "Content-Type": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) throw new Error("not signed in");
      return response.json().then(function (answer) {
        if (!answer.outcomes) { fail(answer.error || ""); throw new Error("refused"); }
        var byId = {};
        batch.forEach(function (item) { byId[item.client_id] = item; });
        return Promise.all(answer.outcomes.map(function (o) {
          var item = byId[o.client_id];
          if (!item) return null;
          if (o.status === "stored" || o.status === "duplicate") return drop(item.client_id);
          item.state = o.status; item.message = o.message || "";
          if (o.status === "conflict" && o.version !== undefined) item.current_version = o.version;
          else delete item.current_version;
          return put(item);
        }));
      });
    });
  }

  function sync() {
    if (syncing || !navigator.onLine) return Promise.resolve();
    syncing = true;
    return all().then(function (items) {
      var pending = items.filter(function (i) { return i.state === "pending"; });
      var chain = Promise.resolve();
      for (var i = 0; i < pending.length; i += data.batch) {
        (function (batch) { chain = chain.then(function () { return sendBatch(batch); }); })(pending.slice(i, i + data.batch));
      }
      return chain;
    }).catch(function () { /* offline or signed out: the queue stays */ })
      .then(function () { syncing = false; return render(); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var household = households[form.sampled_id.value];
    if (!household) { fail(msg.pick); return; }
    if (!form.team.value.trim()) { fail(msg.team); return; }
    if (form.surveyed_on.value > form.surveyed_on.max) { fail(msg.future); return; }
    var answers = {
      income_per_capita_yuan: form.income_per_capita_yuan.value,
      wrongly_exited_persons: form.wrongly_exited_persons.value,
      missed_persons: form.missed_persons.value,
      approves: form.approves.value, complaint: form.complaint.value
    };
    FLAGS.forEach(function (key) { answers[key] = form[key].value; });
    var item = {
      client_id: uuid(), sampled_id: household.id, version: household.version,
      surveyed_on: form.surveyed_on.value, team: form.team.value.trim(), answers: answers,
      state: "pending", message: "", queued_at: Date.now()
    };
    put(item).then(function () {
      var keepDate = form.surveyed_on.value, keepTeam = form.team.value;
      form.reset();
      form.surveyed_on.value = keepDate;
      form.team.value = keepTeam;
      return render();
    }).then(sync);
  });

  var status = document.getElementById("net-status");
  function showStatus() { status.textContent = navigator.onLine ? status.dataset.online : status.dataset.offline; }
  window.addEventListener("online", function () { showStatus(); sync(); });
  window.addEventListener("offline", showStatus);
  document.getElementById("sync-now").addEventListener("click", sync);
  showStatus();

  // Logout clears what the phone keeps: warn when surveys are still queued.
  var logout = document.getElementById("logout-form");
  if (logout) {
    logout.addEventListener("submit", function (event) {
      if (logout.dataset.confirmed) return;
      event.preventDefault();
      all().then(function (items) {
        if (items.length && !window.confirm(msg.unsent)) return;
        if (navigator.serviceWorker && navigator.serviceWorker.controller) {
          navigator.serviceWorker.controller.postMessage({ type: "logout" });
        }
        logout.dataset.confirmed = "1";
        logout.submit();
      });
    });
  }

  if ("serviceWorker" in navigator && data.sw) {
    navigator.serviceWorker.register(data.sw, { scope: data.scope }).catch(function () {});
  }
  render().then(sync);
})();
