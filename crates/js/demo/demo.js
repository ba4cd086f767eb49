// The demo page: a guest chat with the emulator that serves this page, through the SDK's
// JavaScript package (its web build, served at /demo/pkg/). It uses the package's GuestChat
// session; a build without it (REST only) gets the same events from restSession() below,
// which does what a page using the official SDK must do itself: WebChatApi plus a WebSocket.
import init, * as pkg from '/demo/pkg/guest_chat_js.js';

const { ApiClient, WebChatApi } = pkg;

const $ = (id) => document.getElementById(id);
const ui = {
  state: $('state'), join: $('join'), name: $('name'), start: $('start'), messages: $('messages'),
  typing: $('typing'), compose: $('compose'), text: $('text'), send: $('send'), leave: $('leave'),
  members: $('members'), error: $('error'),
};

let chat;
const typingNow = new Map(); // member id -> label

function showState(state) {
  ui.state.dataset.state = state;
  ui.state.textContent = state;
  const live = state === 'connected' || state === 'waiting' || state === 'transferred';
  ui.text.disabled = ui.send.disabled = ui.leave.disabled = !live;
}

function showError(e) {
  ui.error.hidden = false;
  ui.error.textContent = e && e.message ? e.message : (e && e.body && e.body.message) || String(e);
}

function addMessage(kind, who, text) {
  const li = document.createElement('li');
  li.className = kind;
  if (who) {
    const w = document.createElement('span');
    w.className = 'who';
    w.textContent = who;
    li.append(w);
  }
  li.append(document.createTextNode(text));
  ui.messages.append(li);
  li.scrollIntoView({ block: 'nearest' });
}

function showMembers() {
  ui.members.replaceChildren(
    ...chat.members().map((m) => {
      const li = document.createElement('li');
      li.dataset.role = (m.role || '').toLowerCase();
      li.textContent = `${m.label} `;
      const st = document.createElement('span');
      st.className = 'st';
      st.textContent = (m.state || '').toLowerCase();
      li.append(st);
      return li;
    }),
  );
}

function showTyping() {
  const names = [...typingNow.values()];
  ui.typing.hidden = names.length === 0;
  ui.typing.textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
}

function onEvent(e) {
  switch (e.type) {
    case 'message': {
      const kind = e.message.bodyType === 'standard' ? (e.own ? 'customer' : 'agent') : 'notice';
      const text = e.message.bodyType === 'member-join' ? `${e.sender.label} joined`
        : e.message.bodyType === 'member-leave' ? `${e.sender.label} left` : e.message.body || '';
      addMessage(kind, kind === 'notice' ? '' : e.sender.label, text);
      typingNow.delete(e.sender.id);
      showTyping();
      break;
    }
    case 'typingStarted':
      typingNow.set(e.member.id, e.member.label);
      showTyping();
      break;
    case 'typingStopped':
      typingNow.delete(e.member.id);
      showTyping();
      break;
    case 'memberChanged':
    case 'memberUpdated':
      showMembers();
      break;
    case 'stateChanged':
      showState(e.state);
      showMembers();
      break;
    case 'reconnecting':
      addMessage('notice', '', `reconnecting (attempt ${e.attempt})…`);
      break;
    case 'resynced':
      if (e.missed) addMessage('notice', '', `${e.missed} message(s) recovered`);
      break;
    case 'ended':
      showState('ended');
      showMembers();
      addMessage('notice', '', 'the chat has ended');
      break;
    default:
      break;
  }
}

const label = (m) => m.displayName || (m.role ? m.role.toLowerCase() : m.id);

