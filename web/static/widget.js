/* Forum reports assistant: an embeddable chat widget.
 *
 *   <script src="https://HOST/widget.js" defer></script>
 *
 * Optional attributes: data-lang (zh|es|en), data-position (bottom-right|bottom-left), data-title,
 * data-color (any CSS color), data-open (true), data-collection. Vanilla JS, no build step, no secret: it
 * talks to the /api/chat route of the server it was loaded from and renders everything as text (never as HTML).
 * Its language (data-lang, else the page's, else the browser's) goes out as Accept-Language: the server
 * answers a question whose own language is ambiguous (a name alone) in it.
 * The conversation lives in sessionStorage (this tab, this site), so it follows the visitor from page to page.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__forumQAWidgetLoaded) return;
  window.__forumQAWidgetLoaded = true;

  var API_BASE = new URL(".", script.src).href.replace(/\/$/, "");
  // The server's languages, words and limits, put here as it serves this file (web/widget.py).
  var CONFIG = /*SERVER_CONFIG*/null;
  var STRINGS = CONFIG.text;
  var MAX_QUESTION = CONFIG.maxQuestionChars;
  var MAX_HISTORY = CONFIG.maxHistory;

  function pickLanguage(value) {
    var primary = String(value || "").trim().toLowerCase().split(/[-_]/)[0];
    return STRINGS[primary] ? primary : null;
  }
  var lang = pickLanguage(script.getAttribute("data-lang")) ||
    pickLanguage(document.documentElement.getAttribute("lang")) ||
    pickLanguage(navigator.language) || CONFIG.defaultLanguage;
  var t = STRINGS[lang];

  var color = script.getAttribute("data-color") || "";
  if (!(window.CSS && CSS.supports && CSS.supports("color", color))) color = "#1f6feb";
  var left = script.getAttribute("data-position") === "bottom-left";
  var title = (script.getAttribute("data-title") || t.title).slice(0, 80);
  var startOpen = /^(|true|1|yes|open)$/i.test(script.getAttribute("data-open") || "no");
  // The collection (one forum's documents) it asks; none: the server's default one.
  var COLLECTION = script.getAttribute("data-collection") || "";
  var OWN_STARTERS = CONFIG.collectionStarters || {};
  var STARTERS = ((COLLECTION && OWN_STARTERS.hasOwnProperty(COLLECTION) ? OWN_STARTERS[COLLECTION] :
    CONFIG.starters) || {})[lang] || [];
  // One conversation per assistant server and collection, for this tab: sessionStorage is the host site's.
  var CHAT_KEY = "forumqa-widget-chat:" + API_BASE + "#" + COLLECTION;

  function sessionId() {
    var key = "forumqa-widget-session", id = null;
    try { id = sessionStorage.getItem(key); } catch (e) { /* storage may be blocked */ }
    if (!id || !/^[A-Za-z0-9_-]{8,128}$/.test(id)) {
      id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() :
        (Date.now().toString(36) + Math.random().toString(36).slice(2));
      try { sessionStorage.setItem(key, id); } catch (e) { /* fine: one id per page view */ }
    }
    return id;
  }
  var SESSION = sessionId();

  var CSS_TEXT = [
    ":host{all:initial;position:fixed;bottom:20px;" + (left ? "left" : "right") + ":20px;z-index:2147483000;",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI','Noto Sans','PingFang SC','Microsoft YaHei',sans-serif;color:#1d2430}",
    "*{box-sizing:border-box}",
    ".launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--fq-color);color:#fff;cursor:pointer;",
    "box-shadow:0 6px 20px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".launcher svg{width:28px;height:28px;fill:currentColor}",
    ".launcher:focus-visible,button:focus-visible,a:focus-visible,summary:focus-visible,.log:focus-visible{",
    "outline:3px solid #f4b400;outline-offset:2px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "textarea:focus{outline:none;border-color:var(--fq-color);box-shadow:0 0 0 2px rgba(0,0,0,.08)}",
    ".panel{position:absolute;bottom:70px;" + (left ? "left" : "right") + ":0;width:360px;max-width:calc(100vw - 40px);",
    "height:520px;max-height:calc(100vh - 110px);background:#fff;border-radius:14px;overflow:hidden;",
    "box-shadow:0 12px 40px rgba(0,0,0,.28);display:flex;flex-direction:column}",
    ".panel[hidden]{display:none}",
    "header{background:var(--fq-color);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}",
    "header h2{font-size:15px;margin:0;flex:1;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".close,.new{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;cursor:pointer;padding:2px 6px}",
    ".new{font-size:19px}.new:disabled{opacity:.5;cursor:default}",
    ".starters{display:flex;flex-direction:column;align-items:flex-start;gap:6px}",
    ".starter{border:1px solid var(--fq-color);background:#fff;color:#1d2430;border-radius:12px;padding:6px 10px;",
    "font:inherit;text-align:left;cursor:pointer}.starter:hover{background:#eef2f8}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f6f8fb}",
    ".msg{max-width:88%;padding:9px 12px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}",
    ".user{align-self:flex-end;background:var(--fq-color);color:#fff;border-bottom-right-radius:4px}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e1e6ee;border-bottom-left-radius:4px}",
    ".bot.pending .text{color:#6a7382;font-style:italic}",
    ".error{align-self:stretch;background:#fff4f4;border:1px solid #f1b7b7;color:#8a1f1f}",
    ".sources{margin-top:8px;padding-top:6px;border-top:1px solid #e8ecf2;white-space:normal;font-size:12.5px}",
    ".sources h3{font-size:12px;margin:0 0 4px;text-transform:uppercase;letter-spacing:.04em;color:#5a6472}",
    ".sources ol{margin:0;padding-left:18px}.sources li{margin:0 0 6px}",
    ".sources a{color:var(--fq-color);font-weight:600;text-decoration:none}.sources a:hover{text-decoration:underline}",
    ".sources .lang{color:#6a7382;margin-left:4px}",
    ".sources .snippet{color:#4a5361;margin-top:2px;display:-webkit-box;-webkit-line-clamp:3;",
    "-webkit-box-orient:vertical;overflow:hidden}",
    ".sources .also{margin-top:4px;font-size:11.5px;color:#6a7382}.sources .also summary{cursor:pointer}",
    ".sources .also ul{margin:4px 0 0;padding-left:18px}.sources .also a{font-weight:400}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e1e6ee;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #c9d1dc;border-radius:10px;padding:8px 10px;font:inherit;",
    "color:inherit;height:40px;max-height:120px}",
    ".send{border:0;border-radius:10px;background:var(--fq-color);color:#fff;padding:0 14px;font:inherit;",
    "font-weight:600;cursor:pointer}",
    ".send:disabled{opacity:.55;cursor:default}"
  ].join("");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) node.setAttribute(name, attrs[name]);
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el("div", { "data-forumqa-widget": "", lang: lang });
  host.style.setProperty("--fq-color", color);
  var root = host.attachShadow({ mode: "open" });
  var style = el("style", null, CSS_TEXT);
  var launcher = el("button", { class: "launcher", type: "button", "aria-label": t.open, title: t.open,
    "aria-expanded": "false" });
  var SVG = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(SVG, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  var iconPath = document.createElementNS(SVG, "path");
  iconPath.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
  icon.append(iconPath);
  launcher.append(icon);
  var panel = el("div", { class: "panel", role: "dialog", "aria-label": title, hidden: "" });
  var header = el("header");
  var closeButton = el("button", { class: "close", type: "button", "aria-label": t.close, title: t.close }, "×");
  var newButton = el("button", { class: "new", type: "button", "aria-label": t.newChat, title: t.newChat }, "↺");
  header.append(el("h2", null, title), newButton, closeButton);
  // Not live itself: streamed tokens would be read one by one. The status region below reads each whole answer.
  var log = el("div", { class: "log", role: "log", "aria-live": "off", "aria-label": title, tabindex: "0" });
  var announcer = el("div", { class: "sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  var form = el("form");
  var input = el("textarea", { rows: "1", maxlength: String(MAX_QUESTION), placeholder: t.placeholder,
    "aria-label": t.placeholder });
  var sendButton = el("button", { class: "send", type: "submit" }, t.send);
  form.append(input, sendButton);
  panel.append(header, log, form, announcer);
  root.append(style, panel, launcher);

  var history = [];  // what the server gets with the next question
  var messages = [];  // what the log shows: {kind: "user"|"bot", text, sources, also}
  var busy = false;
  var starters = null;

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addMessage(kind, text) {
    var box = el("div", { class: "msg " + kind });
    var body = el("div", { class: "text" }, text);
    box.append(body);
    log.append(box);
    scrollDown();
    return { box: box, body: body };
  }

  function sourceLabel(item, s) {
    var label = String(s.title || s.source || "").slice(0, 200);
    var url = String(s.url || "");
    if (url.charAt(0) === "/" && url.charAt(1) !== "/") {  // the file's path on this server, never another site
      var link = el("a", { target: "_blank", rel: "noopener noreferrer" }, label);
      link.href = API_BASE + url;
      item.append(link);
    } else {
      item.append(el("strong", null, label));
    }
    item.append(el("span", { class: "lang" }, "(" + String(s.language || "") + ")"));
  }

  // The sources the answer cites, numbered as cited ([n] in the text); the other documents retrieval found
  // come apart, collapsed and unnumbered, so they never read as citations.
  function showSources(box, sources, alsoRetrieved) {
    sources = sources || [];
    alsoRetrieved = alsoRetrieved || [];
    if (!sources.length && !alsoRetrieved.length) return;
    var wrap = el("div", { class: "sources" });
    if (sources.length) {
      var list = el("ol");
      sources.forEach(function (s) {
        var item = el("li", { value: String(parseInt(s.n, 10) || 1) });
        sourceLabel(item, s);
        var snippet = String(s.snippet || "").replace(/\s+/g, " ").trim();
        if (snippet.length > 180) snippet = snippet.slice(0, 180).replace(/\s+\S*$/, "") + "…";
        if (snippet) item.append(el("span", { class: "snippet" }, snippet));
        list.append(item);
      });
      wrap.append(el("h3", null, t.sources), list);
    }
    if (alsoRetrieved.length) {
      var more = el("details", { class: "also" });
      var others = el("ul");
      alsoRetrieved.forEach(function (s) {
        var item = el("li");
        sourceLabel(item, s);
        others.append(item);
      });
      more.append(el("summary", null, t.alsoRetrieved), others);
      wrap.append(more);
    }
    box.append(wrap);
  }

  function scrollToStartOf(box) {
    log.scrollTop += box.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
  }

  function fail(message, pending) {
    if (pending) pending.box.remove();
    announcer.textContent = "";
    addMessage("error", message).box.setAttribute("role", "alert");
  }

  async function errorMessage(response) {
    if (response.status === 429) return t.rate;
    if (response.status === 403) return t.forbidden;
    if ([400, 404, 413, 422].indexOf(response.status) >= 0) {  // 404: no such collection
      var detail = "";
      try { detail = String((await response.json()).detail || ""); } catch (e) { /* not JSON */ }
      return t.invalid + detail.slice(0, 300);
    }
    return t.server;
  }

  // Server-Sent Events over fetch: "event: NAME\ndata: JSON\n\n" blocks, possibly split across chunks.
  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
      var cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        var block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        var name = "message", data = [];
        block.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) name = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
        });
        if (data.length) onEvent(name, JSON.parse(data.join("\n")));
      }
    }
  }

  async function ask(question) {
    if (starters) { starters.remove(); starters = null; }
    addMessage("user", question);
    var pending = addMessage("bot pending", t.thinking);
    announcer.textContent = t.thinking;
    var response, request = { question: question, lang: "auto", history: recent(history) };
    if (COLLECTION) request.collection = COLLECTION;
    try {
      response = await fetch(API_BASE + "/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Session-Id": SESSION, "Accept-Language": lang },
        body: JSON.stringify(request)
      });
    } catch (e) {
      // A refused CORS preflight looks like a network error; a no-cors probe tells the two apart.
      var reachable = await fetch(API_BASE + "/healthz", { mode: "no-cors", cache: "no-store" })
        .then(function () { return true; }, function () { return false; });
      fail(reachable ? t.forbidden : t.network, pending);
      return;
    }
    if (!response.ok) {
      fail(await errorMessage(response), pending);
      return;
    }
    var text = "", final = null, failed = false;
    try {
      await readEvents(response, function (name, data) {
        if (name === "token") {
          if (!text) pending.box.classList.remove("pending");
          text += String(data.text || "");
          pending.body.textContent = text;
          scrollDown();
        } else if (name === "final") {
          final = data;
        } else if (name === "error") {
          failed = true;
        }
      });
    } catch (e) {
      failed = true;
    }
    if (!final || failed) {
      fail(t.server, text ? null : pending);
      return;
    }
    pending.box.classList.remove("pending");
    var answer = String(final.answer || text);
    pending.body.textContent = answer;
    showSources(pending.box, final.sources, final.also_retrieved);
    scrollToStartOf(pending.box);
    announcer.textContent = answer;
    history.push({ role: "user", content: question }, { role: "assistant", content: String(final.answer || "") });
    messages.push({ kind: "user", text: question },
      { kind: "bot", text: answer, sources: final.sources || [], also: final.also_retrieved || [] });
    save();
  }

  function recent(turns) { return MAX_HISTORY ? turns.slice(-MAX_HISTORY) : []; }

  function save() {
    var kept = messages.slice();
    for (;;) {
      try {
        sessionStorage.setItem(CHAT_KEY, JSON.stringify({ messages: kept, history: recent(history),
          open: !panel.hidden }));
        return;
      } catch (e) {  // storage full (drop the oldest exchange) or blocked (keep nothing)
        if (!kept.length || !(e && e.name === "QuotaExceededError")) return;
        kept = kept.slice(2);
      }
    }
  }

  function load() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(CHAT_KEY) || "null");
      if (saved && Array.isArray(saved.messages) && Array.isArray(saved.history)) return saved;
    } catch (e) { /* blocked or not ours: start afresh */ }
    return null;
  }

  // The log from `messages`; an empty conversation gets the welcome and the starter questions.
  function render() {
    log.textContent = "";
    starters = null;
    messages.forEach(function (m) {
      var shown = addMessage(m.kind === "user" ? "user" : "bot", String(m.text || ""));
      if (m.kind !== "user") showSources(shown.box, m.sources, m.also);
    });
    if (messages.length) return;
    addMessage("bot", t.welcome);
    if (!STARTERS.length) return;
    starters = el("div", { class: "starters", role: "group", "aria-label": t.starters });
    STARTERS.forEach(function (question) {
      var button = el("button", { class: "starter", type: "button" }, String(question));
      button.addEventListener("click", function () { send(String(question)); });
      starters.append(button);
    });
    log.append(starters);
  }

  function newConversation() {
    if (busy) return;
    messages = [];
    history = [];
    announcer.textContent = "";
    render();
    save();
    input.focus();
  }

  function setOpen(open, focus) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open && focus !== false) input.focus();
    save();
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeButton.addEventListener("click", function () { setOpen(false); launcher.focus(); });
  newButton.addEventListener("click", newConversation);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { setOpen(false); launcher.focus(); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  function send(question) {
    if (!question || busy) return;
    busy = sendButton.disabled = newButton.disabled = true;
    ask(question).finally(function () {
      busy = sendButton.disabled = newButton.disabled = false;
      input.focus();
    });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    send(question);
  });

  var saved = load();
  if (saved) {
    messages = saved.messages.filter(function (m) { return m && typeof m === "object"; });
    history = recent(saved.history);
  }
  render();

  function mount() {
    document.body.appendChild(host);
    if (startOpen) setOpen(true);
    else if (saved && saved.open) setOpen(true, false);  // open as the visitor left it on the last page
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
