import { useEffect, useState } from 'preact/hooks';
import { canOperate, get, post, query, type Me } from '../api';
import { ErrorLine, Section, StateBadge, fmtTime, usePoll, useSelection } from '../util';

export interface JobSummary {
  id: string; state: string; handler: string; queue: string; priority: number; tenant: string; attempt: number;
  createdAt: string; updatedAt: string; nextAttemptAt?: string | null;
}
interface Page<T> { items: T[]; nextCursor: string | null }

const states = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];
const filterNames = ['state', 'queue', 'tenant', 'handler', 'createdAfter', 'createdBefore', 'q'] as const;

export function Jobs({ me, params }: { me: Me; params: URLSearchParams }) {
  const filters = Object.fromEntries(filterNames.map(n => [n, params.get(n) ?? ''])) as Record<string, string>;
  const [draft, setDraft] = useState(filters);
  // Cursors of the pages before this one, so "Previous" can go back without the API paging backwards.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const key = JSON.stringify(filters);
  useEffect(() => { setCursors([null]); setDraft(filters); }, [key]);
  const { data, error, refresh } = usePoll(
    s => get<Page<JobSummary>>('/jobs' + query({ ...filters, limit: 50, cursor }), s), 5000, [key, cursor]);
  const selection = useSelection();
  const [message, setMessage] = useState<string | null>(null);
  const [priority, setPriority] = useState('');
  const operate = canOperate(me);

  const apply = (e: Event) => {
    e.preventDefault();
    setCursors([null]);
    selection.clear();
    location.hash = '#/jobs' + query(draft);
  };
  const bulk = async (label: string, run: (id: string) => Promise<unknown>) => {
    const ids = [...selection.selected];
    const results = await Promise.allSettled(ids.map(run));
    const failed = results.filter(r => r.status === 'rejected') as PromiseRejectedResult[];
    setMessage(`${label}: ${ids.length - failed.length} of ${ids.length} done` +
      (failed.length ? ` (${failed[0].reason.message})` : ''));
    selection.clear();
    refresh();
  };
  const items = error ? [] : data?.items ?? [];
  return (
    <Section title="Jobs" actions={<>
      <button disabled={!operate || selection.selected.size === 0} title={operate ? '' : 'needs the operator role'}
        onClick={() => bulk('Cancel', id => post(`/jobs/${id}/cancel`, { reason: 'cancelled from the dashboard' }))}>
        Cancel selected</button>
      <button disabled={!operate || selection.selected.size === 0} title={operate ? '' : 'needs the operator role'}
        onClick={() => bulk('Requeue', id => post(`/jobs/${id}/requeue`, {}))}>Requeue selected</button>
      <button disabled={!operate || selection.selected.size === 0} title={operate ? '' : 'needs the operator role'}
        onClick={() => bulk('Run now', id => post(`/jobs/${id}/reschedule`, { notBefore: null }))}>Run selected now</button>
      <label class="inline">Priority <input type="number" min={0} max={100} value={priority} size={4} disabled={!operate}
        onInput={e => setPriority((e.target as HTMLInputElement).value)} /></label>
      <button disabled={!operate || selection.selected.size === 0 || priority === ''} title={operate ? 'queued jobs only' : 'needs the operator role'}
        onClick={() => bulk('Priority', id => post(`/jobs/${id}/priority`, { priority: Number(priority) }))}>Set priority</button>
    </>}>
      <form class="filters" onSubmit={apply} aria-label="Filter jobs">
        <label>State <select value={draft.state} onChange={e => setDraft({ ...draft, state: (e.target as HTMLSelectElement).value })}>
          {states.map(s => <option value={s}>{s || 'any'}</option>)}</select></label>
        {(['queue', 'tenant', 'handler'] as const).map(n => (
          <label>{n[0].toUpperCase() + n.slice(1)} <input name={n} value={draft[n]} size={12}
            onInput={e => setDraft({ ...draft, [n]: (e.target as HTMLInputElement).value })} /></label>
        ))}
        {/* Times are UTC, as the table shows them; the server parses them and says what it cannot read. */}
        <label>Submitted from <input id="jobs-from" value={draft.createdAfter} size={17} placeholder="2026-12-07 10:00Z"
          onInput={e => setDraft({ ...draft, createdAfter: (e.target as HTMLInputElement).value })} /></label>
        <label>to <input id="jobs-to" value={draft.createdBefore} size={17} placeholder="UTC"
          onInput={e => setDraft({ ...draft, createdBefore: (e.target as HTMLInputElement).value })} /></label>
        <label>Search <input id="jobs-q" type="search" value={draft.q} size={18} placeholder="id, handler or tenant prefix"
          onInput={e => setDraft({ ...draft, q: (e.target as HTMLInputElement).value })} /></label>
        <button type="submit" id="jobs-filter">Filter</button>
      </form>
      <ErrorLine error={error} />
      {message && <p class="note" role="status">{message}</p>}
      <table class="grid" id="jobs-table">
        <thead><tr>
          <th><input type="checkbox" aria-label="Select all" disabled={!operate}
            checked={items.length > 0 && items.every(j => selection.selected.has(j.id))}
            onChange={e => selection.setAll(items.map(j => j.id), (e.target as HTMLInputElement).checked)} /></th>
          <th>Job</th><th>State</th><th>Handler</th><th>Queue</th><th>Tenant</th><th>Priority</th><th>Attempt</th>
          <th>Created</th><th>Updated</th>
        </tr></thead>
        <tbody>
          {items.map(j => (
            <tr key={j.id} data-job={j.id}>
              <td><input type="checkbox" aria-label={`Select ${j.id}`} disabled={!operate}
                checked={selection.selected.has(j.id)} onChange={() => selection.toggle(j.id)} /></td>
              <td><a href={`#/jobs/${j.id}`} class="mono">{j.id}</a></td>
              <td><StateBadge state={j.state} /></td>
              <td>{j.handler}</td><td>{j.queue}</td><td>{j.tenant}</td><td class="num">{j.priority}</td>
              <td class="num">{j.attempt}</td><td>{fmtTime(j.createdAt)}</td><td>{fmtTime(j.updatedAt)}</td>
            </tr>
          ))}
          {data && !error && items.length === 0 && <tr><td colSpan={10} class="empty">No jobs match.</td></tr>}
        </tbody>
      </table>
      <div class="pager">
        <button disabled={cursors.length === 1} onClick={() => setCursors(c => c.slice(0, -1))}>Previous</button>
        <button disabled={!data?.nextCursor} onClick={() => setCursors(c => [...c, data!.nextCursor])}>Next</button>
      </div>
    </Section>
  );
}
