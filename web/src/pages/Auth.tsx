import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { api, must } from "../api/client";
import { Field, FormMessage, useSubmit } from "../ui/forms";

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
        <FormMessage error={error} fields={["email", "display_name", "password"]} />
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
        <FormMessage error={error} fields={["email", "password"]} />
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
