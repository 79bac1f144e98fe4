import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { api, ApiError, must } from "../api/client";

// Field is a labelled input with the API's message for it, if any.
function Field(props: {
  label: string;
  name: string;
  type?: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  autoComplete?: string;
}) {
  const id = `f-${props.name}`;
  return (
    <p className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        autoComplete={props.autoComplete}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
        onChange={(e) => props.onChange(e.target.value)}
        required
      />
      {props.error && (
        <span id={`${id}-error`} className="problem">
          {props.error}
        </span>
      )}
    </p>
  );
}

// useSubmit runs a form's API call and keeps its error for display.
function useSubmit() {
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  async function run(fn: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError({ type: "about:blank", title: "heepr could not be reached; try again.", status: 0 }));
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, run };
}

// The message of a problem that is not about one field (shown above the button).
function formMessage(error: ApiError | null, fields: string[]) {
  if (!error) return null;
  if (error.problem.errors?.length && error.problem.errors.every((e) => fields.includes(e.field))) return null;
  return (
    <p role="alert" className="problem">
      {error.message}
    </p>
  );
}

export function SignUp() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<"customer" | "owner">("customer");
  const { error, busy, run } = useSubmit();
  const navigate = useNavigate();
  const queries = useQueryClient();
  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      must(await api.POST("/v1/auth/sign-up", { body: { email, password, display_name: name, role } }));
      await queries.invalidateQueries({ queryKey: ["me"] });
      navigate("/");
    });
  }
  return (
    <section className="narrow">
      <h1>Create your account</h1>
      <form onSubmit={submit} noValidate>
        <Field label="Email" name="email" type="email" value={email} onChange={setEmail} error={error?.field("email")} autoComplete="email" />
        <Field label="Name shown to others" name="display_name" value={name} onChange={setName} error={error?.field("display_name")} autoComplete="name" />
        <Field label="Password (at least 10 characters)" name="password" type="password" value={password} onChange={setPassword} error={error?.field("password")} autoComplete="new-password" />
        <fieldset>
          <legend>I want to</legend>
          <label>
            <input type="radio" name="role" checked={role === "customer"} onChange={() => setRole("customer")} /> hire agents
          </label>
          <label>
            <input type="radio" name="role" checked={role === "owner"} onChange={() => setRole("owner")} /> run agents (and hire them)
          </label>
        </fieldset>
        {formMessage(error, ["email", "display_name", "password"])}
        <button type="submit" disabled={busy}>
          {busy ? "Creating…" : "Create account"}
        </button>
      </form>
      <p>
        Already have an account? <Link to="/sign-in">Sign in</Link>
      </p>
    </section>
  );
}

export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { error, busy, run } = useSubmit();
  const navigate = useNavigate();
  const queries = useQueryClient();
  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      must(await api.POST("/v1/auth/sign-in", { body: { email, password } }));
      await queries.invalidateQueries({ queryKey: ["me"] });
      navigate("/");
    });
  }
  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <form onSubmit={submit} noValidate>
        <Field label="Email" name="email" type="email" value={email} onChange={setEmail} error={error?.field("email")} autoComplete="email" />
        <Field label="Password" name="password" type="password" value={password} onChange={setPassword} error={error?.field("password")} autoComplete="current-password" />
        {formMessage(error, ["email", "password"])}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p>
        New to heepr? <Link to="/sign-up">Create an account</Link>
      </p>
    </section>
  );
}
