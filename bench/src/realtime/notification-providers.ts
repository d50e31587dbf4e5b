// The notification bench's providers, each in a process of its own (argument `push` or `mail`): the
// local Web Push service and an SMTP mailbox (@clutch/emulators, the same servers `npm start` runs as
// its dev push service and dev mailbox). A provider is another machine to the platform; run in the
// platform's process, their decryption, VAPID checks and mail parsing were counted as the platform's
// CPU per trigger, and one process for both made them the bench's bottleneck. The bench reads what
// they received, and their own CPU, through IPC.
import { startSmtpEmulator, startWebPushEmulator, type WebPushSubscription } from '@clutch/emulators';

/** What the bench asks of the providers' process. */
export type ProvidersCommand =
  { kind: 'subscribe'; count: number; applicationServerKey: string } | { kind: 'counts' } | { kind: 'close' };

export type ProvidersReply =
  /** The push service's CA (push) or the mailbox's URL (mail). */
  | { kind: 'ready'; pushCa?: string; smtpUrl?: string }
  | { kind: 'subscribed'; subscriptions: WebPushSubscription[] }
  /** Pushes and mails accepted so far, and this process's CPU time in ms. */
  | { kind: 'counts'; pushes: number; mails: number; cpuMs: number }
  | { kind: 'closed' };

async function main(role: string | undefined): Promise<void> {
  if (role !== 'push' && role !== 'mail') throw new Error('usage: notification-providers.js push|mail');
  const push = role === 'push' ? await startWebPushEmulator() : undefined;
  // A mail server keeps what it accepts and never reads it: parsed only if read (nothing reads it here).
  const mailbox =
    role === 'mail' ? await startSmtpEmulator({ host: '127.0.0.1', keep: 1_000_000, parse: 'on-read' }) : undefined;
  const reply = (r: ProvidersReply): void => {
    process.send?.(r);
  };
  // Ended by the bench: exit normally, so a `--cpu-prof` run (BENCH_NOTIFY_PROFILE) writes its profile.
  process.once('SIGTERM', () => process.exit(0));
  process.on('message', (command: ProvidersCommand) => {
    switch (command.kind) {
      case 'subscribe':
        reply({
          kind: 'subscribed',
          subscriptions: push
            ? Array.from({ length: command.count }, () =>
                push.subscribe({ applicationServerKey: command.applicationServerKey }),
              )
            : [],
        });
        return;
      case 'counts': {
        const cpu = process.cpuUsage();
        reply({
          kind: 'counts',
          pushes: push?.received.length ?? 0,
          mails: mailbox?.received.length ?? 0,
          cpuMs: (cpu.user + cpu.system) / 1000,
        });
        return;
      }
      case 'close':
        void Promise.all([push?.close(), mailbox?.close()]).finally(() => {
          reply({ kind: 'closed' });
          process.disconnect();
        });
    }
  });
  reply({ kind: 'ready', ...(push ? { pushCa: push.ca } : {}), ...(mailbox ? { smtpUrl: mailbox.url } : {}) });
}

main(process.argv[2]).catch((err: unknown) => {
  console.error('notification providers:', err);
  process.exit(1);
});
