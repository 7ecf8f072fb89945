// Homeward sandbox: one page, no framework. State comes from /api/state, changes from
// Server-Sent Events (/api/events). Message HTML is rendered and escaped by the server.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { bot: null, people: [], chats: {}, active: null, unread: {}, log: [] };
const ROLE_LABEL = { family: "family", liaison: "liaison", admin: "admin" };
const LOG_KEEP = 300;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

async function api(path, body, isForm = false) {
  const options = { method: body === undefined ? "GET" : "POST" };
  if (body !== undefined) {
    if (isForm) options.body = body;
    else { options.body = JSON.stringify(body); options.headers = { "Content-Type": "application/json" }; }
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: text }; }
  if (!response.ok) throw new Error(data.error || text || response.statusText);
  return data;
}

// ---- people --------------------------------------------------------------------------------

function personById(id) { return state.people.find((p) => p.id === id); }

function renderPeople() {
  const list = $("people");
  list.replaceChildren(...state.people.map((p) => el("li",
    { class: p.id === state.active ? "active" : "", dataset: { person: p.id, role: p.role, locale: p.locale },
      onclick: () => openChat(p.id) },
    el("span", { class: "who" }, p.name),
    el("span", { class: "role " + p.role }, `${ROLE_LABEL[p.role]} · ${p.locale}`),
    el("span", { class: "unread" }, state.unread[p.id] ? String(state.unread[p.id]) : ""))));
}

function openChat(id) {
  state.active = id;
  state.unread[id] = 0;
  document.body.classList.remove("list-view", "no-chat");
  $("menu").hidden = true;
  $("toast").hidden = true;
  renderPeople();
  renderChat(true);
  $("text").focus();
}

// ---- messages ------------------------------------------------------------------------------

function time(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function messageNode(m) {
  const node = el("div", { class: "msg" + (m.from_bot ? " bot" : " me") + (m.deleted ? " deleted" : ""),
    dataset: { messageId: m.id, from: m.from_bot ? "bot" : "me" } });
  if (m.photo) node.append(el("img", { src: "/api/files/" + encodeURIComponent(m.photo), alt: "photo", loading: "lazy" }));
  if (m.document) {
    node.append(el("a", { class: "doc", href: "/api/files/" + encodeURIComponent(m.document.file_id), download: m.document.name },
      "📄 " + m.document.name));
  }
  if (m.note) node.append(el("div", { class: "note" }, m.note));
  if (m.html) {
    const text = el("div", { class: "text" });
    text.innerHTML = m.html; // rendered and escaped by the server (bot/sandbox/render.py)
    node.append(text);
  }
  if (m.buttons && !m.deleted) {
    const kb = el("div", { class: "kb" });
    for (const row of m.buttons) {
      kb.append(el("div", { class: "row" }, ...row.map((b) => b.url
        ? el("a", { href: b.url, target: "_blank", rel: "noopener noreferrer" }, b.text + " ↗")
        : el("button", { type: "button", dataset: { data: b.data || "" },
            onclick: () => press(m.id, b.data) }, b.text))));
    }
    node.append(kb);
  }
  node.append(el("div", { class: "meta" }, (m.deleted ? "deleted · " : "") + (m.edited ? "edited · " : "") + time(m.date)));
  return node;
}

function renderChat(scrollToEnd) {
  const person = personById(state.active);
  if (!person) { document.body.classList.add("no-chat"); return; }
  $("chat-title").textContent = person.name;
  $("chat-sub").textContent = `${person.role} · ${person.locale} · id ${person.id}`;
  const chat = state.chats[person.id] || { messages: [], keyboard: null, commands: [] };
  const box = $("messages");
  box.replaceChildren(...chat.messages.map(messageNode));
  renderKeyboard(chat.keyboard);
  if (scrollToEnd) box.scrollTop = box.scrollHeight;
}

function renderKeyboard(rows) {
  const box = $("reply-keyboard");
  box.replaceChildren(...(rows || []).map((row) => el("div", { class: "row" },
    ...row.map((text) => el("button", { type: "button", onclick: () => reply(text) }, text)))));
}

function upsertMessages(chatId, messages) {
  const chat = state.chats[chatId] || (state.chats[chatId] = { messages: [], keyboard: null, commands: [] });
  const active = chatId === state.active;
  const box = $("messages");
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  for (const m of messages) {
    const index = chat.messages.findIndex((x) => x.id === m.id);
    if (index >= 0) {
      chat.messages[index] = m;
      if (active) {
        const old = box.querySelector(`[data-message-id="${m.id}"]`);
        if (old) old.replaceWith(messageNode(m));
      }
    } else {
      chat.messages.push(m);
      if (active) box.append(messageNode(m));
      else if (m.from_bot) state.unread[chatId] = (state.unread[chatId] || 0) + 1;
    }
  }
  if (active && atEnd) box.scrollTop = box.scrollHeight;
}

// ---- acting ----------------------------------------------------------------------------------

function toast(text, alert = false) {
  const box = $("toast");
  box.textContent = text;
  box.className = alert ? "alert" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, alert ? 6000 : 2500);
}

async function act(path, body, isForm) {
  try { return await api(path, body, isForm); } catch (error) { toast(error.message, true); return null; }
}

