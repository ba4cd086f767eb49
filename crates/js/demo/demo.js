// The demo page: a guest chat with the emulator that serves this page, through the SDK's
// JavaScript package (its web build, served at /demo/pkg/).
import init, { ApiClient, GuestChat } from '/demo/pkg/guest_chat_js.js';

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

await init();
const client = new ApiClient();
client.setEnvironment(location.origin);

ui.join.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  ui.start.disabled = true;
  showState('starting');
  try {
    chat = await GuestChat.start(client, {
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
