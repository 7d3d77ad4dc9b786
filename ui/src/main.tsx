// The Berth web UI: routes and the page frame.
import { StrictMode, useEffect, useRef, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Link, NavLink, Route, Routes, useNavigate } from 'react-router';
import { signOut } from './api';
import { useSession } from './session';
import { AuditPage } from './pages/Audit';
import { ClusterPage } from './pages/Cluster';
import { GovernancePage } from './pages/Governance';
import { ReplicationPage } from './pages/Replication';
import { NewRepositoryPage } from './pages/NewRepository';
import { OrgPage, OrgsPage } from './pages/Orgs';
import { ProfilePage } from './pages/Profile';
import { RepositoriesPage } from './pages/Repositories';
import { RepositoryPage } from './pages/Repository';
import { SettingsPage } from './pages/Settings';
import { SignInPage } from './pages/SignIn';
import { SystemPage } from './pages/System';
import { UsersPage } from './pages/Users';
import './styles.css';

function Header(): ReactNode {
  const session = useSession();
  const navigate = useNavigate();
  const [q, setQ] = useState('');
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.key === '/' && !['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) {
        e.preventDefault();
        search.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const admin = session?.user.admin ?? false;
  return (
    <header className="top">
      <Link to="/" className="brand">
        Berth
      </Link>
      <nav aria-label="Main">
        <NavLink to="/" end>
          Repositories
        </NavLink>
        {session && <NavLink to="/orgs">Organisations</NavLink>}
        {session && <NavLink to="/cluster">Cluster</NavLink>}
        {admin && <NavLink to="/users">Users</NavLink>}
        {admin && <NavLink to="/audit">Audit log</NavLink>}
        {admin && <NavLink to="/replication">Replication</NavLink>}
        {admin && <NavLink to="/governance">Governance</NavLink>}
        {admin && <NavLink to="/settings">Settings</NavLink>}
        {admin && <NavLink to="/system">System</NavLink>}
      </nav>
      <form
        role="search"
        className="search"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/?q=${encodeURIComponent(q)}`);
        }}
      >
        <input
          ref={search}
          type="search"
          placeholder="Search repositories (press /)"
          aria-label="Search repositories"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
      </form>
      <div className="who">
        {session ? (
          <>
            <NavLink to="/profile">{session.user.name}</NavLink>
            <button
              type="button"
              className="link"
              onClick={() => void signOut().then(() => navigate('/'))}
            >
              Sign out
            </button>
          </>
        ) : (
          <NavLink to="/signin">Sign in</NavLink>
        )}
      </div>
    </header>
  );
}

function NotFound(): ReactNode {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing here. <Link to="/">Back to the repositories</Link>
      </p>
    </section>
  );
}

function App(): ReactNode {
  return (
    <BrowserRouter>
      <Header />
      <main>
        <Routes>
          <Route path="/" element={<RepositoriesPage />} />
          <Route path="/signin" element={<SignInPage />} />
          <Route path="/new" element={<NewRepositoryPage />} />
          <Route path="/r/*" element={<RepositoryPage />} />
          <Route path="/orgs" element={<OrgsPage />} />
          <Route path="/orgs/:org" element={<OrgPage />} />
          <Route path="/users" element={<UsersPage />} />
          <Route path="/profile" element={<ProfilePage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="/audit" element={<AuditPage />} />
          <Route path="/cluster" element={<ClusterPage />} />
          <Route path="/replication" element={<ReplicationPage />} />
          <Route path="/governance" element={<GovernancePage />} />
          <Route path="/system" element={<SystemPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </BrowserRouter>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
