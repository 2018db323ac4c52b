import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import dagre from '@dagrejs/dagre';
import { canOperate, get, post, query, type Me } from '../api';
import { ErrorLine, Section, StateBadge, fmtTime, usePoll } from '../util';

interface WorkflowJob {
  name: string; state: string; jobId?: string | null; run: number; attempt: number; dependsOn: string[];
  startedAt?: string; finishedAt?: string; lastError?: string;
}
interface WorkflowStatus {
  id: string; name?: string; state: string; tenant: string; priority: number; failurePolicy: string;
  createdAt: string; startedAt?: string; finishedAt?: string; reason?: string; counts: Record<string, number>;
  jobs: WorkflowJob[];
}

interface WorkflowSummary {
  id: string; name?: string | null; state: string; tenant: string; priority: number; createdAt: string;
  finishedAt?: string | null; jobs: number; counts: Record<string, number>;
}
interface Page<T> { items: T[]; nextCursor: string | null }

const workflowStates = ['', 'running', 'paused', 'succeeded', 'failed', 'cancelled'];
const workflowFilters = ['state', 'name', 'tenant'] as const;
const pageSize = (params: URLSearchParams) => Number(params.get('limit')) || 50;

/** The workflows newest first, a page at a time (50, or the address's limit) from GET /workflows, filtered on the server. */
export function Workflows({ params }: { params: URLSearchParams }) {
  const [id, setId] = useState('');
  const filters = Object.fromEntries(workflowFilters.map(n => [n, params.get(n) ?? ''])) as Record<string, string>;
  const [draft, setDraft] = useState(filters);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const key = JSON.stringify(filters);
  useEffect(() => { setCursors([null]); setDraft(filters); }, [key]);
  const { data, error } = usePoll(
    s => get<Page<WorkflowSummary>>('/workflows' + query({ ...filters, limit: pageSize(params), cursor }), s), 5000, [key, cursor]);
  const items = data?.items ?? [];
  return (
    <Section title="Workflows">
      <form class="filters" onSubmit={e => { e.preventDefault(); location.hash = '#/workflows' + query({ ...draft, limit: params.get('limit') }); }} aria-label="Filter workflows">
        <label>State <select id="workflow-state" value={draft.state}
          onChange={e => setDraft({ ...draft, state: (e.target as HTMLSelectElement).value })}>
          {workflowStates.map(s => <option value={s}>{s || 'any'}</option>)}</select></label>
        <label>Name <input id="workflow-name" value={draft.name} size={16} placeholder="contains"
          onInput={e => setDraft({ ...draft, name: (e.target as HTMLInputElement).value })} /></label>
        <label>Tenant <input id="workflow-tenant" value={draft.tenant} size={12}
          onInput={e => setDraft({ ...draft, tenant: (e.target as HTMLInputElement).value })} /></label>
        <button type="submit" id="workflow-filter">Filter</button>
      </form>
      <form class="filters" onSubmit={e => { e.preventDefault(); location.hash = `#/workflows/${id.trim()}`; }}>
        <label>Workflow id <input id="workflow-id" value={id} size={40}
          onInput={e => setId((e.target as HTMLInputElement).value)} /></label>
        <button type="submit" disabled={!/^[0-9a-f-]{32,36}$/i.test(id.trim())}>Open</button>
      </form>
      <ErrorLine error={error} />
      <table class="grid" id="workflows-table">
        <thead><tr><th>Workflow</th><th>Name</th><th>State</th><th>Tenant</th><th>Jobs</th><th>Progress</th><th>Created</th><th>Finished</th></tr></thead>
        <tbody>
          {items.map(w => (
            <tr key={w.id} data-workflow={w.id}>
              <td><a class="mono" href={`#/workflows/${w.id}`}>{w.id}</a></td><td>{w.name}</td>
              <td><StateBadge state={w.state} /></td><td>{w.tenant}</td><td class="num">{w.jobs}</td>
              <td class="small">{Object.entries(w.counts).map(([k, v]) => `${k} ${v}`).join(' · ')}</td>
              <td>{fmtTime(w.createdAt)}</td><td>{fmtTime(w.finishedAt)}</td>
            </tr>
          ))}
          {data && items.length === 0 && <tr><td colSpan={8} class="empty">No workflows match{data.nextCursor ? ' on this page: look further with Next' : ''}.</td></tr>}
        </tbody>
      </table>
      <div class="pager">
        <button disabled={cursors.length === 1} onClick={() => setCursors(c => c.slice(0, -1))}>Previous</button>
        <button id="workflows-next" disabled={!data?.nextCursor} onClick={() => setCursors(c => [...c, data!.nextCursor])}>Next</button>
      </div>
    </Section>
  );
}