/** The GuestChat surface (start, onEvent, members, state, send, typing, leave) from REST and a WebSocket. */
async function restSession(client, body) {
  const api = new WebChatApi(client);
  const created = await api.postWebchatGuestConversations(body);
  client.setJwt(created.jwt);
  const cid = created.id;
  const me = created.member.id;
  const members = new Map();
  const listeners = [];
  const typingTimers = new Map();
  let state = 'waiting';
  const emit = (e) => listeners.forEach((f) => f(e));
  const member = async (id) => {
    if (!members.has(id)) {
      const m = await api.getWebchatGuestConversationMember(cid, id);
      members.set(id, { id, displayName: m.displayName, role: m.role, state: m.state, label: label(m) });
    }
    return members.get(id);
  };
  const setState = (s) => {
    if (s !== state) emit({ type: 'stateChanged', state: (state = s) });
  };
  let joined;
  const connected = new Promise((resolve, reject) => {
    joined = resolve;
    setTimeout(() => reject(new Error('the guest was not connected within 30 s')), 30000);
  });
  const handle = async (f) => {
    if (!f.metadata) return;
    const b = f.eventBody;
    if (f.metadata.type === 'message') {
      const sender = await member(b.sender.id);
      clearTimeout(typingTimers.get(sender.id));
      emit({ type: 'message', message: b, sender, own: sender.id === me });
    } else if (f.metadata.type === 'typing-indicator' && b.sender.id !== me) {
      const m = await member(b.sender.id);
      emit({ type: 'typingStarted', member: m });
      clearTimeout(typingTimers.get(m.id));
      typingTimers.set(m.id, setTimeout(() => emit({ type: 'typingStopped', member: m }), 4000));
    } else if (f.metadata.type === 'member-change') {
      const m = await member(b.member.id);
      m.state = b.member.state;
      emit({ type: 'memberChanged', member: m });
      if (m.id === me && m.state === 'CONNECTED') joined();
      if (m.role === 'AGENT' && m.state === 'CONNECTED') setState('connected');
      if (m.id === me && m.state === 'DISCONNECTED') {
        setState('ended');
        emit({ type: 'ended', reason: 'ChatEnded' });
        socket.close();
      }
    }
  };
  const socket = new WebSocket(created.eventStreamUri);
  let chain = Promise.resolve();
  socket.onmessage = (ev) => {
    chain = chain.then(() => handle(JSON.parse(ev.data))).catch(showError);
  };
  await connected;
  return {
    get state() {
      return state;
    },
    members: () => [...members.values()],
    onEvent: (f) => listeners.push(f),
    send: (text) => api.postWebchatGuestConversationMemberMessages(cid, me, { body: text, bodyType: 'standard' }),
    typing: () => api.postWebchatGuestConversationMemberTyping(cid, me),
    leave: () => api.deleteWebchatGuestConversationMember(cid, me),
  };
}

await init();
const start = pkg.GuestChat ? (c, body, options) => pkg.GuestChat.start(c, body, options) : restSession;
document.body.dataset.session = pkg.GuestChat ? 'GuestChat' : 'WebChatApi + WebSocket';
const client = new ApiClient();
client.setEnvironment(location.origin);

ui.join.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  ui.start.disabled = true;
  showState('starting');
  try {
    chat = await start(client, {
      organizationId: '0f3e5d6c-8c47-4bb1-9f7a-2d6b3c6c1a01',
      deploymentId: '5a1b8f2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
      routingTarget: { targetType: 'QUEUE', targetAddress: 'Chat Queue' },
      memberInfo: { displayName: ui.name.value || 'Web Guest' },
    }, { showOwnMessages: true });
    chat.onEvent(onEvent);
    ui.join.hidden = true;
    showState(chat.state);
    showMembers();
    ui.text.focus();
  } catch (e) {
    showState('idle');
    ui.start.disabled = false;
    showError(e);
  }
});

let lastTyping = 0;
ui.text.addEventListener('input', () => {
  const now = Date.now();
  if (chat && now - lastTyping > 2000) {
    lastTyping = now;
    chat.typing().catch(showError);
  }
});

ui.compose.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = ui.text.value.trim();
  if (!text) return;
  ui.text.value = '';
  try {
    await chat.send(text);
  } catch (e) {
    showError(e);
  }
});

ui.leave.addEventListener('click', async () => {
  ui.leave.disabled = true;
  try {
    await chat.leave();
  } catch (e) {
    showError(e);
  }
});

document.body.dataset.ready = 'true';
