/** Reading messages whose content may be text, content parts or null. */
import type { ChatMessage } from './types.js';

/** A message's text: the string, or its text parts joined by newlines (images, audio and files have none). */
export function textOf(content: ChatMessage['content'] | undefined): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const p of content)
    if (p && p.type === 'text' && typeof p.text === 'string') text += (text ? '\n' : '') + p.text;
  return text;
}
