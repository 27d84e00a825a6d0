/* The helper's field page (issue 21 items 4, 5; ADR "visits-offline"): every visit is first put
 * in a queue in this browser's IndexedDB with an id made here (client_id), then sent to the sync
 * endpoint when there is a connection; the server stores each client_id once, so a retry never
 * duplicates. Outcomes: stored/duplicate leave the queue; a conflict or a refusal stays, with
 * the server's sentence, for the helper to resolve ("仍然提交" with the current version, or
 * "放弃"). Plain JavaScript, no framework. */
(function () {
  "use strict";
  var form = document.getElementById("visit-form");
  if (!form) return;
  var data = JSON.parse(document.getElementById("visit-data").textContent);
  var msg = document.getElementById("visit-messages").dataset;
  var households = {};
  data.households.forEach(function (h) { households[h.id] = h; });
  var DB = "jz-visits-" + data.user;
  var STORE = "queue";
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var syncing = false;

  var queue = window.JzOfflineQueue(DB, STORE);
  var all = queue.all, put = queue.put, drop = queue.drop, uuid = queue.uuid;

  var error = document.getElementById("v-error");
  function fail(text) { error.textContent = text; error.hidden = false; }

  function isImage(file) {
    return file.slice(0, 8).arrayBuffer().then(function (buf) {
      var b = new Uint8Array(buf);
      var jpg = b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
      var png = b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
      return jpg || png;
    });
  }

  function render() {
    return all().then(function (items) {
      var panel = document.getElementById("visit-queue");
      var list = document.getElementById("queue-list");
      list.textContent = "";
      panel.hidden = items.length === 0;
      items.sort(function (a, b) { return a.queued_at - b.queued_at; });
      items.forEach(function (item) {
        var h = households[item.household_id] || { code: item.household_id, head: "" };
        var li = document.createElement("li");
        li.className = "queue-item queue-" + item.state;
        li.id = "queued-" + item.client_id;
        var text = h.code + " " + h.head + " · " + item.visited_on + " · ";
        text += item.state === "pending" ? msg.queued
          : (item.state === "conflict" ? msg.conflict : msg.refused) + item.message;
        li.appendChild(document.createTextNode(text));
        if (item.state === "conflict") {
          var keep = document.createElement("button");
          keep.type = "button"; keep.textContent = msg.keep; keep.className = "resolve-keep";
          keep.addEventListener("click", function () {
            item.household_version = item.current_version;
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
    var body = new FormData();
    var plain = batch.map(function (item) {
      (item.photos || []).forEach(function (file, n) {
        body.append("photo-" + item.client_id + "-" + n, file, file.name || "photo");
      });
      return {
        client_id: item.client_id, household_id: item.household_id, visited_on: item.visited_on,
        kind: item.kind, notes: item.notes, changes: item.changes, latitude: item.latitude,
        longitude: item.longitude, household_version: item.household_version
      };
    });
    body.append("visits", JSON.stringify(plain));
    return fetch(form.dataset.sync, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
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
          if (o.household_version !== undefined) item.current_version = o.household_version;
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
    var household = households[form.household_id.value];
    if (!household) { fail(msg.pick); return; }
    if (form.visited_on.value > form.visited_on.max) { fail(msg.future); return; }
    var files = Array.prototype.slice.call(form.photos.files || []);
    if (files.length > 5) { fail(msg.tooMany); return; }
    if (files.some(function (f) { return f.size > 5 * 1024 * 1024; })) { fail(msg.tooBig); return; }
    Promise.all(files.map(isImage)).then(function (ok) {
      if (ok.some(function (x) { return !x; })) { fail(msg.notImage); return null; }
      var changes = [];
      form.querySelectorAll("input[name=change]:checked").forEach(function (box) {
        changes.push({ kind: box.value, note: form["change-note-" + box.value].value });
      });
      var item = {
        client_id: uuid(), household_id: household.id, visited_on: form.visited_on.value,
        kind: form.kind.value, notes: form.notes.value, changes: changes,
        latitude: form.latitude.value || null, longitude: form.longitude.value || null,
        household_version: household.version, photos: files, state: "pending", message: "",
        queued_at: Date.now()
      };
      return put(item).then(function () {
        var keepDate = form.visited_on.value;
        form.reset();
        form.visited_on.value = keepDate;
        document.getElementById("v-location").textContent = "";
        return render();
      }).then(sync);
    });
  });

  document.getElementById("v-locate").addEventListener("click", function () {
    var out = document.getElementById("v-location");
    if (!navigator.geolocation) { out.textContent = msg.noGeo; return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.latitude.value = pos.coords.latitude.toFixed(6);
      form.longitude.value = pos.coords.longitude.toFixed(6);
      out.textContent = form.latitude.value + ", " + form.longitude.value;
    }, function () { out.textContent = msg.noGeo; }, { timeout: 10000 });
  });

  var status = document.getElementById("net-status");
  function showStatus() { status.textContent = navigator.onLine ? status.dataset.online : status.dataset.offline; }
  window.addEventListener("online", function () { showStatus(); sync(); });
  window.addEventListener("offline", showStatus);
  document.getElementById("sync-now").addEventListener("click", sync);
  showStatus();

  // Logout clears what the phone keeps: warn when visits are still queued.
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
