import { useState } from 'preact/hooks';
import { canOperate, get, post, query, send, type Me } from '../api';
import { ErrorLine, Section, StateBadge, fmtTime, usePoll } from '../util';

interface Trigger { cron?: string | null; timeZone?: string; interval?: string | null }
interface Run { occurrence: string; runId: string; isWorkflow: boolean; outcome: string; reason: string; firedAt: string }
interface Summary { id: string; trigger: Trigger; paused: boolean; runCount: number; lastRun?: Run | null; isWorkflow: boolean; ended: boolean }
interface Status { nextOccurrences: string[]; lastRuns: Run[]; note?: string }
interface Page<T> { items: T[]; nextCursor: string | null }

const describe = (t: Trigger) => t.cron ? `cron ${t.cron} (${t.timeZone ?? 'UTC'})` : t.interval ? `every ${t.interval}` : '';
// A time typed without an offset is UTC, as the labels say (the browser would read it as local time).
const utc = (t: string) => /^\d{4}-\d\d-\d\dT.*\d$/.test(t.trim()) && !/[+-]\d\d:?\d\d$/.test(t.trim()) ? t.trim() + 'Z' : t.trim();
const runLink = (r: Run) => r.isWorkflow ? <a href={`#/workflows/${r.runId}`}>workflow</a> : <a href={`#/jobs/${r.runId}`}>job</a>;

export function Schedules({ me }: { me: Me }) {
  const [after, setAfter] = useState<(string | null)[]>([null]);
  const { data, error, refresh } = usePoll(s => get<Page<Summary>>('/schedules' + query({ after: after[after.length - 1], limit: 50 }), s), 10000, [after.length]);
  const [open, setOpen] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const operate = canOperate(me);
  // Every control reports its outcome in one line and refreshes the list.
  const act = async (label: string, call: () => Promise<unknown>, say?: (r: any) => string) => {
    try { const r = await call(); setMessage(`${label}: ${say ? say(r) : 'done'}`); }
    catch (e) { setMessage(`${label}: ${(e as Error).message}`); }
    refresh();
  };
  const path = (id: string, action = '') => `/schedules/${encodeURIComponent(id)}${action && '/' + action}`;
  return (
    <Section title="Schedules">
      <ErrorLine error={error} />
      {message && <p class="note" role="status" id="schedules-message">{message}</p>}
      <table class="grid" id="schedules-table">
        <thead><tr><th>Schedule</th><th>Trigger</th><th>Runs</th><th>Last run</th><th>State</th>{operate && <th>Actions</th>}</tr></thead>
        <tbody>
          {data?.items.map(s => (
            <>
              <tr data-schedule={s.id}>
                <td><button class="link" aria-expanded={open === s.id} onClick={() => setOpen(open === s.id ? null : s.id)}>{s.id}</button></td>
                <td class="mono">{describe(s.trigger)}</td><td class="num" data-col="runs">{s.runCount}</td>
                <td>{s.lastRun && <>{fmtTime(s.lastRun.occurrence)} <StateBadge state={s.lastRun.outcome} /></>}</td>
                <td data-col="state">{s.ended ? 'ended' : s.paused ? 'paused' : 'active'}</td>
                {operate && <td class="row-actions">
                  <button class="pause-schedule" disabled={s.paused || s.ended} onClick={() => act(`Pause ${s.id}`, () => post(path(s.id, 'pause'), {}))}>Pause</button>
                  <button class="resume-schedule" disabled={!s.paused} onClick={() => act(`Resume ${s.id}`, () => post(path(s.id, 'resume'), {}))}>Resume</button>
                  <button class="trigger-schedule" onClick={() => act(`Trigger ${s.id}`, () => post<Run>(path(s.id, 'trigger')), r => r.outcome)}>Trigger</button>
                  <button class="delete-schedule" onClick={() => {
                    if (confirm(`Delete schedule ${s.id}? Runs it started go on.`))
                      act(`Delete ${s.id}`, () => send('DELETE', path(s.id)), () => 'deleted');
                  }}>Delete</button>
                </td>}
              </tr>
              {open === s.id && <tr><td colSpan={operate ? 6 : 5}>
                <ScheduleDetail id={s.id} backfill={operate
                  ? (from, to) => act(`Backfill ${s.id}`, () => post<{ runs: Run[] }>(path(s.id, 'backfill'), { from, to }), r => `${r.runs.length} runs`)
                  : undefined} />
              </td></tr>}
            </>
          ))}
          {data && data.items.length === 0 && <tr><td colSpan={operate ? 6 : 5} class="empty">No schedules.</td></tr>}
        </tbody>
      </table>
      <div class="pager">
        <button disabled={after.length === 1} onClick={() => setAfter(a => a.slice(0, -1))}>Previous</button>
        <button disabled={!data?.nextCursor} onClick={() => setAfter(a => [...a, data!.nextCursor])}>Next</button>
      </div>
    </Section>
  );
}

function ScheduleDetail({ id, backfill }: { id: string; backfill?: (from: string, to: string) => void }) {
  const { data, error } = usePoll(s => get<Status>(`/schedules/${encodeURIComponent(id)}?next=5`, s), 10000, [id]);
  const [range, setRange] = useState({ from: '', to: '' });
  const [wrong, setWrong] = useState<string | null>(null);
  const input = (name: 'from' | 'to', label: string) => (
    <label>{label} <input id={`backfill-${name}`} size={22} placeholder="2026-12-01T00:00:00Z" value={range[name]}
      onInput={e => setRange({ ...range, [name]: (e.target as HTMLInputElement).value })} /></label>
  );
  return (
    <div class="detail">
      <ErrorLine error={error} />
      {data?.note && <p>Note: {data.note}</p>}
      <div class="two">
        <div><h4>Next occurrences</h4><ul id="next-occurrences">{data?.nextOccurrences.map(t => <li>{fmtTime(t)}</li>)}</ul></div>
        <div><h4>Last runs</h4><ul id="last-runs">{data?.lastRuns.map(r => (
          <li>{fmtTime(r.occurrence)} <StateBadge state={r.outcome} /> ({r.reason}) {runLink(r)}</li>
        ))}</ul></div>
      </div>
      {backfill && <form class="filters" id="backfill-form" onSubmit={e => {
        e.preventDefault();
        const [from, to] = [Date.parse(utc(range.from)), Date.parse(utc(range.to))];
        if (Number.isNaN(from) || Number.isNaN(to)) { setWrong('Give both times as ISO 8601, e.g. 2026-12-01T00:00:00Z'); return; }
        setWrong(null);
        backfill(new Date(from).toISOString(), new Date(to).toISOString());
      }}>
        <strong class="small">Backfill the occurrences between</strong>
        {input('from', 'From (UTC)')}{input('to', 'To (UTC)')}
        <button id="backfill" type="submit" disabled={!range.from.trim() || !range.to.trim()}>Backfill</button>
        {wrong && <span class="error" role="alert">{wrong}</span>}
      </form>}
    </div>
  );
}
