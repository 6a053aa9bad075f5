// The web demo served at /demo: a device per tab (?device=name), its keys in
// IndexedDB, chat with anyone by handle, linking a second device by code.
// Everything goes through the SDK exactly as a web app would use it.
import {
  type DeviceIdentity,
  messageText,
  type ReceivedMessage,
  SupernodeClient,
  SupernodeError,
} from '@supernode/client';
import { createStore, get, set } from 'idb-keyval';

interface SavedDevice {
  identity: DeviceIdentity;
  handle: string;
  token?: string;
}

interface ChatLine {
  messageId: string;
  /** Who wrote it (a handle), or for one's own lines who it went to. */
  label: string;
  text: string;
  mine: boolean;
}

const HISTORY_KEPT = 200;
const server = location.origin;
const deviceName = new URLSearchParams(location.search).get('device') || 'default';
// One database per tab device, so that two tabs of one browser are two devices.
const store = createStore(`supernode-demo-${deviceName}`, 'device');

const element = <T extends HTMLElement>(selector: string): T => {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
};

let client: SupernodeClient;
let history: ChatLine[] = [];

function showError(error: unknown): void {
  element('#error').textContent =
    error instanceof SupernodeError
      ? `${error.code}: ${error.detail ?? error.message}`
      : String(error instanceof Error ? error.message : error);
}

function showStatus(text: string): void {
  element('#status').textContent = text;
}

function render(line: ChatLine): void {
  const item = document.createElement('li');
  item.className = line.mine ? 'mine' : '';
  item.dataset.messageId = line.messageId;
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = line.label;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = line.text;
  item.append(from, text);
  element('#messages').append(item);
}

async function addLine(line: ChatLine): Promise<void> {
  if (history.some((kept) => kept.messageId === line.messageId)) return;
  history = [...history, line].slice(-HISTORY_KEPT);
  render(line);
  await set('history', history, store);
}

async function save(handle: string): Promise<void> {
  await set('device', { identity: client.identity, handle, token: client.currentToken }, store);
}

async function onMessage(message: ReceivedMessage): Promise<void> {
  const mine = message.senderAccountId === client.accountId;
  await addLine({
    messageId: message.messageId,
    label: mine ? 'you, from another device' : await client.handleOf(message.senderAccountId),
    text: messageText(message.content),
    mine,
  });
}

async function enterChat(handle: string): Promise<void> {
  element('#whoami').textContent = `Signed in as ${handle}.`;
  element('#setup').hidden = true;
  element('#chat').hidden = false;
  history = (await get<ChatLine[]>('history', store)) ?? [];
  for (const line of history) render(line);
  await client.connect({
    onMessage,
    onConnect: () => {
      showStatus('connected');
      // The token of the latest login, so the next visit skips one.
      void save(handle);
    },
    onError: (error) => showStatus(error.message),
  });
}

/** A text field of a submitted form (forms here have no file inputs). */
const field = (fields: FormData, name: string): string => {
  const value = fields.get(name);
  return typeof value === 'string' ? value : '';
};

function onSubmit(selector: string, act: (fields: FormData) => Promise<void>): void {
  const form = element<HTMLFormElement>(selector);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    element('#error').textContent = '';
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    act(new FormData(form))
      .catch(showError)
      .finally(() => {
        if (button) button.disabled = false;
      });
  });
}

onSubmit('#create', async (fields) => {
  const handle = field(fields, 'handle');
  client = await SupernodeClient.createAccount(server, handle, { deviceName });
  await save(handle);
  await enterChat(handle);
});

onSubmit('#link', async (fields) => {
  client = await SupernodeClient.linkDevice(server, field(fields, 'code').trim(), {
    deviceName,
  });
  const handle = await client.handleOf(client.accountId);
  await save(handle);
  await enterChat(handle);
});

onSubmit('#send', async (fields) => {
  const to = field(fields, 'to').trim();
  const text = field(fields, 'text');
  const recipient = await client.lookupHandle(to);
  const accepted = await client.sendText({ accountId: recipient.accountId }, text);
  await addLine({ messageId: accepted.messageId, label: `to ${to}`, text, mine: true });
  element<HTMLInputElement>('#send input[name=text]').value = '';
});

element('#show-link-code').addEventListener('click', () => {
  client
    .createLinkCode()
    .then(({ code }) => (element('#link-code').textContent = code))
    .catch(showError);
});

async function start(): Promise<void> {
  element('#profile').textContent = deviceName;
  const saved = await get<SavedDevice>('device', store);
  if (!saved) {
    element('#setup').hidden = false;
    return;
  }
  client = await SupernodeClient.fromIdentity(server, saved.identity, { token: saved.token });
  await enterChat(saved.handle);
}

start().catch(showError);
