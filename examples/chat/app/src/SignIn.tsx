/** Sign-up and login through the generated client's `auth`; the session's user is typed by the schema. */
import { useState, type FormEvent } from 'react';
import { useApp } from './context.js';
import { useSsotClient } from './ssot/react.js';

export function SignIn() {
  const client = useSsotClient();
  const { signedIn } = useApp();
  const [mode, setMode] = useState<'login' | 'signup'>('signup');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('email'));
    const password = String(form.get('password'));
    setBusy(true);
    setError(undefined);
    try {
      const session =
        mode === 'signup'
          ? await client.auth.signup({ email, password, name: String(form.get('name') || email.split('@')[0]) })
          : await client.auth.login({ email, password });
      const u = session.user;
      signedIn({ id: u.id, name: u.name, email: u.email });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card signin" onSubmit={submit} data-testid="signin">
      <h1>{mode === 'signup' ? 'Create an account' : 'Welcome back'}</h1>
      {mode === 'signup' && (
        <label>
          Name <input name="name" autoComplete="name" required />
        </label>
      )}
      <label>
        E-mail <input name="email" type="email" autoComplete="email" required />
      </label>
      <label>
        Password <input name="password" type="password" minLength={8} autoComplete={mode === 'signup' ? 'new-password' : 'current-password'} required />
      </label>
      {error && <p className="error" role="alert">{error}</p>}
      <button type="submit" disabled={busy}>
        {mode === 'signup' ? 'Sign up' : 'Log in'}
      </button>
      <p className="switch">
        {mode === 'signup' ? 'Have an account? ' : 'New here? '}
        <button type="button" className="link" onClick={() => setMode(mode === 'signup' ? 'login' : 'signup')}>
          {mode === 'signup' ? 'Log in' : 'Sign up'}
        </button>
      </p>
    </form>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Rooms
