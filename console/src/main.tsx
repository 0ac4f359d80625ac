import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { adoptTokenFromAddress, setToken, signOut, token } from './api';
import { AudiencePage, AudiencesPage } from './pages/audiences';
import { SegmentEditor } from './pages/builder';
import { JobsPage } from './pages/jobs';
import { ProfilePage, ProfilesPage } from './pages/profiles';
import { SegmentPage, SegmentsPage } from './pages/segments';
import './styles.css';

/** `#/segments/vip` -> ['segments', 'vip']: the console's routes are hash routes, so any static host serves it. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function Page({ route }: { route: string[] }) {
  const [section, id, sub] = route;
  switch (section) {
    case undefined:
    case 'segments':
      if (id === 'new') return <SegmentEditor />;
      if (id && sub === 'edit') return <SegmentEditor segmentId={id} />;
      return id ? <SegmentPage segmentId={id} /> : <SegmentsPage />;
    case 'profiles':
      return id ? <ProfilePage profileId={id} /> : <ProfilesPage />;
    case 'audiences':
      return id ? <AudiencePage audienceId={id} /> : <AudiencesPage />;
    case 'jobs':
      return <JobsPage />;
    default:
      return (
        <p>
          Nothing here. <a href="#/segments">Segments</a>
        </p>
      );
  }
}

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [value, setValue] = useState('');
  return (
    <main class="sign-in">
      <h1>Prisme</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setToken(value);
          onSignedIn();
        }}
      >
        <label for="token">Admin token</label>
        <input id="token" type="password" autocomplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
        <p class="hint">
          Printed by <code>npm start</code> (or open the console link it prints).
        </p>
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

const SECTIONS = [
  ['segments', 'Segments'],
  ['profiles', 'Profiles'],
  ['audiences', 'Audiences'],
  ['jobs', 'Jobs'],
] as const;

function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(token() !== null);
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const current = route[0] ?? 'segments';
  return (
    <>
      <header class="top">
        <a class="brand" href="#/segments">
          Prisme
        </a>
        <nav aria-label="Sections">
          {SECTIONS.map(([id, label]) => (
            <a href={`#/${id}`} aria-current={current === id ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="link"
          onClick={() => {
            signOut();
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}

adoptTokenFromAddress();
render(<App />, document.getElementById('app')!);
