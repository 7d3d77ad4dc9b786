// Sign in with a password or an access token.
import { useState, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { signIn } from '../api';
import { ErrorBox, useAction } from '../ui';

export function SignInPage(): ReactNode {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const navigate = useNavigate();
  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(() => signIn(username, password)).then((ok) => ok && navigate('/'));
        }}
      >
        <label>
          User name
          <input
            autoFocus
            required
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          Password or access token
          <input
            required
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <ErrorBox error={action.error} />
        <button type="submit" disabled={action.busy}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
