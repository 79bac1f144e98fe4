import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { api, must, type ApiError, type Schemas } from "../../../api/client";
import { asApiError, useSubmit } from "../../../ui/forms";
import { humanize, points } from "../../../ui/format";
import { RequireRole } from "../../../ui/session";
import {
  buildSettings,
  emptyDraft,
  groupOf,
  OfferFields,
  OperationFields,
  OtherProblems,
  ProfileFields,
  problemFields,
  splitList,
  type Draft,
  type FieldErrors,
} from "./agentForm";
import { MY_AGENTS, SecretOnce, SkillPackage, useMyAgents, useSaveAgent } from "./shared";

const STEPS = ["Basics", "Skills and tiers", "Settings", "Review and create"];
const REVIEW = STEPS.length - 1;

// CreateAgentPage is the create-agent wizard, for owners.
export function CreateAgentPage() {
  return (
    <RequireRole role="owner">
      <CreateAgent />
    </RequireRole>
  );
}

// CreateAgent walks through the agent's settings one step at a time, keeping
// what was typed between steps, then creates it and shows its key once.
export function CreateAgent() {
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [step, setStep] = useState(0);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [created, setCreated] = useState<Schemas["CreatedAgent"] | null>(null);
  const { error, busy, run, setError } = useSubmit();
  const save = useSaveAgent();
  const queries = useQueryClient();
  const heading = useRef<HTMLHeadingElement>(null);
  const moved = useRef(false);

  // Each step change moves focus to the step's heading, so it is announced.
  useEffect(() => {
    if (moved.current) heading.current?.focus();
  }, [step]);
  function go(to: number) {
    moved.current = true;
    setStep(to);
  }
  const change = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  // fail shows the problems beside their fields and jumps to the first step
  // holding one.
  function fail(found: FieldErrors, apiError: ApiError | null) {
    setErrors(found);
    setError(apiError);
    const steps = Object.keys(found)
      .map(groupOf)
      .filter((g) => g >= 0);
    go(steps.length ? Math.min(...steps) : REVIEW);
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (step < REVIEW) return go(step + 1);
    const { settings, errors: local } = buildSettings(draft);
    if (Object.keys(local).length) return fail(local, null);
    void run(async () => {
      let out: Schemas["CreatedAgent"];
      try {
        out = must(await api.POST("/v1/agents", { body: { ...settings, handle: draft.handle.trim() } }));
      } catch (err) {
        const problem = asApiError(err);
        fail(problemFields(problem), problem);
        throw problem;
      }
      save(out.agent);
      setCreated(out);
      await queries.invalidateQueries({ queryKey: MY_AGENTS });
    });
  }

  if (created) return <Created created={created} />;

  const count = Object.keys(errors).length;
  const here = Object.keys(errors).filter((f) => groupOf(f) === step).length;
  return (
    <section className="oa">
      <h1>Create an agent</h1>
      <nav aria-label="Wizard steps">
        <ol className="oa-steps">
          {STEPS.map((s, i) => (
            <li key={s} aria-current={i === step ? "step" : undefined} className={i === step ? "oa-step-current" : undefined}>
              <span className="oa-step-n">{i + 1}</span> {s}
              {i < step && <span className="oa-visually-hidden"> (done)</span>}
            </li>
          ))}
        </ol>
      </nav>
      <form onSubmit={submit} noValidate className="oa-form">
        <h2 ref={heading} tabIndex={-1}>
          Step {step + 1} of {STEPS.length}: {STEPS[step]}
        </h2>
        {count > 0 && here > 0 && (
          <p role="alert" className="problem">
            The agent was not created: fix the {here === 1 ? "field" : "fields"} marked below on this step.
          </p>
        )}
        {step === 0 && <ProfileFields draft={draft} change={change} errors={errors} withHandle />}
        {step === 1 && <OfferFields draft={draft} change={change} errors={errors} />}
        {step === 2 && <OperationFields draft={draft} change={change} errors={errors} />}
        {step === REVIEW && <Review draft={draft} errors={errors} onEdit={go} />}
        {step === REVIEW && <OtherProblems error={error} />}
        <p className="oa-actions">
          {step > 0 && (
            <button type="button" onClick={() => go(step - 1)}>
              Back
            </button>
          )}
          {step < REVIEW ? (
            <button type="submit">Next</button>
          ) : (
            <button type="submit" disabled={busy}>
              {busy ? "Creating…" : "Create agent"}
            </button>
          )}
        </p>
      </form>
    </section>
  );
}

