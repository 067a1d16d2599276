/** Reading messages whose content may be text, content parts or null. */
import type { ChatMessage, ChatRequest } from './types.js';

/** A message's text: the string, or its text parts joined by newlines (images, audio and files have none). */
export function textOf(content: ChatMessage['content'] | undefined): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const p of content)
    if (p && p.type === 'text' && typeof p.text === 'string') text += (text ? '\n' : '') + p.text;
  return text;
}

/** What answering a request needs of a model: tools, JSON output, images, audio, a stream. */
export function requiredCapabilities(
  req: ChatRequest & { stream?: boolean },
): Array<'tools' | 'json' | 'vision' | 'audio' | 'streaming'> {
  const need = new Set<'tools' | 'json' | 'vision' | 'audio' | 'streaming'>();
  if (req.stream) need.add('streaming');
  if ((Array.isArray(req.tools) && req.tools.length) || (Array.isArray(req.functions) && req.functions.length))
    need.add('tools');
  const format = req.response_format?.type;
  if (format === 'json_object' || format === 'json_schema') need.add('json');
  if (Array.isArray(req.modalities) && req.modalities.includes('audio')) need.add('audio');
  for (const m of req.messages) {
    if (m.role === 'tool' || m.role === 'function' || (Array.isArray(m.tool_calls) && m.tool_calls.length))
      need.add('tools');
    if (Array.isArray(m.content))
      for (const p of m.content) {
        if (p?.type === 'image_url' || p?.type === 'image') need.add('vision');
        if (p?.type === 'input_audio') need.add('audio');
      }
  }
  return [...need];
}
