/* Web chat of the Huế city hotline.
 *
 * The page posts each message once to /chat/api/messages with its own client id (a retry after
 * a network error or a 503 reuses the same id, so the server takes it only once) and renders the
 * whole conversation from polling GET /chat/api/messages: the resident's own messages come back
 * from the server too, so a reload shows everything again. Message text is only ever put into
 * the page as text nodes, never as HTML.
 */
(function () {
  "use strict";

  var MAX_TEXT = 4000;
  var SESSION_KEY = "hotline.chat.session";
  var OUTBOX_KEY = "hotline.chat.outbox";
  var SESSION_RE = /^[A-Za-z0-9_-]{16,64}$/;
  var ID_RE = /^[A-Za-z0-9_-]{1,60}$/;
  var POLL_MS = 1000;
  var POLL_FAST_MS = 300;
  var POLL_HIDDEN_MS = 5000;
  var POLL_MAX_MS = 15000;
  var FAST_WINDOW_MS = 8000;
  var RETRY_BASE_MS = 1000;
  var RETRY_MAX_MS = 30000;
  var REQUEST_TIMEOUT_MS = 30000;
  var PAGE_LIMIT = 100;

  var LABELS = {
    citizen: "Bạn",
    bot: "Tổng đài",
    agent: "Tổng đài viên",
    system: "Thông báo",
  };
  var TEXT = {
    sending: "đang gửi…",
    typing: "Tổng đài đang trả lời…",
    sent: "đã gửi",
    retrying: "Chưa gửi được tin nhắn, đang thử gửi lại…",
    offline: "Mất kết nối với tổng đài, đang thử kết nối lại…",
    empty: "Bạn chưa nhập nội dung tin nhắn.",
    tooLong: function (n) {
      return "Tin nhắn dài " + n + " ký tự, vượt quá giới hạn " + MAX_TEXT + " ký tự. " +
        "Bạn vui lòng rút gọn hoặc chia thành nhiều tin nhắn.";
    },
    rejectedLong: "Tin nhắn quá dài, tổng đài không nhận được (tối đa " + MAX_TEXT + " ký tự). " +
      "Bạn vui lòng rút gọn hoặc chia thành nhiều tin nhắn.",
    rejectedLarge: "Tin nhắn quá lớn, tổng đài không nhận được. Bạn vui lòng rút gọn nội dung.",
    rejected: "Tổng đài không nhận được tin nhắn này. Bạn vui lòng kiểm tra nội dung và gửi lại.",
    failed: function (status) {
      return "Không gửi được tin nhắn (lỗi " + status + "). Bạn vui lòng thử lại sau ít phút.";
    },
    limitLeft: function (n) { return "Còn " + n + " ký tự."; },
    limitOver: function (n) { return "Vượt quá " + n + " ký tự (tối đa " + MAX_TEXT + ")."; },
    limit: "Tối đa " + MAX_TEXT + " ký tự.",
  };

  var app = document.getElementById("chat-app");
  if (!app) {
    return;
  }
  var api = app.getAttribute("data-api") || "/chat/api/messages";
  var scroller = document.getElementById("chat-scroller");
  var log = document.getElementById("chat-log");
  var typingNode = document.getElementById("chat-typing");
  var typingStatus = document.getElementById("chat-typing-status");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-text");
  var errorNode = document.getElementById("chat-error");
  var statusNode = document.getElementById("chat-status");
  var limitNode = document.getElementById("chat-limit");

  // -- storage and ids --------------------------------------------------------------------------
  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, value);
      return true;
    } catch (e) {
      return false;
    }
  }

  function randomBytes(n) {
    var cryptoObj = window.crypto || window.msCrypto;
    if (!cryptoObj || !cryptoObj.getRandomValues) {
      return null;
    }
    var bytes = new Uint8Array(n);
    cryptoObj.getRandomValues(bytes);
    return bytes;
  }

  function base64url(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return window.btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function loadSession() {
    var stored = storageGet(SESSION_KEY);
    if (stored && SESSION_RE.test(stored)) {
      return stored;
    }
    var bytes = randomBytes(24);
    var token = bytes ? base64url(bytes) : app.getAttribute("data-session-hint");
    if (!token || !SESSION_RE.test(token)) {
      token = app.getAttribute("data-session-hint");
    }
    storageSet(SESSION_KEY, token);
    return token;
  }

  var idCounter = 0;
  function clientId() {
    var bytes = randomBytes(8);
    var rand = "";
    if (bytes) {
      for (var i = 0; i < bytes.length; i++) {
        rand += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
      }
    } else {
      rand = Math.random().toString(36).slice(2, 12) + (++idCounter).toString(36);
    }
    return "w" + Date.now().toString(36) + "-" + rand;
  }

  function codePoints(text) {
    return Array.from(text).length;
  }

  var session = loadSession();

  // -- state ------------------------------------------------------------------------------------
  var seen = Object.create(null); // server message ids already shown
  var lastId = 0;
  var outbox = []; // messages not yet acknowledged by the server, in order
  var awaiting = []; // acknowledged, not yet seen in the conversation
  var sending = false;
  var wakeSender = null;
  var polling = false;
  var pollTimer = null;
  var pollFailures = 0;
  var fastUntil = 0;
  var serverTyping = false;
  var firstPoll = true;

  function saveOutbox() {
    var items = outbox.map(function (item) {
      return { id: item.id, text: item.text };
    });
    storageSet(OUTBOX_KEY, JSON.stringify({ session: session, items: items }));
  }

  function restoreOutbox() {
    var raw = storageGet(OUTBOX_KEY);
    if (!raw) {
      return [];
    }
    try {
      var data = JSON.parse(raw);
      if (!data || data.session !== session || !Array.isArray(data.items)) {
        return [];
      }
      return data.items.filter(function (item) {
        return item && typeof item.text === "string" && typeof item.id === "string" &&
          ID_RE.test(item.id) && item.text.length > 0;
      });
    } catch (e) {
      return [];
    }
  }

  // -- rendering --------------------------------------------------------------------------------
  var URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'“”‘’]+/gi;
  var TRAILING = ".,;:!?…»”’\"'";

  function trimUrl(candidate) {
    var url = candidate;
    for (;;) {
      var last = url.charAt(url.length - 1);
      if (TRAILING.indexOf(last) >= 0) {
        url = url.slice(0, -1);
      } else if (last === ")" && url.split("(").length < url.split(")").length) {
        url = url.slice(0, -1);
      } else {
        return url;
      }
    }
  }

  function safeHref(display) {
    var href = /^www\./i.test(display) ? "https://" + display : display;
    try {
      var parsed = new URL(href);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") {
        return parsed.href;
      }
    } catch (e) {
      return null;
    }
    return null;
  }

  /* The text as nodes: plain text, and links for the web addresses in it. */
  function linkified(text) {
    var fragment = document.createDocumentFragment();
    var index = 0;
    var match;
    URL_RE.lastIndex = 0;
    while ((match = URL_RE.exec(text)) !== null) {
      var display = trimUrl(match[0]);
      var href = display ? safeHref(display) : null;
      if (!href) {
        continue;
      }
      if (match.index > index) {
        fragment.appendChild(document.createTextNode(text.slice(index, match.index)));
      }
      var link = document.createElement("a");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = display;
      fragment.appendChild(link);
      index = match.index + display.length;
      URL_RE.lastIndex = index;
    }
    if (index < text.length) {
      fragment.appendChild(document.createTextNode(text.slice(index)));
    }
    return fragment;
  }

  function formatTime(at) {
    if (typeof at !== "string" || !at) {
      return "";
    }
    var iso = at.replace(/(\.\d{3})\d+/, "$1");
    if (!/(Z|[+-]\d\d:?\d\d)$/i.test(iso)) {
      iso += "Z"; // the server keeps UTC
    }
    var date = new Date(iso);
    if (isNaN(date.getTime())) {
      return "";
    }
    var options = { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" };
    try {
      return date.toLocaleTimeString("vi-VN", options);
    } catch (e) {
      return date.toLocaleTimeString();
    }
  }

  function kindOf(message) {
    if (LABELS[message.sender]) {
      return message.sender;
    }
    return message.direction === "inbound" ? "citizen" : "bot";
  }

  function bubble(kind, text, metaText) {
    var node = document.createElement("div");
    node.className = "msg msg--" + kind;
    var meta = document.createElement("span");
    meta.className = "msg-meta";
    meta.textContent = metaText;
    var body = document.createElement("p");
    body.className = "msg-text";
    body.appendChild(kind === "citizen" ? document.createTextNode(text) : linkified(text));
    node.appendChild(meta); // read first by screen readers, shown below the text (CSS order)
    node.appendChild(body);
    return node;
  }

  function metaLine(kind, extra) {
    return extra ? LABELS[kind] + " · " + extra : LABELS[kind];
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  /* Server messages go above the resident's messages still on their way. */
  function insertServerNode(node) {
    var firstLocal = log.querySelector(".msg--local");
    log.insertBefore(node, firstLocal);
  }

  function localBubble(item) {
    var node = bubble("citizen", item.text, metaLine("citizen", TEXT.sending));
    node.classList.add("msg--local", "msg--pending");
    node.setAttribute("data-client-id", item.id);
    return node;
  }

  function setLocalState(item, state) {
    if (!item.node || item.bound) {
      return;
    }
    var meta = item.node.querySelector(".msg-meta");
    meta.textContent = metaLine("citizen", state === "sent" ? TEXT.sent : TEXT.sending);
    item.node.classList.toggle("msg--pending", state !== "sent");
  }

  /* A message of the resident that came back from the server is shown in place of its local
   * bubble (the first one waiting with the same text, else the oldest acknowledged one): the
   * bubble is updated, not replaced, so screen readers do not announce it twice. */
  function bindLocal(message, kind) {
    var pools = [awaiting, outbox];
    for (var p = 0; p < pools.length; p++) {
      for (var i = 0; i < pools[p].length; i++) {
        var item = pools[p][i];
        if (!item.bound && item.text === message.text) {
          return confirmLocal(pools[p], i, item, message, kind);
        }
      }
    }
    for (var j = 0; j < awaiting.length; j++) {
      if (!awaiting[j].bound) {
        return confirmLocal(awaiting, j, awaiting[j], message, kind);
      }
    }
    return false;
  }

  function confirmLocal(pool, index, item, message, kind) {
    if (!item.node || !item.node.parentNode) {
      return false;
    }
    item.bound = true;
    var node = item.node;
    node.classList.remove("msg--local", "msg--pending");
    node.removeAttribute("data-client-id");
    node.setAttribute("data-id", String(message.id));
    node.querySelector(".msg-meta").textContent = metaLine(kind, formatTime(message.at));
    var body = node.querySelector(".msg-text");
    if (body.textContent !== message.text) {
      body.textContent = message.text;
    }
    if (pool === awaiting) {
      pool.splice(index, 1);
    }
    return true;
  }

  function renderMessages(messages) {
    if (!messages.length) {
      return;
    }
    var stick = firstPoll || nearBottom();
    messages.forEach(function (message) {
      if (typeof message.id !== "number" || seen[message.id]) {
        return;
      }
      seen[message.id] = true;
      lastId = Math.max(lastId, message.id);
      var kind = kindOf(message);
      if (kind === "citizen" && bindLocal(message, kind)) {
        return;
      }
      var text = typeof message.text === "string" ? message.text : "";
      var node = bubble(kind, text, metaLine(kind, formatTime(message.at)));
      node.setAttribute("data-id", String(message.id));
      insertServerNode(node);
    });
    if (stick) {
      scrollToBottom();
    }
  }

  function updateTyping() {
    var show = serverTyping || awaiting.length > 0;
    if (typingNode.hidden === !show) {
      return;
    }
    var stick = nearBottom();
    typingNode.hidden = !show;
    typingStatus.textContent = show ? TEXT.typing : "";
    if (stick) {
      scrollToBottom();
    }
  }

  function showError(message) {
    errorNode.textContent = message;
    errorNode.hidden = false;
  }

  function clearError() {
    errorNode.textContent = "";
    errorNode.hidden = true;
    input.removeAttribute("aria-invalid");
  }

  var statusReasons = { retrying: false, offline: false };
  function setStatus(reason, on) {
    statusReasons[reason] = on;
    var message = statusReasons.offline ? TEXT.offline : statusReasons.retrying ? TEXT.retrying : "";
    if (statusNode.textContent !== message) {
      statusNode.textContent = message;
    }
  }

  // -- sending ----------------------------------------------------------------------------------
  function sleep(ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        if (wakeSender === done) {
          wakeSender = null;
        }
        resolve();
      }
      wakeSender = done;
    });
  }

  function fetchWithTimeout(url, options) {
    if (!window.AbortController) {
      return fetch(url, options);
    }
    var controller = new AbortController();
    var timer = setTimeout(function () {
      controller.abort();
    }, REQUEST_TIMEOUT_MS);
    options.signal = controller.signal;
    return fetch(url, options).then(
      function (response) {
        clearTimeout(timer);
        return response;
      },
      function (error) {
        clearTimeout(timer);
        throw error;
      }
    );
  }

  function retryAfterMs(response) {
    var value = response.headers.get("Retry-After");
    var seconds = value ? parseInt(value, 10) : NaN;
    return isNaN(seconds) ? 0 : seconds * 1000;
  }

  /* One attempt: "ok", "rejected" (the server refused this message for good) or a delay. */
  function postOnce(item) {
    var body = JSON.stringify({ session: session, id: item.id, text: item.text });
    return fetchWithTimeout(api, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: body,
      cache: "no-store",
      credentials: "same-origin",
    }).then(
      function (response) {
        if (response.status === 202 || response.ok) {
          return response.json().then(
            function (data) {
              item.duplicate = Boolean(data && data.duplicate);
              return "ok";
            },
            function () {
              return "ok";
            }
          );
        }
        if (response.status === 503 || response.status === 429 || response.status === 408 ||
            response.status >= 500) {
          return { retryAfter: retryAfterMs(response) };
        }
        return response.json().then(
          function (data) {
            return { rejected: response.status, detail: data && data.error };
          },
          function () {
            return { rejected: response.status, detail: "" };
          }
        );
      },
      function () {
        return { retryAfter: 0 }; // the network: try again with the same id
      }
    );
  }

  function rejectionText(status, detail) {
    if (status === 413) {
      return TEXT.rejectedLarge;
    }
    if (status === 400 && /longer than|too long/i.test(detail || "")) {
      return TEXT.rejectedLong;
    }
    if (status === 400) {
      return TEXT.rejected;
    }
    return TEXT.failed(status);
  }

  function rejected(item, status, detail) {
    if (item.node && !item.bound && item.node.parentNode) {
      item.node.parentNode.removeChild(item.node);
    }
    // Keep what the resident wrote: back into the box, before anything typed since.
    var current = input.value;
    input.value = current ? item.text + "\n" + current : item.text;
    autosize();
    updateLimit();
    input.setAttribute("aria-invalid", "true");
    showError(rejectionText(status, detail));
    input.focus();
  }

  function pump() {
    if (sending) {
      if (wakeSender) {
        wakeSender();
      }
      return;
    }
    sending = true;
    var step = function () {
      if (!outbox.length) {
        sending = false;
        setStatus("retrying", false);
        return;
      }
      var item = outbox[0];
      postOnce(item).then(function (result) {
        if (result === "ok") {
          outbox.shift();
          saveOutbox();
          item.attempt = 0;
          if (item.duplicate && !item.bound && item.node && item.node.parentNode) {
            // Taken by an earlier attempt: the conversation from the server shows it.
            item.node.parentNode.removeChild(item.node);
          } else if (!item.bound) {
            setLocalState(item, "sent");
            awaiting.push(item);
          }
          setStatus("retrying", false);
          fastUntil = Date.now() + FAST_WINDOW_MS;
          updateTyping();
          schedulePoll(POLL_FAST_MS);
          step();
          return;
        }
        if (result.rejected) {
          outbox.shift();
          saveOutbox();
          rejected(item, result.rejected, result.detail);
          step();
          return;
        }
        item.attempt = (item.attempt || 0) + 1;
        setLocalState(item, "sending");
        setStatus("retrying", true);
        var backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * Math.pow(2, item.attempt - 1));
        var delay = Math.min(RETRY_MAX_MS, Math.max(backoff, result.retryAfter || 0));
        delay = Math.round(delay * (0.8 + Math.random() * 0.4));
        sleep(delay).then(step);
      });
    };
    step();
  }

  function queue(text, id) {
    var item = { id: id || clientId(), text: text, attempt: 0, bound: false };
    item.node = localBubble(item);
    log.appendChild(item.node);
    outbox.push(item);
    saveOutbox();
    return item;
  }

  function submit(event) {
    if (event) {
      event.preventDefault();
    }
    var text = input.value.replace(/^\s+|\s+$/g, "");
    if (!text) {
      showError(TEXT.empty);
      input.focus();
      return;
    }
    var length = codePoints(text);
    if (length > MAX_TEXT) {
      input.setAttribute("aria-invalid", "true");
      showError(TEXT.tooLong(length));
      input.focus();
      return;
    }
    clearError();
    queue(text);
    input.value = "";
    autosize();
    updateLimit();
    scrollToBottom();
    input.focus();
    fastUntil = Date.now() + FAST_WINDOW_MS;
    pump();
  }

  // -- polling ----------------------------------------------------------------------------------
  function nextPollDelay(more) {
    if (more) {
      return 0;
    }
    if (pollFailures) {
      return Math.min(POLL_MAX_MS, POLL_MS * Math.pow(2, pollFailures));
    }
    if (serverTyping || awaiting.length || Date.now() < fastUntil) {
      return POLL_FAST_MS;
    }
    return document.hidden ? POLL_HIDDEN_MS : POLL_MS;
  }

  function schedulePoll(ms) {
    if (polling) {
      return; // the poll in flight schedules the next one when it ends
    }
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, ms);
  }

  function poll() {
    clearTimeout(pollTimer);
    if (polling) {
      return;
    }
    polling = true;
    var url = api + "?session=" + encodeURIComponent(session) + "&after=" + lastId;
    var more = false;
    fetchWithTimeout(url, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        var messages = data && Array.isArray(data.messages) ? data.messages : [];
        pollFailures = 0;
        setStatus("offline", false);
        renderMessages(messages);
        firstPoll = false;
        serverTyping = Boolean(data && data.typing);
        updateTyping();
        more = messages.length >= PAGE_LIMIT;
      })
      .catch(function () {
        pollFailures += 1;
        if (pollFailures >= 3) {
          setStatus("offline", true);
        }
      })
      .then(function () {
        polling = false;
        pollTimer = setTimeout(poll, nextPollDelay(more));
      });
  }

  // -- the input box ----------------------------------------------------------------------------
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, Math.round(window.innerHeight * 0.3)) + "px";
  }

  function updateLimit() {
    var length = codePoints(input.value.replace(/^\s+|\s+$/g, ""));
    var text = TEXT.limit;
    if (length > MAX_TEXT) {
      text = TEXT.limitOver(length - MAX_TEXT);
    } else if (length > MAX_TEXT - 500) {
      text = TEXT.limitLeft(MAX_TEXT - length);
    }
    if (limitNode.textContent !== text) {
      limitNode.textContent = text;
    }
    return length;
  }

  input.addEventListener("input", function () {
    autosize();
    var length = updateLimit();
    if (input.getAttribute("aria-invalid") === "true" && length <= MAX_TEXT) {
      clearError();
    }
  });

  input.addEventListener("keydown", function (event) {
    var composing = event.isComposing || event.keyCode === 229; // Vietnamese input methods
    if (event.key === "Enter" && !event.shiftKey && !composing) {
      event.preventDefault();
      submit(null);
    }
  });

  form.addEventListener("submit", submit);

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      poll();
    }
  });

  window.addEventListener("online", function () {
    pump();
    poll();
  });

  // -- start ------------------------------------------------------------------------------------
  app.setAttribute("data-session", session);
  restoreOutbox().forEach(function (saved) {
    queue(saved.text, saved.id);
  });
  if (outbox.length) {
    pump();
  }
  updateLimit();
  poll();
  app.setAttribute("data-ready", "true");
})();
