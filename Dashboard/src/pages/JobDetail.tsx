import { useEffect, useRef, useState } from 'preact/hooks';
import { canOperate, get, post, streamEvents, type Me } from '../api';
import { ErrorLine, Section, StateBadge, fmtTime, usePoll } from '../util';

interface JobStatus {
  id: string; state: string; handler: string; queue: string; priority: number; tenant: string; attempt: number;
  maxAttempts: number; createdAt: string; startedAt?: string; finishedAt?: string; lastError?: string; silo?: string;
  idempotencyKey?: string; deadLetterReason?: string; nextAttemptAt?: string; waitingFor?: string;
}
interface Transition { timestamp: string; state: string; attempt: number; silo?: string; reason?: string }
interface LogLine { sequence: number; timestamp: string; attempt: number; stream: string; text: string }

const final = (s?: string) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export function JobDetail({ id, me }: { id: string; me: Me }) {
  const { data: job, error, refresh } = usePoll(async s => {
    const [status, history] = await Promise.all([
      get<JobStatus>(`/jobs/${id}`, s), get<Transition[]>(`/jobs/${id}/history`, s)]);
    return { status, history };
  }, 2000, [id]);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [tail, setTail] = useState<'live' | 'ended'>('live');
  const logRef = useRef<HTMLPreElement>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [priority, setPriority] = useState('');

  useEffect(() => {
    setLines([]);
    setTail('live');
    const controller = new AbortController();
    streamEvents(`/jobs/${id}/logs/stream?after=0`, (event, data) => {
      if (event === 'log') setLines(l => [...l, JSON.parse(data) as LogLine]);
      else if (event === 'end') { setTail('ended'); refresh(); }
    }, controller.signal);
    return () => controller.abort();
  }, [id]);
  useEffect(() => { logRef.current?.scrollTo(0, logRef.current.scrollHeight); }, [lines.length]);

  const act = async (label: string, path: string, body: unknown) => {
    try {
      await post(path, body);
      setMessage(`${label}: done`);
    } catch (e) { setMessage(`${label}: ${(e as Error).message}`); }
    refresh();
  };
  const operate = canOperate(me);
  const s = job?.status;
  const why = operate ? '' : 'needs the operator role';
  return (
    <Section title={`Job ${id}`} actions={<>
      <button id="cancel-job" disabled={!operate || !s || final(s.state)} title={why}
        onClick={() => act('Cancel', `/jobs/${id}/cancel`, { reason: 'cancelled from the dashboard' })}>Cancel</button>
      <button id="retry-job" disabled={!operate || s?.state !== 'failed'} title={why}
        onClick={() => act('Retry', `/jobs/${id}/requeue`, {})}>Retry</button>
      <button id="run-now" disabled={!operate || s?.state !== 'queued'} title={why}
        onClick={() => act('Run now', `/jobs/${id}/reschedule`, { notBefore: null })}>Run now</button>
      <label class="inline">Priority <input id="priority" type="number" min={0} max={100} size={4} value={priority}
        disabled={!operate || s?.state !== 'queued'} onInput={e => setPriority((e.target as HTMLInputElement).value)} /></label>
      <button id="set-priority" disabled={!operate || s?.state !== 'queued' || priority === ''} title={why}
        onClick={() => act('Priority', `/jobs/${id}/priority`, { priority: Number(priority) })}>Set</button>
    </>}>
      <ErrorLine error={error} />
      {message && <p class="note" role="status">{message}</p>}
      {s && (
        <dl class="facts">
          <dt>State</dt><dd id="job-state"><StateBadge state={s.state} /></dd>
          <dt>Handler</dt><dd>{s.handler}</dd>
          <dt>Queue</dt><dd>{s.queue}</dd>
          <dt>Tenant</dt><dd>{s.tenant}</dd>
          <dt>Priority</dt><dd>{s.priority}</dd>
          <dt>Attempt</dt><dd>{s.attempt} of {s.maxAttempts}</dd>
          <dt>Created</dt><dd>{fmtTime(s.createdAt)}</dd>
          <dt>Started</dt><dd>{fmtTime(s.startedAt)}</dd>
          <dt>Finished</dt><dd>{fmtTime(s.finishedAt)}</dd>
          {s.nextAttemptAt && <><dt>Next attempt</dt><dd>{fmtTime(s.nextAttemptAt)}</dd></>}
          {s.silo && <><dt>Silo</dt><dd>{s.silo}</dd></>}
          {s.waitingFor && <><dt>Waiting for</dt><dd>{s.waitingFor}</dd></>}
          {s.deadLetterReason && <><dt>Dead letter</dt><dd>{s.deadLetterReason}</dd></>}
          {s.lastError && <><dt>Last error</dt><dd class="mono wrap">{s.lastError}</dd></>}
        </dl>
      )}
      <h3>History</h3>
      <ol class="timeline" id="job-history">
        {job?.history.map(t => (
          <li><time>{fmtTime(t.timestamp)}</time> <StateBadge state={t.state} /> attempt {t.attempt}
            {t.silo && <span class="muted"> on {t.silo}</span>}{t.reason && <span class="muted"> — {t.reason}</span>}</li>
        ))}
      </ol>
      <h3>Log <span class="muted small">{tail === 'live' ? '(tailing live)' : '(ended)'}</span></h3>
      <pre class="log" id="job-log" ref={logRef} tabIndex={0} aria-label="Job log">
        {lines.map(l => <span class={`log-${l.stream}`}>{`${fmtTime(l.timestamp)} #${l.attempt} ${l.text}\n`}</span>)}
        {lines.length === 0 && <span class="muted">No log lines yet.</span>}
      </pre>
    </Section>
  );
}