const nodeWidth = 150, nodeHeight = 36;
interface Layout { width: number; height: number; nodes: Map<string, { x: number; y: number }>; edges: { from: string; to: string; points: { x: number; y: number }[] }[] }

/** Lays the graph out with dagre, left to right; only the structure matters, so it is redone only when that changes. */
// Past this many jobs the layout trades some crossings for time: dagre's network-simplex ranking and its crossing
// heuristic took 20 to 35 s for 1,000 jobs in Chromium on the shared test host, longest-path ranking without them ~2 s.
const quickLayoutFrom = 200;

function layout(jobs: WorkflowJob[]): Layout {
  const quick = jobs.length >= quickLayoutFrom;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 12, ranksep: 48, marginx: 8, marginy: 8, ranker: quick ? 'longest-path' : 'network-simplex' });
  g.setDefaultEdgeLabel(() => ({}));
  for (const j of jobs) g.setNode(j.name, { width: nodeWidth, height: nodeHeight });
  for (const j of jobs) for (const d of j.dependsOn) if (g.hasNode(d)) g.setEdge(d, j.name);
  dagre.layout(g, { disableOptimalOrderHeuristic: quick });
  const nodes = new Map<string, { x: number; y: number }>();
  for (const n of g.nodes()) { const v = g.node(n); nodes.set(n, { x: v.x, y: v.y }); }
  const edges = g.edges().map(e => ({ from: e.v, to: e.w, points: g.edge(e).points ?? [] }));
  const graph = g.graph();
  return { width: graph.width ?? 0, height: graph.height ?? 0, nodes, edges };
}

/** A small open arrow head at the end of an edge, drawn as part of the edge's path. */
function arrowHead(points: { x: number; y: number }[]): string {
  if (points.length < 2) return '';
  const a = points[points.length - 2], b = points[points.length - 1];
  const angle = Math.atan2(b.y - a.y, b.x - a.x), size = 6, spread = 0.45;
  const p = (d: number) => `${(b.x - size * Math.cos(angle + d)).toFixed(1)},${(b.y - size * Math.sin(angle + d)).toFixed(1)}`;
  return ` M${p(spread)} L${b.x.toFixed(1)},${b.y.toFixed(1)} L${p(-spread)}`;
}

const policyDash: Record<string, string | undefined> = { failWorkflow: undefined, skipDescendants: '6 4', runAnyway: '2 4' };
const policyText: Record<string, string> = {
  failWorkflow: 'a failure fails the workflow', skipDescendants: 'a failure skips what depends on it',
  runAnyway: 'dependants run even after a failure',
};

