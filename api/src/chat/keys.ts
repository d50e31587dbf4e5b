import type { Logger } from 'pino';
import { checkKeyRing, devKeyRing, type ChatKeyRing } from './crypto.js';

let warned = false;

/**
 * The key ring the API seals chat bodies with: the platform's (`DomainDeps.chat.keyRing`, from
 * CLUTCH_CHAT_KEYS or ./data), else the development key, with one warning per process: anyone can
 * derive that key, so bodies sealed with it are only encoded, not secret.
 */
export function chatKeyRingOf(chat: { keyRing: ChatKeyRing } | undefined, logger: Logger): ChatKeyRing {
  if (chat) return checkKeyRing(chat.keyRing);
  if (!warned) {
    warned = true;
    logger.warn('chat: no key ring configured (CLUTCH_CHAT_KEYS): message bodies are sealed with the development key');
  }
  return devKeyRing();
}
