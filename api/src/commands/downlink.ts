// How a command goes on the wire (DESIGN.md §4 `/cmd/{id}`), for every CommandSender of the platform.
import { buildTopic, type CommandRequest } from '@clutch/contracts';
import type { CommandTarget } from './service.js';

/**
 * MQTT 5 properties of a command (MQTT 5 §3.3.2.3). A 3.1.1 agent never sees them (the broker drops
 * properties towards a 3.1.1 subscriber) and answers on `.../cmd/{id}/result` by convention.
 */
export interface CommandPublishProperties {
  /** Request/response (§4.10): where the agent answers, the conventional result topic itself. */
  readonly responseTopic: string;
  /** The command id, echoed on the answer so the platform can match it without parsing the topic. */
  readonly correlationData: Buffer;
  /**
   * Seconds until the command's deadline: the broker drops it from a queue once expired
   * ([MQTT-3.3.2-5]) and forwards what remains, and the agent does not run it after that.
   */
  readonly messageExpiryInterval: number;
  readonly contentType: 'application/json';
  /** UTF-8 payload (§3.3.2.3.2). */
  readonly payloadFormatIndicator: true;
}

export interface CommandPublish {
  readonly topic: string;
  readonly payload: string;
  readonly properties: CommandPublishProperties;
}

/** The QoS 1 publish of `request` to its device: topic, JSON payload and the MQTT 5 properties. */
export function commandPublish(target: CommandTarget, request: CommandRequest, now = Date.now()): CommandPublish {
  const address = { tenant: target.tenantId, device: target.deviceId, commandId: request.id };
  return {
    topic: buildTopic({ ...address, kind: 'cmd' }),
    payload: JSON.stringify(request),
    properties: {
      responseTopic: buildTopic({ ...address, kind: 'cmd_result' }),
      correlationData: Buffer.from(request.id, 'utf8'),
      // Rounded up, at least 1 s: a command is sent the moment it is created (its timeout is 1 s at least).
      messageExpiryInterval: Math.max(1, Math.ceil((request.expiresAt - now) / 1000)),
      contentType: 'application/json',
      payloadFormatIndicator: true,
    },
  };
}