export function WorkflowGraphPage({ id, me }: { id: string; me: Me }) {
  const [final, setFinal] = useState(false);
  const { data: w, error, refresh } = usePoll(s => get<WorkflowStatus>(`/workflows/${id}`, s), final ? 0 : 1000, [id, final]);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => { if (w) setFinal(['succeeded', 'failed', 'cancelled'].includes(w.state)); }, [w?.state]);
  const structure = w ? w.jobs.map(j => j.name + '<' + j.dependsOn.join(',')).join(';') : '';
  const graph = useMemo(() => {
    if (!w) return null;
    const started = performance.now();
    const l = layout(w.jobs);
    return { layout: l, layoutMs: performance.now() - started, started };
  }, [structure]);
  // How long from having the status to the graph painted: read by the browser test and docs/dashboard.md's figure.
  useEffect(() => {
    if (!graph) return;
    // A frame callback runs before that frame's style, layout and paint; a task queued from it runs after them.
    requestAnimationFrame(() => setTimeout(() => {
      const end = performance.now();
      const svg = document.getElementById('workflow-graph');
      // Also a Performance API measure, so a profile or performance.getEntriesByName shows it.
      performance.measure('workflow-graph-render', { start: graph.started, end });
      svg?.setAttribute('data-render-ms', (end - graph.started).toFixed(1));
      svg?.setAttribute('data-layout-ms', graph.layoutMs.toFixed(1));
    }, 0));
  }, [graph]);

  const act = async (label: string, path: string) => {
    try { await post(path, label === 'Cancel' ? { reason: 'cancelled from the dashboard' } : undefined); setMessage(`${label}: done`); setFinal(false); }
    catch (e) { setMessage(`${label}: ${(e as Error).message}`); }
    refresh();
  };
  const operate = canOperate(me);
  const why = operate ? '' : 'needs the operator role';
  const running = w && !['succeeded', 'failed', 'cancelled'].includes(w.state);
  const byName = new Map(w?.jobs.map(j => [j.name, j]));
  const small = (w?.jobs.length ?? 0) < quickLayoutFrom;
  // A large graph draws only the nodes in and near the scrolled view (all edges stay, as two paths): painting all
  // 1,000 nodes took about as long as dagre's layout in the browser test, and most are off screen.
  const wrap = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ left: 0, top: 0, width: window.innerWidth, height: window.innerHeight });
  const frame = useRef(0);
  const onScroll = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = wrap.current;
      if (el) setView({ left: el.scrollLeft, top: el.scrollTop, width: el.clientWidth, height: el.clientHeight });
    });
  };
  const margin = 400;
  const inView = (p: { x: number; y: number }) => small || (
    p.x + nodeWidth / 2 >= view.left - margin && p.x - nodeWidth / 2 <= view.left + view.width + margin
    && p.y + nodeHeight / 2 >= view.top - margin && p.y - nodeHeight / 2 <= view.top + view.height + margin);
  return (
    <Section title={`Workflow ${w?.name ?? ''}`} actions={<>
      <button disabled={!operate || w?.state !== 'running'} title={why} onClick={() => act('Pause', `/workflows/${id}/pause`)}>Pause</button>
      <button disabled={!operate || w?.state !== 'paused'} title={why} onClick={() => act('Resume', `/workflows/${id}/resume`)}>Resume</button>
      <button disabled={!operate || !running} title={why} onClick={() => act('Cancel', `/workflows/${id}/cancel`)}>Cancel</button>
      <button disabled={!operate || !w || !w.jobs.some(j => j.state === 'failed')} title={why}
        onClick={() => act('Rerun failed', `/workflows/${id}/rerun-failed`)}>Rerun failed</button>
    </>}>
      <ErrorLine error={error} />
      {message && <p class="note" role="status">{message}</p>}
      {w && (
        <p class="summary"><span class="mono">{w.id}</span> <StateBadge state={w.state} /> {w.jobs.length} jobs
          {Object.entries(w.counts).map(([k, v]) => <span class="count"> · {k} {v}</span>)}
          <span class="muted"> · edges: {policyText[w.failurePolicy] ?? w.failurePolicy}</span>
          {w.reason && <span class="muted"> · {w.reason}</span>}</p>
      )}
      {w && graph && (
        <div class="graph-wrap" ref={wrap} onScroll={small ? undefined : onScroll}>
          <svg id="workflow-graph" width={graph.layout.width} height={graph.layout.height} role="group"
            aria-label={`Graph of ${w.jobs.length} jobs${small ? '' : ', drawn as it scrolls into view'}`} data-nodes={w.jobs.length}>
            {/* All edges in two paths (from failed jobs, and the rest): a 1,000-job graph has ~2,000 edges. */}
            {[false, true].map(failed => (
              <path class={`edge ${failed ? 'edge-failed' : ''}`} stroke-dasharray={policyDash[w.failurePolicy]}
                d={graph.layout.edges.filter(e => (byName.get(e.from)?.state === 'failed') === failed)
                  .map(e => 'M' + e.points.map(p => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' L') + arrowHead(e.points)).join(' ')} />
            ))}
            {w.jobs.filter(j => inView(graph.layout.nodes.get(j.name)!)).map(j => {
              const p = graph.layout.nodes.get(j.name)!;
              const box = (
                <g class={`node state-${j.state}`} data-name={j.name} data-state={j.state}
                  transform={`translate(${p.x - nodeWidth / 2},${p.y - nodeHeight / 2})`}>
                  {small && <title>{`${j.name}: ${j.state}${j.attempt ? `, attempt ${j.attempt}` : ''}${j.lastError ? `\n${j.lastError}` : ''}`}</title>}
                  <rect width={nodeWidth} height={nodeHeight} rx="5" />
                  <text x="8" y="15" class="node-name">{j.name.length > 20 ? j.name.slice(0, 19) + '…' : j.name}</text>
                  <text x="8" y="29" class="node-state">{j.state}</text>
                </g>
              );
              return j.jobId ? <a href={`#/jobs/${j.jobId}`} aria-label={`${j.name}: ${j.state}`}>{box}</a> : box;
            })}
          </svg>
        </div>
      )}
    </Section>
  );
}