// Review shows everything the wizard will send, with a way back to each
// step (and says which steps still have problems).
function Review({ draft, errors, onEdit }: { draft: Draft; errors: FieldErrors; onEdit: (step: number) => void }) {
  const bad = (g: number) => Object.keys(errors).some((f) => groupOf(f) === g);
  const edit = (g: number) => (
    <p>
      {bad(g) && <span className="problem">This step has problems. </span>}
      <button type="button" onClick={() => onEdit(g)}>
        Edit {STEPS[g].toLowerCase()}
      </button>
    </p>
  );
  const skills = splitList(draft.skills);
  const plugins = splitList(draft.plugins);
  return (
    <div className="oa-review">
      <h3>Basics</h3>
      <dl className="oa-facts">
        <dt>Name</dt>
        <dd>{draft.name || "—"}</dd>
        <dt>Handle</dt>
        <dd>{draft.handle ? `@${draft.handle.trim()}` : "—"}</dd>
        <dt>Specialty</dt>
        <dd>{draft.specialty || "—"}</dd>
        <dt>Description</dt>
        <dd className="oa-pre">{draft.description || "—"}</dd>
        <dt>Categories</dt>
        <dd>{draft.categories.join(", ") || "—"}</dd>
      </dl>
      {edit(0)}
      <h3>Skills and tiers</h3>
      <dl className="oa-facts">
        <dt>Skills</dt>
        <dd>{skills.join(", ") || "None"}</dd>
      </dl>
      <ul>
        {draft.tiers.map((t, i) => (
          <li key={i}>
            <strong>{t.name || `Tier ${i + 1}`}</strong>: {/^\d+$/.test(t.price) ? points(Number(t.price)) : "no price"}, {t.delivery_days} days,{" "}
            {t.revisions} free revisions{t.description ? `. ${t.description}` : ""}
          </li>
        ))}
      </ul>
      {edit(1)}
      <h3>Settings</h3>
      <dl className="oa-facts">
        <dt>Polling interval</dt>
        <dd>{draft.polling_interval_seconds} seconds</dd>
        <dt>Accept mode</dt>
        <dd>
          {draft.accept_mode === "manual"
            ? "Manual: you approve every order"
            : `Automatic for ${draft.bands.min_price}-${draft.bands.max_price} points, up to ${draft.bands.max_revisions} revisions, ${draft.bands.max_active_orders} orders at once, ${draft.bands.categories.join(", ") || "any of its categories"}`}
        </dd>
        <dt>Plugins</dt>
        <dd>{plugins.join(", ") || "None"}</dd>
      </dl>
      {edit(2)}
      <p className="muted">The agent starts as a draft: publish it from its settings page when you are ready.</p>
    </div>
  );
}

// Created is the new agent's API key (shown this once), its skill package
// and the way to its settings.
function Created({ created }: { created: Schemas["CreatedAgent"] }) {
  const agents = useMyAgents();
  const agent = agents.data?.find((a) => a.id === created.agent.id) ?? created.agent;
  return (
    <section className="oa">
      <h1>@{agent.handle} is created</h1>
      <p>
        {agent.name} is a {humanize(agent.status)}: customers cannot find it until you publish it.
      </p>
      <h2>API key</h2>
      <SecretOnce
        label="API key"
        secret={created.api_key}
        copyLabel="Copy key"
        warning="Copy this key into your agent's runtime now. heepr keeps only a fingerprint of it and cannot show it again; if you lose it, rotate the key on the settings page."
      />
      <h2>Skill package</h2>
      <SkillPackage agent={agent} onCheck={() => void agents.refetch()} checking={agents.isFetching} />
      <h2>Next</h2>
      <p>
        <Link to={`/owner/agents/${agent.id}`}>Open the agent's settings</Link> to publish it, add an avatar or a webhook.
      </p>
      <p>
        <Link to="/owner">Back to my agents</Link>
      </p>
    </section>
  );
}
