import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError, get } from '../api';
import { ErrorLine, Section, usePoll } from '../util';

interface Stats { byState: Record<string, number> }
interface Sample { t: number; queued: number; running: number; succeeded: number; failed: number; cancelled: number }

// Samples of GET /stats, kept while the tab lives (also across page changes): the API keeps no history itself, so the
// charts start when the dashboard is opened. Throughput and failures are the change between two samples.
const samples: Sample[] = [];
const maxSamples = 900; // 30 minutes at one every 2 s
const intervalMs = 2000;
let sampler: number | undefined;
const listeners = new Set<(error: string | null) => void>();

async function sample() {
  try {
    const s = await get<Stats>('/stats');
    const n = (k: string) => s.byState[k] ?? 0;
    samples.push({ t: Date.now() / 1000, queued: n('queued'), running: n('running'), succeeded: n('succeeded'), failed: n('failed'), cancelled: n('cancelled') });
    if (samples.length > maxSamples) samples.shift();
    listeners.forEach(l => l(null));
  } catch (e) {
    listeners.forEach(l => l(e instanceof ApiError && e.status === 403
      ? 'The overview spans tenants: this key is scoped to one tenant.' : (e as Error).message));
  }
}
function startSampling() {
  if (sampler === undefined) { sample(); sampler = window.setInterval(sample, intervalMs); }
}

function rate(key: 'succeeded' | 'failed'): (number | null)[] {
  return samples.map((s, i) => i === 0 ? null : Math.max(0, (s[key] - samples[i - 1][key]) / (s.t - samples[i - 1].t)));
}

function Chart({ title, series, data }: { title: string; series: { label: string; stroke: string }[]; data: uPlot.AlignedData }) {
  const ref = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    plot.current = new uPlot({
      title, width: 520, height: 220, series: [{}, ...series.map(s => ({ ...s, width: 2 }))],
      axes: [{ stroke: '#374151' }, { stroke: '#374151' }],
      // At least the last five minutes on the time axis, so the first samples do not stretch over years.
      scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - 300), max] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    }, data, ref.current!);
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => { plot.current?.setData(data); }, [data]);
  return <div class="chart" ref={ref} role="img" aria-label={title} />;
}

interface SiloSlots { silo: string; name: string; slots: number; busy: number; pulling: boolean }

/** Each active silo's worker slots, busy and total, from GET /silos (each silo counts its own). */
function Silos() {
  const { data, error } = usePoll(s => get<SiloSlots[]>('/silos', s), 2000, []);
  if (error) return <p class="muted" id="silos-error">Silos: {error.includes('403') || error.toLowerCase().includes('forbidden')
    ? 'the silo list spans tenants: this key is scoped to one tenant.' : error}</p>;
  if (!data) return null;
  const busy = data.reduce((n, s) => n + s.busy, 0), total = data.reduce((n, s) => n + s.slots, 0);
  return (
    <>
      <h3>Silos <span class="muted small">{busy} of {total} slots busy</span></h3>
      <table class="grid" id="silos-table">
        <thead><tr><th>Silo</th><th>Address</th><th>Busy slots</th><th></th><th>Pulling</th></tr></thead>
        <tbody>{data.map(s => (
          <tr data-silo={s.name}>
            <td>{s.name}</td><td class="mono">{s.silo}</td>
            <td class="num slots">{s.busy} / {s.slots}</td>
            <td><meter min={0} max={Math.max(1, s.slots)} value={s.busy} aria-label={`${s.name}: ${s.busy} of ${s.slots} slots busy`} /></td>
            <td>{s.pulling ? 'yes' : 'no (starting or stopping)'}</td>
          </tr>
        ))}</tbody>
      </table>
    </>
  );
}

export function Overview() {
  const [, setTick] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const on = (e: string | null) => { setError(e); setTick(t => t + 1); };
    listeners.add(on);
    startSampling();
    return () => { listeners.delete(on); };
  }, []);
  const last = samples[samples.length - 1];
  const t = samples.map(s => s.t);
  return (
    <Section title="Overview">
      <ErrorLine error={error} />
      {last && (
        <div class="tiles">
          {(['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const).map(k => (
            <a class={`tile state-${k}`} href={`#/jobs?state=${k}`}><span class="tile-n" id={`stat-${k}`}>{last[k].toLocaleString('en')}</span>{k}</a>
          ))}
        </div>
      )}
      {samples.length < 2 ? <p class="muted">Collecting samples for the charts…</p> : <div class="charts">
        <Chart title="Queue depth and running jobs" data={[t, samples.map(s => s.queued), samples.map(s => s.running)]}
          series={[{ label: 'queued', stroke: '#2563eb' }, { label: 'running', stroke: '#d97706' }]} />
        <Chart title="Throughput and failures (jobs/s)" data={[t, rate('succeeded'), rate('failed')]}
          series={[{ label: 'succeeded/s', stroke: '#15803d' }, { label: 'failed/s', stroke: '#b91c1c' }]} />
      </div>}
      <Silos />
      <p class="muted small">Sampled from <code>GET /api/v1/stats</code> every 2 s while this tab is open.</p>
    </Section>
  );
}
