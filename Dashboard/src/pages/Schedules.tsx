import { useState } from 'preact/hooks';
import { canOperate, get, post, query, type Me } from '../api';
import { ErrorLine, Section, fmtTime, usePoll } from '../util';

interface Trigger { cron?: string | null; timeZone?: string; interval?: string | null }
interface Run { occurrence: string; runId: string; isWorkflow: boolean; outcome: string; reason: string; firedAt: string }
interface Summary { id: string; trigger: Trigger; paused: boolean; runCount: number; lastRun?: Run | null; isWorkflow: boolean; ended: boolean }
interface Status { nextOccurrences: string[]; lastRuns: Run[]; note?: string }
interface Page<T> { items: T[]; nextCursor: string | null }

const describe = (t: Trigger) => t.cron ? `cron ${t.cron} (${t.timeZone ?? 'UTC'})` : t.interval ? `every ${t.interval}` : '';

export function Schedules({ me }: { me: Me }) {
  const [after, setAfter] = useState<(string | null)[]>([null]);
  const { data, error, refresh } = usePoll(s => get<Page<Summary>>('/schedules' + query({ after: after[after.length - 1], limit: 50 }), s), 10000, [after.length]);
  const [open, setOpen] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const operate = canOperate(me);
  const act = async (label: string, path: string) => {
    try { await post(path, label === 'Trigger' ? undefined : {}); setMessage(`${label}: done`); }
    catch (e) { setMessage(`${label}: ${(e as Error).message}`); }
    refresh();
  };
  const why = operate ? '' : 'needs the operator role';
  return (
    <Section title="Schedules">
      <ErrorLine error={error} />
      {message && <p class="note" role="status">{message}</p>}
      <table class="grid">
        <thead><tr><th>Schedule</th><th>Trigger</th><th>Runs</th><th>Last run</th><th>State</th><th>Actions</th></tr></thead>
        <tbody>
          {data?.items.map(s => (
            <>
              <tr>
                <td><button class="link" aria-expanded={open === s.id} onClick={() => setOpen(open === s.id ? null : s.id)}>{s.id}</button></td>
                <td class="mono">{describe(s.trigger)}</td><td class="num">{s.runCount}</td>
                <td>{s.lastRun ? `${fmtTime(s.lastRun.occurrence)} ${s.lastRun.outcome}` : ''}</td>
                <td>{s.ended ? 'ended' : s.paused ? 'paused' : 'active'}</td>
                <td class="row-actions">
                  <button disabled={!operate || s.paused || s.ended} title={why} onClick={() => act('Pause', `/schedules/${encodeURIComponent(s.id)}/pause`)}>Pause</button>
                  <button disabled={!operate || !s.paused} title={why} onClick={() => act('Resume', `/schedules/${encodeURIComponent(s.id)}/resume`)}>Resume</button>
                  <button disabled={!operate} title={why} onClick={() => act('Trigger', `/schedules/${encodeURIComponent(s.id)}/trigger`)}>Trigger</button>
                </td>
              </tr>
              {open === s.id && <tr><td colSpan={6}><ScheduleDetail id={s.id} /></td></tr>}
            </>
          ))}
          {data && data.items.length === 0 && <tr><td colSpan={6} class="empty">No schedules.</td></tr>}
        </tbody>
      </table>
      <div class="pager">
        <button disabled={after.length === 1} onClick={() => setAfter(a => a.slice(0, -1))}>Previous</button>
        <button disabled={!data?.nextCursor} onClick={() => setAfter(a => [...a, data!.nextCursor])}>Next</button>
      </div>
    </Section>
  );
}

function ScheduleDetail({ id }: { id: string }) {
  const { data, error } = usePoll(s => get<Status>(`/schedules/${encodeURIComponent(id)}?next=5`, s), 10000, [id]);
  return (
    <div class="detail">
      <ErrorLine error={error} />
      {data?.note && <p>Note: {data.note}</p>}
      <div class="two">
        <div><h4>Next occurrences</h4><ul>{data?.nextOccurrences.map(t => <li>{fmtTime(t)}</li>)}</ul></div>
        <div><h4>Last runs</h4><ul>{data?.lastRuns.map(r => (
          <li>{fmtTime(r.occurrence)} {r.outcome} ({r.reason}) {r.isWorkflow
            ? <a href={`#/workflows/${r.runId}`}>workflow</a> : <a href={`#/jobs/${r.runId}`}>job</a>}</li>
        ))}</ul></div>
      </div>
    </div>
  );
}
