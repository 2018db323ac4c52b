import { useState } from 'preact/hooks';
import { canOperate, get, post, send, type Me } from '../api';
import { ErrorLine, Section, fmtTime, shortId, usePoll } from '../util';

interface Holder { job: string; attempt: number; since: string }
interface Waiter { job: string; priority?: number; since?: string }
interface KeyStatus {
  key: string; settings?: { limit?: number | null; rate?: { count: number; window: string } | null } | null; source: string;
  limit?: number | null; holders: Holder[]; waiters: Waiter[]; rateWindowStarts: string[]; nextRateSlotAt?: string | null;
}
interface ScopeStatus { scope: string; barrier: unknown; holderRunning: boolean; waiting: Waiter[]; parked: number; silos: string[] }
interface GateStatus { target: string; paused: boolean; reason?: string | null; since?: string | null; held: number }
interface BreakerStatus {
  target: string; state: string; consecutiveFailures: number; windowFailures: number; windowOutcomes: number;
  openUntil?: string | null; trial?: string | null; reason?: string | null; opened: number; settings?: string | null;
}

/** Seconds as a .NET TimeSpan ("d.hh:mm:ss"), the form the API reads a rate window in. */
function timeSpan(seconds: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  return `${d ? d + '.' : ''}${two(h)}:${two(m)}:${two(s)}`;
}

/** A form's text input bound to one field of a state object. */
function Field<T extends Record<string, string>>({ id, label, state, set, name, size, numeric }:
  { id: string; label: string; state: T; set: (v: T) => void; name: keyof T & string; size?: number; numeric?: boolean }) {
  return <label>{label} <input id={id} inputMode={numeric ? 'numeric' : undefined} size={size ?? 12} value={state[name]}
    onInput={e => set({ ...state, [name]: (e.target as HTMLInputElement).value })} /></label>;
}