function press(messageId, data) {
  if (state.active && data) act(`/api/chats/${state.active}/press`, { message_id: messageId, data });
}

function reply(text) {
  if (state.active) act(`/api/chats/${state.active}/reply`, { text });
}

async function sendText(text) {
  if (!state.active || !text.trim()) return;
  await act(`/api/chats/${state.active}/text`, { text });
}

function renderMenu() {
  const chat = state.chats[state.active];
  const commands = (chat && chat.commands) || [];
  const menu = $("menu");
  menu.replaceChildren(...(commands.length ? commands.map((c) => el("button", { type: "button", dataset: { command: c.command },
    onclick: () => { menu.hidden = true; sendText("/" + c.command); } }, el("b", {}, "/" + c.command), c.description))
    : [el("div", { class: "empty" }, "The bot set no command menu for this chat.")]));
}

// ---- the log ---------------------------------------------------------------------------------

function logNode(entry) {
  return el("li", { class: entry.error ? "error" : "" }, el("b", {}, entry.method), " ", entry.info || "");
}

function appendLog(entries) {
  state.log.push(...entries);
  const list = $("log");
  if (!$("log-panel").hidden) list.append(...entries.map(logNode));
  if (state.log.length > LOG_KEEP) {
    const drop = state.log.length - LOG_KEEP;
    state.log.splice(0, drop);
    while (list.children.length > LOG_KEEP) list.firstChild.remove();
  }
  if (!$("log-panel").hidden) list.scrollTop = list.scrollHeight;
}

function showLog(open) {
  $("log-panel").hidden = !open;
  if (open) {
    $("log").replaceChildren(...state.log.map(logNode));
    $("log").scrollTop = $("log").scrollHeight;
  }
}

// ---- live updates ----------------------------------------------------------------------------

async function loadState() {
  const data = await api("/api/state");
  state.bot = data.bot;
  state.people = data.people;
  state.chats = {};
  for (const [id, chat] of Object.entries(data.chats)) state.chats[Number(id)] = chat;
  state.log = data.log.slice(-LOG_KEEP);
  $("bot-name").textContent = "@" + data.bot.username;
  renderPeople();
  if (state.active && personById(state.active)) renderChat(true);
  else document.body.classList.add("no-chat");
  if (!$("log-panel").hidden) showLog(true);
}

function applyUpdate(update) {
  for (const [id, messages] of Object.entries(update.messages || {})) upsertMessages(Number(id), messages);
  for (const [id, keyboard] of Object.entries(update.keyboards || {})) {
    const chat = state.chats[Number(id)];
    if (chat) chat.keyboard = keyboard;
    if (Number(id) === state.active) renderKeyboard(keyboard);
  }
  for (const [id, commands] of Object.entries(update.commands || {})) {
    const chat = state.chats[Number(id)];
    if (chat) chat.commands = commands;
    if (Number(id) === state.active && !$("menu").hidden) renderMenu();
  }
  for (const answer of update.answers || []) if (answer.chat === state.active) toast(answer.text, answer.alert);
  if (update.log) appendLog(update.log);
  renderPeople();
}

function connect() {
  const events = new EventSource("/api/events");
  events.addEventListener("hello", () => loadState().catch((error) => toast(error.message, true)));
  events.addEventListener("update", (event) => applyUpdate(JSON.parse(event.data)));
  events.addEventListener("person", (event) => {
    const data = JSON.parse(event.data);
    if (!personById(data.person.id)) state.people.push(data.person);
    state.chats[data.person.id] = data.chat;
    renderPeople();
  });
}

// ---- wiring ----------------------------------------------------------------------------------

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = $("add-button");
  button.disabled = true;
  const created = await act("/api/people", { role: $("add-role").value, locale: $("add-locale").value, name: $("add-name").value || null });
  button.disabled = false;
  if (!created) return;
  $("add-name").value = "";
  if (!personById(created.person.id)) {
    state.people.push(created.person);
    state.chats[created.person.id] = state.chats[created.person.id] || { messages: [], keyboard: null, commands: [] };
  }
  openChat(created.person.id);
});

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = $("text");
  const text = box.value;
  box.value = "";
  box.style.height = "";
  await sendText(text);
});
$("text").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
$("text").addEventListener("input", (event) => {
  const box = event.target;
  box.style.height = "";
  box.style.height = Math.min(box.scrollHeight, 140) + "px";
});
$("menu-button").addEventListener("click", () => { renderMenu(); $("menu").hidden = !$("menu").hidden; });
$("attach").addEventListener("click", () => $("file-input").click());
$("file-input").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  event.target.value = "";
  if (!file || !state.active) return;
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("caption", $("text").value);
  form.append("as", file.type.startsWith("image/") ? "photo" : "document");
  $("text").value = "";
  await act(`/api/chats/${state.active}/file`, form, true);
});
$("back").addEventListener("click", () => { document.body.classList.add("list-view"); state.active = null; renderPeople(); });
$("log-toggle").addEventListener("click", () => showLog($("log-panel").hidden));
$("log-close").addEventListener("click", () => showLog(false));
document.body.classList.add("no-chat");
connect();
