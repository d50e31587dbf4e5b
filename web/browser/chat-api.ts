import { ApiProblem, apiRequest, csrfToken, getJson } from './api.js';

/** The chat routes the booking page calls (docs/chat.md), with the shapes they answer. */

export interface ChatParticipant {
  userId: string;
  tenantId: string;
  role: 'customer' | 'shop' | 'support' | 'member';
  displayName: string;
}

export interface ChatRoom {
  id: string;
  kind: 'booking' | 'support' | 'group';
  title: string | null;
  bookingId: string | null;
  participants: ChatParticipant[];
  lastSeq: number;
  /** How far the caller has read. */
  readUpToSeq: number;
  unread: number;
  createdAt: string;
  lastMessageAt: string | null;
}

export interface ChatAttachment {
  id: string;
  name: string;
  contentType: string;
  size: number;
  width: number | null;
  height: number | null;
  url: string;
}

export interface ChatMessage {
  id: string;
  roomId: string;
  seq: number;
  clientMessageId: string;
  sender: { userId: string; tenantId: string; displayName: string };
  /** Empty once deleted. */
  body: string;
  mentions: string[];
  attachments: ChatAttachment[];
  /** `participant_left`: the room's line that the sender left (empty body). */
  kind?: 'text' | 'participant_left';
  /** Absent on live events (`chat_message` carries the message without it). */
  readBy?: { userId: string; readAt: string }[];
  createdAt: string;
  deletedAt: string | null;
}

export interface MessagePage {
  items: ChatMessage[];
  next: string | number | null;
}

/** The booking's room: created on first use, the existing one afterwards (200). */
export const openBookingRoom = (bookingId: string): Promise<ChatRoom> =>
  apiRequest<ChatRoom>('POST', '/api/chat/rooms', { kind: 'booking', bookingId });

const messagesPath = (roomId: string): string => `/api/chat/rooms/${encodeURIComponent(roomId)}/messages`;

/** The latest page (newest first), or the page before a sequence number (newest first). */
export const loadMessages = (roomId: string, limit: number, beforeSeq?: number): Promise<MessagePage> =>
  getJson<MessagePage>(
    `${messagesPath(roomId)}?limit=${limit}${beforeSeq !== undefined ? `&beforeSeq=${beforeSeq}` : ''}`,
  );

export const postMessage = (
  roomId: string,
  message: { clientMessageId: string; body: string; attachmentIds?: string[] },
): Promise<ChatMessage> => apiRequest<ChatMessage>('POST', messagesPath(roomId), message);

export const markReadUpTo = (messageId: string): Promise<{ roomId: string; readUpToSeq: number }> =>
  apiRequest('PUT', `/api/chat/messages/${encodeURIComponent(messageId)}/read`);

export const reportMessage = (messageId: string, reason: string): Promise<unknown> =>
  apiRequest('POST', `/api/chat/messages/${encodeURIComponent(messageId)}/report`, { reason });

export const deleteMessage = (messageId: string): Promise<unknown> =>
  apiRequest('DELETE', `/api/chat/messages/${encodeURIComponent(messageId)}`);

/**
 * Uploads a file as the raw request body (`Content-Type` its type, `?name=` its name): not JSON, so not
 * through apiRequest, but with the same CSRF header a browser session's write needs.
 */
export async function uploadAttachment(roomId: string, file: File): Promise<ChatAttachment> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': file.type || 'application/octet-stream',
    'x-requested-with': 'clutch-web',
  };
  const csrf = csrfToken();
  if (csrf !== undefined) headers['x-csrf-token'] = csrf;
  const res = await fetch(
    `/api/chat/rooms/${encodeURIComponent(roomId)}/attachments?name=${encodeURIComponent(file.name)}`,
    { method: 'POST', headers, body: file, credentials: 'same-origin' },
  );
  if (!res.ok) {
    const p = ((await res.json().catch(() => ({}))) ?? {}) as Record<string, unknown>;
    throw new ApiProblem(
      res.status,
      typeof p.code === 'string' ? p.code : 'UNKNOWN',
      typeof p.detail === 'string' ? p.detail : '',
      typeof p.title === 'string' ? p.title : '',
    );
  }
  return (await res.json()) as ChatAttachment;
}
