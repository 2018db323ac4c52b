import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, apiKey, get, setApiKey, type Me } from './api';
import { Overview } from './pages/Overview';
import { Jobs } from './pages/Jobs';
import { JobDetail } from './pages/JobDetail';
import { Workflows, WorkflowGraphPage } from './pages/Workflows';
import { DeadLetters } from './pages/DeadLetters';
import { Schedules } from './pages/Schedules';
import { Limits } from './pages/Limits';
import { Queues } from './pages/Queues';
import './style.css';

// Routes live in the location's hash (#/jobs/ID), so the server serves one page at / and never has to tell a
// dashboard path from an API path.
function useRoute(): [string[], URLSearchParams] {
  const read = () => {
    const [path, q] = (location.hash.replace(/^#/, '') || '/').split('?');
    return [path.split('/').filter(Boolean), new URLSearchParams(q ?? '')] as [string[], URLSearchParams];
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

const nav: [string, string][] = [
  ['#/', 'Overview'], ['#/jobs', 'Jobs'], ['#/workflows', 'Workflows'], ['#/deadletters', 'Dead letters'],
  ['#/queues', 'Queues'], ['#/schedules', 'Schedules'], ['#/limits', 'Limits'],
];

function SignIn({ onDone, error }: { onDone: () => void; error: string | null }) {
  const [key, setKey] = useState('');
  return (
    <main class="signin">
      <h1>Scheduler</h1>
      <form onSubmit={e => { e.preventDefault(); setApiKey(key.trim()); onDone(); }}>
        <label for="apikey">API key</label>
        <input id="apikey" type="password" autocomplete="off" value={key} placeholder="sch_..."
          onInput={e => setKey((e.target as HTMLInputElement).value)} autofocus />
        <button type="submit" disabled={!key.trim()}>Sign in</button>
        {error && <p class="error" role="alert">{error}</p>}
        <p class="hint">Make one with <code>scheduler keys create NAME --role viewer|operator</code>. It is kept for this
          tab only. On the silo's own host no key is needed.</p>
      </form>
    </main>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [signIn, setSignIn] = useState<string | null | undefined>(undefined); // undefined: not needed
  const [attempt, setAttempt] = useState(0);
  const [parts, params] = useRoute();

  useEffect(() => {
    const sent = apiKey();
    get<Me>('/me').then(m => { if (apiKey() === sent) { setMe(m); setSignIn(undefined); } }).catch(e => {
      const err = e as ApiError;
      if (apiKey() !== sent) return; // a newer key was entered meanwhile: its own check answers
      if (err.status === 401) {
        setApiKey(null);
        setMe(null);
        setSignIn(sent ? 'That key was not accepted.' : null);
      } else setSignIn(err.message);
    });
  }, [attempt]);
  useEffect(() => {
    const on = () => setAttempt(a => a + 1);
    window.addEventListener('scheduler:signin', on);
    return () => window.removeEventListener('scheduler:signin', on);
  }, []);

  if (signIn !== undefined && !me) return <SignIn error={signIn} onDone={() => setAttempt(a => a + 1)} />;
  if (!me) return <p class="loading">Loading…</p>;

  const [page, id] = parts;
  let body;
  switch (page) {
    case undefined: body = <Overview />; break;
    case 'jobs': body = id ? <JobDetail id={id} me={me} /> : <Jobs me={me} params={params} />; break;
    case 'workflows': body = id ? <WorkflowGraphPage id={id} me={me} /> : <Workflows params={params} />; break;
    case 'deadletters': body = <DeadLetters me={me} />; break;
    case 'schedules': body = <Schedules me={me} />; break;
    case 'queues': body = <Queues />; break;
    case 'limits': body = <Limits me={me} />; break;
    default: body = <p>No page here. <a href="#/">Overview</a></p>;
  }
  const current = '#/' + (page ?? '');
  return (
    <>
      <a class="skip" href="#main" onClick={e => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header class="top">
        <strong class="brand">Scheduler</strong>
        <nav aria-label="Pages">
          {nav.map(([href, label]) => (
            <a href={href} aria-current={href === current ? 'page' : undefined}>{label}</a>
          ))}
        </nav>
        <span class="who" title="who the API takes you for">
          {me.actor} · {me.role}{me.tenant ? ` · tenant ${me.tenant}` : ''}
          {apiKey() && <button class="link" onClick={() => { setApiKey(null); setMe(null); setAttempt(a => a + 1); }}>Sign out</button>}
        </span>
      </header>
      <main id="main" tabIndex={-1}>{body}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
