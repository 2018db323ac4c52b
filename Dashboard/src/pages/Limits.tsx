import { useState } from 'preact/hooks';
import { get } from '../api';
import { ErrorLine, Section, fmtTime, shortId, usePoll } from '../util';

interface Holder { job: string; attempt: number; since: string }
interface Waiter { job: string; priority?: number; since?: string }
interface KeyStatus {
  key: string; settings?: { limit?: number | null; rate?: { count: number; window: string } | null } | null; source: string;
  limit?: number | null; holders: Holder[]; waiters: Waiter[]; rateWindowStarts: string[]; nextRateSlotAt?: string | null;
}
interface ScopeStatus { scope: string; barrier: unknown; holderRunning: boolean; waiting: Waiter[]; parked: number; silos: string[] }

export function Limits() {
  const { data, error } = usePoll(s => get<KeyStatus[]>('/limits/keys', s), 3000, []);
  const [scope, setScope] = useState('');
  const [shown, setShown] = useState<string | null>(null);
  return (
    <>
      <Section title="Concurrency keys and rate limits">
        <ErrorLine error={error} />
        <table class="grid">
          <thead><tr><th>Key</th><th>Limit</th><th>Rate</th><th>Holders</th><th>Waiters</th><th>Rate window</th></tr></thead>
          <tbody>
            {data?.map(k => (
              <tr>
                <td class="mono">{k.key}</td><td class="num">{k.limit ?? '∞'} <span class="muted small">({k.source})</span></td>
                <td>{k.settings?.rate ? `${k.settings.rate.count} per ${k.settings.rate.window}` : ''}</td>
                <td>{k.holders.map(h => <a class="mono chip" href={`#/jobs/${h.job}`} title={`since ${fmtTime(h.since)}`}>{shortId(h.job)}</a>)}</td>
                <td>{k.waiters.length}</td>
                <td>{k.rateWindowStarts.length ? `${k.rateWindowStarts.length} in window` : ''}
                  {k.nextRateSlotAt && <span class="muted"> next slot {fmtTime(k.nextRateSlotAt)}</span>}</td>
              </tr>
            ))}
            {data && data.length === 0 && <tr><td colSpan={6} class="empty">No concurrency keys in use or configured.</td></tr>}
          </tbody>
        </table>
      </Section>
      <Section title="Exclusive scopes">
        <form class="filters" onSubmit={e => { e.preventDefault(); setShown(scope.trim()); }}>
          <label>Scope <input value={scope} onInput={e => setScope((e.target as HTMLInputElement).value)} /></label>
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
