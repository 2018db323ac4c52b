// The dashboard's only way to the scheduler: the REST API (docs/rest-api.md) with the browser's credentials.
// On loopback the API trusts a caller without credentials; elsewhere the user signs in with an API key, kept in
// sessionStorage (gone with the tab) and sent as X-Api-Key.
import { createParser } from 'eventsource-parser';

const keyItem = 'scheduler.apiKey';
export const prefix = '/api/v1';

export type Role = 'viewer' | 'submitter' | 'operator' | 'admin';
export interface Me { role: Role; tenant: string | null; actor: string }

export class ApiError extends Error {
  constructor(public status: number, message: string) { super(message); }
}

export function apiKey(): string | null { return sessionStorage.getItem(keyItem); }
export function setApiKey(key: string | null) {
  if (key) sessionStorage.setItem(keyItem, key); else sessionStorage.removeItem(keyItem);
}

function headers(body: boolean): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json' };
  const key = apiKey();
  if (key) h['X-Api-Key'] = key;
  if (body) h['Content-Type'] = 'application/json';
  return h;
}

async function problem(response: Response, path: string): Promise<ApiError> {
  let text = `${response.status} ${response.statusText}`;
  try {
    const p = await response.json();
    text = p.detail || p.title || text;
  } catch { /* not a problem document */ }
  // A refused key (revoked, or signed out elsewhere) sends the user back to sign in; /me is how the app asks.
  if (response.status === 401 && path !== '/me') window.dispatchEvent(new Event('scheduler:signin'));
  return new ApiError(response.status, text);
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(prefix + path, { headers: headers(false), signal });
  if (!response.ok) throw await problem(response, path);
  return response.json() as Promise<T>;
}

export async function post<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(prefix + path, {
    method: 'POST', headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await problem(response, path);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

/** A call of any method (PUT, DELETE...) with an optional JSON body; the parsed answer, or null when it has none. */
export async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(prefix + path, {
    method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await problem(response, path);
  const text = await response.text();
  return (text ? JSON.parse(text) : null) as T;
}

export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

export const canOperate = (me: Me | null) => me?.role === 'operator' || me?.role === 'admin';

/**
 * Reads a server-sent event stream with fetch, since EventSource cannot send the API key header. Resumes after a
 * dropped connection from the last event id, as the API allows; stops when aborted.
 */
export async function streamEvents(path: string, onEvent: (event: string, data: string, id?: string) => void,
  signal: AbortSignal): Promise<void> {
  let lastId: string | undefined;
  let ended = false;
  while (!signal.aborted && !ended) {
    try {
      const h = headers(false);
      h.Accept = 'text/event-stream';
      if (lastId) h['Last-Event-ID'] = lastId;
      const response = await fetch(prefix + path, { headers: h, signal });
      if (!response.ok || !response.body) throw await problem(response, path);
      const parser = createParser({
        onEvent: e => {
          if (e.id) lastId = e.id;
          if (e.event === 'end') ended = true;
          onEvent(e.event ?? 'message', e.data, e.id);
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (e) {
      if (signal.aborted || (e instanceof ApiError && e.status < 500)) return;
    }
    if (!ended && !signal.aborted) await new Promise(r => setTimeout(r, 1000));
  }
}
