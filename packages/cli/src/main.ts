import { Command } from 'commander';
import readline from 'node:readline';
import {
  messageText,
  type ReceivedMessage,
  SupernodeClient,
  SupernodeError,
} from '@supernode/client';
import {
  defaultDeviceFile,
  DeviceFileError,
  ensureNoDeviceFile,
  readDeviceFile,
  type SavedDevice,
  writeDeviceFile,
} from './device-file.js';

const DEFAULT_SERVER = process.env.SUPERNODE_SERVER ?? 'http://127.0.0.1:3000';

const program = new Command('supernode')
  .description('End-to-end encrypted messaging through a Supernode server, from a terminal.')
  .option('-f, --device-file <path>', 'where this device keeps its keys', defaultDeviceFile())
  .showHelpAfterError();

const deviceFile = (): string => program.opts<{ deviceFile: string }>().deviceFile;

/** The saved device, signed in, and a way to save its latest token when done. */
async function signedIn(): Promise<{
  client: SupernodeClient;
  saved: SavedDevice;
  done: () => Promise<void>;
}> {
  const saved = await readDeviceFile(deviceFile());
  const client = await SupernodeClient.fromIdentity(saved.server, saved.identity, {
    token: saved.token,
  });
  return {
    client,
    saved,
    // The token of the latest login, so that the next command skips one.
    done: async () => {
      if (client.currentToken !== saved.token)
        await writeDeviceFile(deviceFile(), { ...saved, token: client.currentToken });
    },
  };
}

/** A message as a line: who wrote it, and its text. */
async function describe(message: ReceivedMessage, client: SupernodeClient): Promise<string> {
  const from =
    message.senderAccountId === client.accountId
      ? 'you (another device)'
      : await client.handleOf(message.senderAccountId);
  return `${from}: ${messageText(message.content)}`;
}

/** Keeps a device just registered or linked in the device file. */
async function saveNewDevice(client: SupernodeClient, server: string, handle: string) {
  await writeDeviceFile(deviceFile(), {
    server,
    handle,
    identity: client.identity,
    token: client.currentToken,
  });
}

program
  .command('register')
  .description('create an account with this machine as its first device')
  .argument('<handle>', '3–32 characters of a-z, 0-9, _ . -')
  .option('-s, --server <url>', 'the Supernode server', DEFAULT_SERVER)
  .option('-n, --device-name <name>', 'how this device shows in the device list', 'cli')
  .action(async (handle: string, options: { server: string; deviceName: string }) => {
    await ensureNoDeviceFile(deviceFile());
    const client = await SupernodeClient.createAccount(options.server, handle, {
      deviceName: options.deviceName,
    });
    await saveNewDevice(client, options.server, handle);
    console.log(`registered ${handle} (account ${client.accountId}, device ${client.deviceId})`);
    console.log(`keys saved in ${deviceFile()}`);
  });

program
  .command('login')
  .description('sign in again with this device’s keys (a fresh token)')
  .action(async () => {
    const { client, saved, done } = await signedIn();
    await client.login();
    await done();
    console.log(`signed in as ${saved.handle} (device ${client.deviceId})`);
  });

const link = program.command('link').description('add another device to this account');
link
  .command('show')
  .description('show a single-use code to enter on the new device')
  .action(async () => {
    const { client, done } = await signedIn();
    const { code, expiresAt } = await client.createLinkCode();
    await done();
    console.log(code);
    console.error(
      `(single use; expires at ${expiresAt}: on the new device, "supernode link use ${code}")`,
    );
  });
link
  .command('use')
  .description('make this machine a device of the account that showed the code')
  .argument('<code>', 'the code "supernode link show" printed')
  .option('-s, --server <url>', 'the Supernode server', DEFAULT_SERVER)
  .option('-n, --device-name <name>', 'how this device shows in the device list', 'cli')
  .action(async (code: string, options: { server: string; deviceName: string }) => {
    await ensureNoDeviceFile(deviceFile());
    const client = await SupernodeClient.linkDevice(options.server, code.trim(), {
      deviceName: options.deviceName,
    });
    const handle = await client.handleOf(client.accountId);
    await saveNewDevice(client, options.server, handle);
    console.log(`linked: this machine is now a device of ${handle} (device ${client.deviceId})`);
  });

program
  .command('devices')
  .description('list this account’s devices')
  .action(async () => {
    const { client, done } = await signedIn();
    const devices = await client.listDevices();
    await done();
    for (const device of devices) {
      const self = device.deviceId === client.deviceId ? ' (this one)' : '';
      const seen = device.lastSeenAt ? `last seen ${device.lastSeenAt}` : 'never seen';
      console.log(`${device.deviceId}  ${device.name}${self}  added ${device.createdAt}, ${seen}`);
    }
  });

program
  .command('send')
  .description('send a text message to every device of an account')
  .argument('<handle>', 'who to send to')
  .argument('<text...>', 'the message')
  .action(async (handle: string, words: string[]) => {
    const { client, done } = await signedIn();
    const recipient = await client.lookupHandle(handle);
    const accepted = await client.sendText({ accountId: recipient.accountId }, words.join(' '));
    await done();
    console.log(`sent ${accepted.messageId}`);
  });

program
  .command('inbox')
  .description('print the messages waiting for this device, and acknowledge them')
  .action(async () => {
    const { client, done } = await signedIn();
    const handled = await client.sync(async (message) => {
      console.log(`${message.acceptedAt}  ${await describe(message, client)}`);
    });
    await done();
    if (handled.length === 0) console.error('(nothing waiting)');
  });

program
  .command('chat')
  .description('chat live with someone: what arrives is printed, each line you type is sent')
  .argument('<handle>', 'who to chat with')
  .action(async (handle: string) => {
    const { client, saved, done } = await signedIn();
    const peer = await client.lookupHandle(handle);
    const terminal = readline.createInterface({
      input: process.stdin,
      output: process.stdout,
      prompt: `${saved.handle}> `,
    });
    /** Prints above the line being typed, then puts the prompt back. */
    const print = (line: string) => {
      readline.clearLine(process.stdout, 0);
      readline.cursorTo(process.stdout, 0);
      console.log(line);
      terminal.prompt(true);
    };
    const stream = await client.connect({
      onMessage: async (message) => print(await describe(message, client)),
      onError: (error) => print(`(${error.message})`),
    });
    print(
      `chatting with ${handle} as ${saved.handle}; type a message and press Enter, Ctrl-D to leave`,
    );
    let sending = Promise.resolve();
    terminal.on('line', (line) => {
      const text = line.trim();
      if (!text) return terminal.prompt();
      sending = sending
        .then(() => client.sendText({ accountId: peer.accountId }, text))
        .then(
          () => terminal.prompt(),
          (error: unknown) => print(`(not sent: ${messageOf(error)})`),
        );
    });
    await new Promise((resolve) => terminal.once('close', resolve));
    await sending;
    await stream.close();
    await done();
  });

function messageOf(error: unknown): string {
  if (error instanceof SupernodeError)
    return `${error.code}${error.detail ? `: ${error.detail}` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

try {
  await program.parseAsync();
} catch (error) {
  // What went wrong in a line, with no stack: the server's problem, or ours.
  const known = error instanceof SupernodeError || error instanceof DeviceFileError;
  console.error(`supernode: ${known ? messageOf(error) : `unexpected error: ${messageOf(error)}`}`);
  process.exitCode = error instanceof SupernodeError ? 2 : 1;
}