export function Limits({ me }: { me: Me }) {
  const operate = canOperate(me);
  const keys = usePoll(s => get<KeyStatus[]>('/limits/keys', s), 3000, []);
  const gates = usePoll(s => get<GateStatus[]>('/gates', s), 3000, []);
  const breakers = usePoll(s => get<BreakerStatus[]>('/breakers', s), 3000, []);
  const [message, setMessage] = useState<string | null>(null);
  const [limit, setLimit] = useState({ key: '', limit: '', count: '', window: '' });
  const [gate, setGate] = useState({ kind: 'queue', name: '', reason: '' });
  const [scope, setScope] = useState('');
  const [shown, setShown] = useState<string | null>(null);

  // Every control reports its outcome in one line and refreshes what it changed.
  const act = async (label: string, call: () => Promise<unknown>, refresh: () => void, describe?: (r: any) => string) => {
    try { const r = await call(); setMessage(`${label}: ${describe ? describe(r) : 'done'}`); }
    catch (e) { setMessage(`${label}: ${(e as Error).message}`); }
    refresh();
  };
  const setKey = () => {
    const body: { limit: number | null; rate: { count: number; window: string } | null } = { limit: null, rate: null };
    const whole = (text: string, what: string) => {
      const n = Number(text);
      if (!/^\s*\d+\s*$/.test(text)) { setMessage(`Set limit: ${what} must be a whole number (was '${text}')`); return null; }
      return n;
    };
    if (limit.limit.trim()) {
      const n = whole(limit.limit, 'the limit');
      if (n === null) return;
      body.limit = n;
    }
    if (limit.count.trim() || limit.window.trim()) {
      const count = whole(limit.count, 'the rate\'s starts'), seconds = whole(limit.window, 'the rate window in seconds');
      if (count === null || seconds === null) return;
      body.rate = { count, window: timeSpan(seconds) };
    }
    act(`Set limit on ${limit.key.trim()}`, () => send('PUT', `/limits/keys/${encodeURIComponent(limit.key.trim())}`, body), keys.refresh);
  };
  const target = (kind: string, name: string) => `${kind}:${name}`;
  const gatePath = (t: string, action: string) => `/gates/${encodeURIComponent(t)}/${action}`;

  return (
    <>
      {message && <p class="note" role="status" id="limits-message">{message}</p>}
      <Section title="Concurrency keys and rate limits">
        <ErrorLine error={keys.error} />
        {operate && <form class="filters" id="limit-form" onSubmit={e => { e.preventDefault(); setKey(); }}>
          <Field id="limit-key" label="Key" name="key" state={limit} set={setLimit} size={20} />
          <Field id="limit-limit" label="Limit (blank: none)" name="limit" state={limit} set={setLimit} size={6} numeric />
          <Field id="limit-rate-count" label="Rate: starts" name="count" state={limit} set={setLimit} size={6} numeric />
          <Field id="limit-rate-window" label="per seconds" name="window" state={limit} set={setLimit} size={6} numeric />
          <button id="set-limit" type="submit" disabled={!limit.key.trim()}>Set limit</button>
        </form>}
        <table class="grid" id="keys-table">
          <thead><tr><th>Key</th><th>Limit</th><th>Rate</th><th>Holders</th><th>Waiters</th><th>Rate window</th></tr></thead>
          <tbody>
            {keys.data?.map(k => (
              <tr data-key={k.key}>
                <td class="mono">{operate
                  ? <button class="link" title="Edit its limits" onClick={() => {
                    const w = k.settings?.rate?.window;
                    const [d, t] = w?.includes('.') && w.indexOf('.') < w.indexOf(':') ? w.split('.') : ['0', w ?? ''];
                    const [h, m, s] = t.split(':').map(Number);
                    setLimit({ key: k.key, limit: k.settings?.limit?.toString() ?? '', count: k.settings?.rate?.count.toString() ?? '',
                      window: w ? String(Number(d) * 86400 + h * 3600 + m * 60 + Math.round(s)) : '' });
                  }}>{k.key}</button>
                  : k.key}</td>
                <td class="num" data-col="limit">{k.limit ?? '∞'} <span class="muted small">({k.source})</span></td>
                <td data-col="rate">{k.settings?.rate ? `${k.settings.rate.count} per ${k.settings.rate.window}` : ''}</td>
                <td>{k.holders.map(h => <a class="mono chip" href={`#/jobs/${h.job}`} title={`since ${fmtTime(h.since)}`}>{shortId(h.job)}</a>)}</td>
                <td>{k.waiters.length}</td>
                <td>{k.rateWindowStarts.length ? `${k.rateWindowStarts.length} in window` : ''}
                  {k.nextRateSlotAt && <span class="muted"> next slot {fmtTime(k.nextRateSlotAt)}</span>}</td>
              </tr>
            ))}
            {keys.data && keys.data.length === 0 && <tr><td colSpan={6} class="empty">No concurrency keys in use or configured.</td></tr>}
          </tbody>
        </table>
      </Section>

      <Section title="Gates">
        <ErrorLine error={gates.error} />
        {operate && <form class="filters" id="gate-form" onSubmit={e => {
          e.preventDefault();
          const t = target(gate.kind, gate.name.trim());
          act(`Pause ${t}`, () => post(gatePath(t, 'pause'), gate.reason.trim() ? { reason: gate.reason.trim() } : {}), gates.refresh);
        }}>
          <label>Pause <select id="gate-kind" value={gate.kind} onChange={e => setGate({ ...gate, kind: (e.target as HTMLSelectElement).value })}>
            {['handler', 'queue', 'tenant', 'workflow'].map(k => <option value={k}>{k}</option>)}
          </select></label>
          <Field id="gate-name" label="Name or id" name="name" state={gate} set={setGate} size={20} />
          <Field id="gate-reason" label="Reason" name="reason" state={gate} set={setGate} size={24} />
          <button id="pause-gate" type="submit" disabled={!gate.name.trim()}>Pause</button>
        </form>}
        <table class="grid" id="gates-table">
          <thead><tr><th>Gate</th><th>State</th><th>Since</th><th>Reason</th><th class="num">Held</th>{operate && <th>Actions</th>}</tr></thead>
          <tbody>
            {gates.data?.map(g => (
              <tr data-gate={g.target}>
                <td class="mono">{g.target}</td><td data-col="state">{g.paused ? 'paused' : 'open'}</td><td>{fmtTime(g.since)}</td>
                <td>{g.reason}</td><td class="num" data-col="held">{g.held}</td>
                {operate && <td class="row-actions">
                  <button class="resume-gate" disabled={!g.paused} onClick={() => act(`Resume ${g.target}`, () => post(gatePath(g.target, 'resume')), gates.refresh)}>Resume</button>
                  <button class="drop-gate" disabled={!g.paused} onClick={() => {
                    if (confirm(`Cancel every job ${g.target} holds?`))
                      act(`Drop ${g.target}`, () => post<{ dropped: number }>(gatePath(g.target, 'drop'), {}), gates.refresh, r => `${r.dropped} cancelled`);
                  }}>Drop held jobs</button>
                </td>}
              </tr>
            ))}
            {gates.data && gates.data.length === 0 && <tr><td colSpan={operate ? 6 : 5} class="empty">No gate is paused or holds jobs.</td></tr>}
          </tbody>
        </table>
      </Section>

      <Section title="Circuit breakers">
        <ErrorLine error={breakers.error} />
        <table class="grid" id="breakers-table">
          <thead><tr><th>Breaker</th><th>State</th><th>Failures</th><th>Open until</th><th class="num">Opened</th><th>Reason</th><th>Settings</th>{operate && <th>Actions</th>}</tr></thead>
          <tbody>
            {breakers.data?.map(b => (
              <tr data-breaker={b.target}>
                <td class="mono">{b.target}</td>
                <td data-col="state"><span class={`badge state-${b.state === 'closed' ? 'succeeded' : b.state === 'open' ? 'failed' : 'running'}`}>{b.state}</span>
                  {b.trial && <> trial <a class="mono" href={`#/jobs/${b.trial}`}>{shortId(b.trial)}</a></>}</td>
                <td>{b.consecutiveFailures} in a row; {b.windowFailures} of {b.windowOutcomes} in window</td>
                <td>{fmtTime(b.openUntil)}</td><td class="num">{b.opened}</td>
                <td class="wrap small">{b.reason}</td><td class="small">{b.settings}</td>
                {operate && <td><button class="reset-breaker" onClick={() => act(`Reset ${b.target}`, () => post(`/breakers/${encodeURIComponent(b.target)}/reset`), breakers.refresh)}>Reset</button></td>}
              </tr>
            ))}
            {breakers.data && breakers.data.length === 0 && <tr><td colSpan={operate ? 8 : 7} class="empty">No circuit breaker is configured.</td></tr>}
          </tbody>
        </table>
      </Section>

      <Section title="Exclusive scopes">
        <form class="filters" onSubmit={e => { e.preventDefault(); setShown(scope.trim()); }}>
          <label>Scope <input value={scope} placeholder="cluster or queue:NAME" onInput={e => setScope((e.target as HTMLInputElement).value)} /></label>
          <button type="submit" disabled={!scope.trim()}>Show</button>
        </form>
        {shown && <Scope scope={shown} />}
      </Section>
    </>
  );
}

function Scope({ scope }: { scope: string }) {
  const { data, error } = usePoll(s => get<ScopeStatus>(`/limits/scopes/${encodeURIComponent(scope)}`, s), 3000, [scope]);
  return (
    <div class="detail">
      <ErrorLine error={error} />
      {data && <dl class="facts">
        <dt>Barrier</dt><dd class="mono">{JSON.stringify(data.barrier)}</dd>
        <dt>Holder running</dt><dd>{data.holderRunning ? 'yes' : 'no'}</dd>
        <dt>Waiting</dt><dd>{data.waiting.map(w => <a class="mono chip" href={`#/jobs/${w.job}`}>{shortId(w.job)}</a>)}</dd>
        <dt>Parked</dt><dd>{data.parked}</dd>
        <dt>Silos</dt><dd>{data.silos.join(', ')}</dd>
      </dl>}
    </div>
  );
}
