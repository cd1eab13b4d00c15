/**
 * Lines of a byte stream, split the way Java's BufferedReader.readLine
 * splits them (\n, \r\n or a lone \r), decoded as UTF-8, pulled one at a
 * time so reading stops while the consumer of the lines is busy.
 */
import { StringDecoder } from 'node:string_decoder';

export async function* readLines(input: NodeJS.ReadableStream): AsyncGenerator<string, void, undefined> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let skipLineFeed = false;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (skipLineFeed && text.startsWith('\n')) text = text.slice(1);
    skipLineFeed = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = pending + text.slice(start, i);
      pending = '';
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          skipLineFeed = true;
        }
      }
      start = i + 1;
      yield line;
    }
    pending += text.slice(start);
  }
  pending += decoder.end();
  if (pending !== '') yield pending;
}
