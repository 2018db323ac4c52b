import { get } from '../api';
import { ErrorLine, Section, fmtTime, usePoll } from '../util';

interface PriorityDepth { priority: number; waiting: number; taken: number; oldestWaitingSince?: string | null }
interface TenantShare { tenant: string | null; weight: number; waiting: number; taken: number; share: number; oldestWaitingSince?: string | null }
interface QueueDepth {
  queue: string; shards: number; waiting: number; taken: number; byPriority: PriorityDepth[]; tenants: TenantShare[];
  shardsLoading: number; shardsUnanswered: number; oldestWaitingSince?: string | null;
}
interface QueueOverview { queues: QueueDepth[]; fairShare: boolean }

/** How long ago `since` was, as "4 s", "12 min", "3 h 5 min" (the oldest wait). */
function waitedFor(since: string | null | undefined, now: number): string {
  if (!since) return '';
  const s = Math.max(0, Math.round((now - new Date(since).getTime()) / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function Queues() {
  const { data, error } = usePoll(s => get<QueueOverview>('/queues', s), 3000, []);
  const now = Date.now();
  return (
    <>
      <ErrorLine error={error} />
      {data && <p class="muted small">
        Waiting: in a queue shard, ready to be taken (not delayed, held by a gate or breaker, or waiting for a key).
        Taken: handed to a silo, starting or running. {data.fairShare
          ? 'Tenants take turns by weight within a priority; share is a tenant\'s part of the starts while those waiting now keep waiting.'
          : 'Fair share is off: one line per priority.'}
      </p>}
      {data?.queues.map(q => (
        <Section title={`Queue ${q.queue}`}>
          <div class="tiles" data-queue={q.queue}>
            <span class="tile state-queued"><span class="tile-n" data-count="waiting">{q.waiting}</span>waiting</span>
            <span class="tile state-running"><span class="tile-n" data-count="taken">{q.taken}</span>taken</span>
            <span class="tile state-waiting"><span class="tile-n">{waitedFor(q.oldestWaitingSince, now) || '–'}</span>oldest wait</span>
            <span class="tile state-waiting"><span class="tile-n">{q.shards}</span>shards</span>
          </div>
          {q.shardsLoading > 0 && <p class="note">{q.shardsLoading} shard(s) still reading their backlog: they count fewer jobs than wait.</p>}
          {q.shardsUnanswered > 0 && <p class="error">{q.shardsUnanswered} shard(s) did not answer in time: their jobs are missing.</p>}
          <div class="two">
            <div>
              <h3>By priority</h3>
              <table class="grid" data-table="priorities">
                <thead><tr><th>Priority</th><th class="num">Waiting</th><th class="num">Taken</th><th>Oldest wait</th></tr></thead>
                <tbody>
                  {q.byPriority.map(p => (
                    <tr><td class="num">{p.priority}</td><td class="num">{p.waiting}</td><td class="num">{p.taken}</td>
                      <td title={fmtTime(p.oldestWaitingSince)}>{waitedFor(p.oldestWaitingSince, now)}</td></tr>
                  ))}
                  {q.byPriority.length === 0 && <tr><td colSpan={4} class="empty">Empty.</td></tr>}
                </tbody>
              </table>
            </div>
            <div>
              <h3>By tenant</h3>
              <table class="grid" data-table="tenants">
                <thead><tr><th>Tenant</th><th class="num">Weight</th><th class="num">Waiting</th><th class="num">Taken</th><th class="num">Share</th><th>Oldest wait</th></tr></thead>
                <tbody>
                  {q.tenants.map(t => (
                    <tr data-tenant={t.tenant ?? ''}>
                      <td>{t.tenant ?? <span class="muted">other tenants</span>}</td>
                      <td class="num">{t.tenant === null ? '' : t.weight}</td><td class="num">{t.waiting}</td><td class="num">{t.taken}</td>
                      <td class="num">{t.share > 0 ? pct(t.share) : ''}</td>
                      <td title={fmtTime(t.oldestWaitingSince)}>{waitedFor(t.oldestWaitingSince, now)}</td>
                    </tr>
                  ))}
                  {q.tenants.length === 0 && <tr><td colSpan={6} class="empty">No tenant has jobs here.</td></tr>}
                </tbody>
              </table>
            </div>
          </div>
        </Section>
      ))}
    </>
  );
}
