import { request, type Dispatcher } from 'undici';
import type { HttpRequest } from './payloads';

export type SendResult = { ok: true; status: number } | { ok: false; retryable: boolean; error: string };

/**
 * POSTs one message. 2xx is delivered; 408, 429, 5xx and network errors are
 * worth retrying; any other 4xx will fail the same way again, so it is final.
 */
export async function postJson(req: HttpRequest, timeoutMs: number, dispatcher?: Dispatcher): Promise<SendResult> {
  try {
    const res = await request(req.url, {
      method: 'POST',
      headers: req.headers,
      body: JSON.stringify(req.body),
      signal: AbortSignal.timeout(timeoutMs),
      ...(dispatcher ? { dispatcher } : {}),
    });
    const text = (await res.body.text()).slice(0, 300);
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, status: res.statusCode };
    const retryable = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
    return { ok: false, retryable, error: `HTTP ${res.statusCode}${text ? `: ${text.replace(/\s+/g, ' ')}` : ''}` };
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
    const what = e.name === 'TimeoutError' || e.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : `${e.code ?? e.cause?.code ?? e.name}: ${e.message}`;
    return { ok: false, retryable: true, error: what };
  }
}
