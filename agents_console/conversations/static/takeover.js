// Live takeover: refresh the waiting list, and the open conversation's messages, every few
// seconds from the console's JSON endpoints. Loaded as a file (no inline script under the CSP).
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function every(seconds, fn) {
    var busy = false;
    setInterval(function () {
      if (busy) { return; }
      busy = true;
      fn().then(function () { busy = false; }, function () { busy = false; });
    }, seconds * 1000);
  }

  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); });
  }

  var list = document.getElementById("takeover");
  if (list) {
    var csrf = list.getAttribute("data-csrf");
    var render = function (target, items, canTake) {
      var ul = document.getElementById(target);
      ul.textContent = "";
      items.forEach(function (c) {
        var li = el("li");
        li.setAttribute("data-id", c.id);
        li.appendChild(el("span", "", "#" + c.id + " · " + c.channel + " · " + c.contact));
        li.appendChild(el("span", "muted", c.last_message_at));
        li.appendChild(el("span", "", c.last_message));
        if (canTake) {
          var form = el("form");
          form.method = "post";
          form.action = c.take_url;
          var token = el("input");
          token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
          var button = el("button", "button", list.getAttribute("data-take-label"));
          button.type = "submit";
          form.appendChild(token); form.appendChild(button);
          li.appendChild(form);
        } else {
          var a = el("a", "", list.getAttribute("data-open-label"));
          a.href = c.url;
          li.appendChild(a);
        }
        ul.appendChild(li);
      });
    };
    every(parseInt(list.getAttribute("data-poll-seconds"), 10) || 4, function () {
      return fetchJson(list.getAttribute("data-poll-url")).then(function (data) {
        render("waiting", data.waiting, true);
        render("mine", data.mine, false);
        document.getElementById("waiting-empty").hidden = data.waiting.length > 0;
      });
    });
  }

  var convo = document.getElementById("conversation");
  if (convo) {
    var box = document.getElementById("messages");
    var lastId = function () {
      var items = box.querySelectorAll("li[data-id]");
      return items.length ? items[items.length - 1].getAttribute("data-id") : "0";
    };
    box.scrollTop = box.scrollHeight;
    every(parseInt(convo.getAttribute("data-poll-seconds"), 10) || 4, function () {
      var url = convo.getAttribute("data-poll-url") + "?after=" + encodeURIComponent(lastId());
      return fetchJson(url).then(function (data) {
        document.getElementById("state").textContent = data.state;
        data.messages.forEach(function (m) {
          var li = el("li", "from-" + m.sender);
          li.setAttribute("data-id", m.id);
          li.appendChild(el("small", "", m.sender + " · " + m.at));
          li.appendChild(document.createTextNode(m.text));
          box.appendChild(li);
        });
        if (data.messages.length) { box.scrollTop = box.scrollHeight; }
      });
    });
  }
})();
