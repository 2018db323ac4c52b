import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  coordGreedy, decrossDfs, graphStratify, layeringLongestPath, sugiyama, twolayerAgg, type SugiNode,
} from 'd3-dag';
import { canOperate, get, post, prefix, query, type Me } from '../api';
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

const nodeWidth = 150, nodeHeight = 36, graphMargin = 8;
interface Point { x: number; y: number }
interface Box { left: number; top: number; right: number; bottom: number }
interface Layout { width: number; height: number; nodes: Map<string, Point>; edges: { from: string; to: string; points: Point[]; box: Box }[] }

// Past this many jobs the layout trades some crossings for time: longest-path layers, a depth-first order and one
// sweep down and up ordering each layer by its neighbours' mean position, and greedy coordinates, instead of
// d3-dag's optimising defaults (linear programs that grow fast with the graph). Its own two-layer decrossing counts
// all crossings after every sweep, which took four fifths of the layout's time on 1,000 jobs for few fewer crossings.
const quickLayoutFrom = 200;
const meanOrder = twolayerAgg();
function quickDecross(layers: SugiNode[][]) {
  decrossDfs()(layers);
  for (let i = 1; i < layers.length; i++) meanOrder(layers[i - 1], layers[i], true);
  for (let i = layers.length - 2; i >= 0; i--) meanOrder(layers[i + 1], layers[i], false);
}

/**
 * Lays the graph out left to right with d3-dag's layered (Sugiyama) layout; only the structure matters, so it is
 * redone only when that changes, never for a state update.
 */
function layout(jobs: WorkflowJob[]): Layout {
  const names = new Set(jobs.map(j => j.name));
  const dag = graphStratify()(jobs.map(j => ({ id: j.name, parentIds: j.dependsOn.filter(d => names.has(d)) })));
  // d3-dag lays out top to bottom: a node is nodeHeight across its layer there, and x and y swap below.
  const base = sugiyama().nodeSize([nodeHeight, nodeWidth]).gap([12, 48]);
  const size = jobs.length >= quickLayoutFrom
    ? base.layering(layeringLongestPath()).decross(quickDecross).coord(coordGreedy())(dag)
    : base(dag);
  const at = (x: number, y: number): Point => ({ x: y + graphMargin, y: x + graphMargin });
  const nodes = new Map<string, Point>();
  for (const n of dag.nodes()) nodes.set(n.data.id, at(n.x, n.y));
  const edges = [...dag.links()].map(l => {
    const from = nodes.get(l.source.data.id)!, to = nodes.get(l.target.data.id)!;
    // From the source's right side to the target's left, through the points d3-dag keeps for layers it crosses.
    const points = [{ x: from.x + nodeWidth / 2, y: from.y }, ...l.points.slice(1, -1).map(([x, y]) => at(x, y)),
      { x: to.x - nodeWidth / 2, y: to.y }];
    const xs = points.map(p => p.x), ys = points.map(p => p.y);
    const box = { left: Math.min(...xs), top: Math.min(...ys), right: Math.max(...xs), bottom: Math.max(...ys) };
    return { from: l.source.data.id, to: l.target.data.id, points, box };
  });
  return { width: size.height + 2 * graphMargin, height: size.width + 2 * graphMargin, nodes, edges };
}

/** An edge as curves leaving and entering each point level, ending in a small open arrow head pointing right. */
function edgePath(points: Point[]): string {
  const f = (p: Point) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`;
  let d = 'M' + f(points[0]);
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1], b = points[i], mx = ((a.x + b.x) / 2).toFixed(1);
    d += ` C${mx},${a.y.toFixed(1)} ${mx},${b.y.toFixed(1)} ${f(b)}`;
  }
  const b = points[points.length - 1];
  return d + ` M${f({ x: b.x - 5.4, y: b.y - 2.6 })} L${f(b)} L${f({ x: b.x - 5.4, y: b.y + 2.6 })}`;
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
  // Where the time to a drawn graph goes, read by the browser test and docs/dashboard.md's figures: from the page's
  // navigation (performance.now()'s origin) to the status request, the request itself, from its answer to the
  // status in hand (parsing the JSON), the layout, and drawing up to the first task after the painted frame.
  useEffect(() => {
    if (!graph) return;
    // A frame callback runs before that frame's style, layout and paint; a task queued from it runs after them.
    requestAnimationFrame(() => setTimeout(() => {
      const end = performance.now();
      const svg = document.getElementById('workflow-graph');
      if (!svg) return;
      const request = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter(e => e.name.endsWith(`${prefix}/workflows/${id}`) && e.responseEnd <= graph.started).pop();
      // Also Performance API measures, so a profile or performance.getEntriesByName shows them.
      performance.measure('workflow-graph-render', { start: graph.started, end });
      performance.measure('workflow-graph-layout', { start: graph.started, duration: graph.layoutMs });
      const times: Record<string, number> = { 'render-ms': end - graph.started, 'layout-ms': graph.layoutMs, 'total-ms': end };
      if (request) {
        performance.measure('workflow-status-fetch', { start: request.startTime, end: request.responseEnd });
        Object.assign(times, {
          'request-ms': request.startTime, 'fetch-ms': request.responseEnd - request.startTime,
          'parse-ms': graph.started - request.responseEnd, 'status-bytes': request.encodedBodySize,
        });
      }
      for (const [k, v] of Object.entries(times)) svg.setAttribute('data-' + k, v.toFixed(k === 'status-bytes' ? 0 : 1));
    }, 0));
  }, [graph]);
  const small = (w?.jobs.length ?? 0) < quickLayoutFrom;
  // A large graph draws only the nodes and edges in and near the scrolled view: most are off screen, and drawing
  // every edge took twice as long as drawing those near the view in the browser test.
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
  const margin = 300;
  const near = (b: Box) => small || (b.right >= view.left - margin && b.left <= view.left + view.width + margin
    && b.bottom >= view.top - margin && b.top <= view.top + view.height + margin);
  const inView = (p: Point) => near({ left: p.x - nodeWidth / 2, top: p.y - nodeHeight / 2, right: p.x + nodeWidth / 2, bottom: p.y + nodeHeight / 2 });
  // The edges as two paths (from failed jobs, and the rest), rebuilt only when the structure, the failed set or the view changes.
  const failedKey = w ? w.jobs.filter(j => j.state === 'failed').map(j => j.name).join('\n') : '';
  const edgePaths = useMemo(() => {
    if (!graph) return ['', ''];
    const failed = new Set(failedKey ? failedKey.split('\n') : []);
    const shown = graph.layout.edges.filter(e => near(e.box));
    return [false, true].map(f => shown.filter(e => failed.has(e.from) === f).map(e => edgePath(e.points)).join(' '));
  }, [graph, failedKey, view]);

  const act = async (label: string, path: string) => {
    try { await post(path, label === 'Cancel' ? { reason: 'cancelled from the dashboard' } : undefined); setMessage(`${label}: done`); setFinal(false); }
    catch (e) { setMessage(`${label}: ${(e as Error).message}`); }
    refresh();
  };
  const operate = canOperate(me);
  const why = operate ? '' : 'needs the operator role';
  const running = w && !['succeeded', 'failed', 'cancelled'].includes(w.state);
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
            {/* The edges in two paths (from failed jobs, and the rest): a 1,000-job graph has ~2,000 edges. */}
            {[false, true].map(failed => (
              <path class={`edge ${failed ? 'edge-failed' : ''}`} stroke-dasharray={policyDash[w.failurePolicy]} d={edgePaths[+failed]} />
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
