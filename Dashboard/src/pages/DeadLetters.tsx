import { useState } from 'preact/hooks';
import { canOperate, get, post, query, type Me } from '../api';
import { ErrorLine, Section, fmtTime, usePoll, useSelection } from '../util';

interface DeadLetter {
  id: string; reason: string; lastError?: string; handler: string; queue: string; tenant: string; priority: number;
  attempt: number; createdAt: string; failedAt: string;
}
interface Result { id: string; outcome: string }

export function DeadLetters({ me }: { me: Me }) {
  const [filters, setFilters] = useState({ queue: '', tenant: '', handler: '' });
  const [applied, setApplied] = useState(filters);
  const { data, error, refresh } = usePoll(s => get<DeadLetter[]>('/deadletters' + query({ ...applied, limit: 200 }), s), 5000, [JSON.stringify(applied)]);
  const selection = useSelection();
  const [open, setOpen] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const operate = canOperate(me);
  const items = data ?? [];
  const bulk = async (label: string, path: string) => {
    const ids = [...selection.selected];
    if (label === 'Purge' && !confirm(`Purge ${ids.length} dead letters for good?`)) return;
    try {
      const results = await post<Result[]>(path, { ids });
      const counts: Record<string, number> = {};
      for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
      setMessage(`${label}: ` + Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', '));
    } catch (e) { setMessage(`${label}: ${(e as Error).message}`); }
    selection.clear();
    refresh();
  };
  const why = operate ? '' : 'needs the operator role';
  return (
    <Section title="Dead letters" actions={<>
      <button id="requeue-selected" disabled={!operate || selection.selected.size === 0} title={why}
        onClick={() => bulk('Requeue', '/deadletters/requeue')}>Requeue selected</button>
      <button id="purge-selected" disabled={!operate || selection.selected.size === 0} title={why}
        onClick={() => bulk('Purge', '/deadletters/purge')}>Purge selected</button>
    </>}>
      <form class="filters" onSubmit={e => { e.preventDefault(); selection.clear(); setApplied(filters); }}>
        {(['queue', 'tenant', 'handler'] as const).map(n => (
          <label>{n[0].toUpperCase() + n.slice(1)} <input value={filters[n]} size={12}
            onInput={e => setFilters({ ...filters, [n]: (e.target as HTMLInputElement).value })} /></label>
        ))}
        <button type="submit">Filter</button>
      </form>
      <ErrorLine error={error} />
      {message && <p class="note" role="status" id="deadletters-message">{message}</p>}
      <table class="grid" id="deadletters-table">
        <thead><tr>
          <th><input type="checkbox" aria-label="Select all" disabled={!operate}
            checked={items.length > 0 && items.every(d => selection.selected.has(d.id))}
            onChange={e => selection.setAll(items.map(d => d.id), (e.target as HTMLInputElement).checked)} /></th>
          <th>Job</th><th>Reason</th><th>Handler</th><th>Queue</th><th>Tenant</th><th>Attempts</th><th>Failed</th><th>Last error</th>
        </tr></thead>
        <tbody>
          {items.map(d => (
            <tr key={d.id} data-job={d.id}>
              <td><input type="checkbox" aria-label={`Select ${d.id}`} disabled={!operate}
                checked={selection.selected.has(d.id)} onChange={() => selection.toggle(d.id)} /></td>
              <td><a class="mono" href={`#/jobs/${d.id}`}>{d.id}</a></td>
              <td>{d.reason}</td><td>{d.handler}</td><td>{d.queue}</td><td>{d.tenant}</td><td class="num">{d.attempt}</td>
              <td>{fmtTime(d.failedAt)}</td>
              <td class="error-cell">
                <button class="link" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? null : d.id)}>
                  {(d.lastError ?? '').split('\n')[0].slice(0, 60) || '(none)'}</button>
                {open === d.id && <pre class="wrap">{d.lastError}</pre>}
              </td>
            </tr>
          ))}
          {data && items.length === 0 && <tr><td colSpan={9} class="empty">No dead letters.</td></tr>}
        </tbody>
      </table>
    </Section>
  );
}
