// web-push@3 ships no types and there is no @types package installed: the part the adapter uses.
declare module 'web-push' {
  import type { Agent } from 'node:https';

  export interface PushSubscription {
    endpoint: string;
    keys: { p256dh: string; auth: string };
  }
  export interface RequestOptions {
    vapidDetails?: { subject: string; publicKey: string; privateKey: string };
    TTL?: number;
    urgency?: 'very-low' | 'low' | 'normal' | 'high';
    topic?: string;
    contentEncoding?: 'aes128gcm' | 'aesgcm';
    agent?: Agent;
    timeout?: number;
    headers?: Record<string, string>;
  }
  export interface SendResult {
    statusCode: number;
    body: string;
    headers: Record<string, string | string[] | undefined>;
  }
  export class WebPushError extends Error {
    statusCode: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
    endpoint: string;
  }
  export function sendNotification(
    subscription: PushSubscription,
    payload?: string | Buffer | null,
    options?: RequestOptions,
  ): Promise<SendResult>;
  export function generateVAPIDKeys(): { publicKey: string; privateKey: string };
  export function generateRequestDetails(
    subscription: PushSubscription,
    payload?: string | Buffer | null,
    options?: RequestOptions,
  ): { method: string; headers: Record<string, string | number>; body: Buffer | null; endpoint: string };
  export function getVapidHeaders(
    audience: string,
    subject: string,
    publicKey: string,
    privateKey: string,
    contentEncoding: 'aes128gcm' | 'aesgcm',
    expiration?: number,
  ): { Authorization: string };
  const webpush: {
    WebPushError: typeof WebPushError;
    sendNotification: typeof sendNotification;
    generateVAPIDKeys: typeof generateVAPIDKeys;
    generateRequestDetails: typeof generateRequestDetails;
    getVapidHeaders: typeof getVapidHeaders;
  };
  export default webpush;
}
