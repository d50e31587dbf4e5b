// Test helper (imported only by tests): ChannelSenders that record what they were asked to send and
// answer as told. They are test implementations of the channel interface, not of our database or
// queue; the real adapters have their own contract tests against local wire servers (channels/).
import type {
  ChannelName,
  ChannelSender,
  ChannelTarget,
  NotificationChannels,
  RenderedNotification,
  SendResult,
} from './channels/channel.js';

export interface SentCall {
  target: ChannelTarget;
  message: RenderedNotification;
}

export type Answer = () => SendResult;

export interface RecordingSender extends ChannelSender {
  calls: SentCall[];
  /**
   * How the next sends to one target (address, phone, token or endpoint) answer, in order; a function
   * may throw (a transient failure). Without a script, every send is accepted.
   */
  script(target: string, ...answers: Answer[]): void;
  /** Calls about one notification. */
  callsFor(notificationId: string): SentCall[];
}

/** The address, phone, token or endpoint of a target. */
export function targetKey(target: ChannelTarget): string {
  switch (target.kind) {
    case 'email':
      return target.address;
    case 'sms':
      return target.phone;
    case 'web_push':
      return target.endpoint;
    default:
      return target.token;
  }
}

export function recordingSender(channel: ChannelName): RecordingSender {
  let n = 0;
  const scripts = new Map<string, Answer[]>();
  const sender: RecordingSender = {
    channel,
    calls: [],
    script: (target, ...answers) => scripts.set(target, [...(scripts.get(target) ?? []), ...answers]),
    callsFor: (id) => sender.calls.filter((c) => c.message.notificationId === id),
    async send(target, message) {
      sender.calls.push({ target, message });
      const answer = scripts.get(targetKey(target))?.shift();
      if (answer) return answer();
      return { ok: true, providerMessageId: `${channel}-${++n}` };
    },
  };
  return sender;
}

export interface RecordingChannels {
  web_push: RecordingSender & { publicKey: string };
  fcm: RecordingSender;
  apns: RecordingSender;
  email: RecordingSender;
  sms: RecordingSender;
}

export function recordingChannels(): RecordingChannels & NotificationChannels {
  return {
    web_push: Object.assign(recordingSender('web_push'), { publicKey: 'BTestVapidPublicKey' }),
    fcm: recordingSender('fcm'),
    apns: recordingSender('apns'),
    email: recordingSender('email'),
    sms: recordingSender('sms'),
  };
}
