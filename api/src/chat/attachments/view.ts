import { z } from 'zod';
import type { AttachmentRow } from './repository.js';

/** COMMS.md's ChatAttachment: what a message shows of a file, and where to fetch its bytes. */
export interface ChatAttachment {
  id: string;
  name: string;
  contentType: string;
  size: number;
  width: number | null;
  height: number | null;
  url: string;
}

export const chatAttachmentSchema = z.object({
  id: z.uuid(),
  name: z.string().describe('File name as served (its extension matches contentType)'),
  contentType: z
    .enum(['image/jpeg', 'image/webp', 'image/png', 'image/gif', 'application/pdf', 'text/plain'])
    .describe('The type found from the bytes (images are stored as JPEG or WebP)'),
  size: z.number().int().describe('Bytes as stored (after image compression)'),
  width: z.number().int().nullable().describe('Pixels, images only'),
  height: z.number().int().nullable(),
  url: z.string().describe('GET this for the bytes (participants of the room only)'),
});

export const DEFAULT_PREFIX = '/api';

export function attachmentView(row: AttachmentRow, prefix = DEFAULT_PREFIX): ChatAttachment {
  return {
    id: row.id,
    name: row.name,
    contentType: row.contentType,
    size: Number(row.size),
    width: row.width,
    height: row.height,
    url: `${prefix}/chat/attachments/${row.id}`,
  };
}
