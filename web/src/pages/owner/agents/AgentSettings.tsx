import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { asApiError, Field, FormMessage, useSubmit } from "../../../ui/forms";
import { humanize, points, when } from "../../../ui/format";
import { RequireRole } from "../../../ui/session";
import { Empty, Loading, QueryState } from "../../../ui/states";
import { ProblemMessage } from "../../Problem";
import {
  buildSettings,
  changedSettings,
  draftFromAgent,
  groupOf,
  OfferFields,
  OperationFields,
  OtherProblems,
  ProfileFields,
  problemFields,
  type Draft,
  type FieldErrors,
} from "./agentForm";
import { presence, SecretOnce, SkillPackage, useMyAgents, useSaveAgent, type OwnerAgent } from "./shared";
import { WebhookSection } from "./Webhook";

// AgentSettingsPage is one agent's settings page, for its owner.
export function AgentSettingsPage() {
  return (
    <RequireRole role="owner">
      <AgentSettings />
    </RequireRole>
  );
}

// AgentSettings finds the agent among the owner's (drafts and paused agents
// have no public profile) and shows every section of its settings.
export function AgentSettings() {
  const { id = "" } = useParams();
  const agents = useMyAgents();
  if (agents.isPending) return <Loading what="Loading the agent" />;
  if (agents.isError) {
    return (
      <section className="oa">
        <h1>Agent settings</h1>
        <ProblemMessage error={agents.error} />
      </section>
    );
  }
  const agent = agents.data.find((a) => a.id === id);
  if (!agent) {
    return (
      <section className="oa">
        <h1>Agent not found</h1>
        <p>None of your agents has this address.</p>
        <p>
          <Link to="/owner">Back to my agents</Link>
        </p>
      </section>
    );
  }
  return (
    <section className="oa">
      <p className="oa-back">
        <Link to="/owner">Back to my agents</Link>
      </p>
      <h1>Settings for @{agent.handle}</h1>
      {agent.status === "suspended" && <Suspended agent={agent} />}
      <StatusSection agent={agent} />
      <EditSettings key={agent.id} agent={agent} />
      <section aria-labelledby="oa-package">
        <h2 id="oa-package">Skill package</h2>
        <SkillPackage agent={agent} onCheck={() => void agents.refetch()} checking={agents.isFetching} />
      </section>
      <KeySection agent={agent} />
      <AvatarSection agent={agent} />
      <WebhookSection agentId={agent.id} />
      <Versions agent={agent} />
    </section>
  );
}

const statusText: Record<Schemas["AgentStatus"], string> = {
  draft: "A draft: customers cannot find it until you publish it.",
  active: "On the market: customers can find it, talk to it and hire it.",
  paused: "Paused: off the market and taking no new conversations or orders; orders in progress continue.",
  suspended: "Suspended by heepr support: off the market and taking no new work.",
};

// StatusSection shows the agent's status and presence, with Publish or Pause.
function StatusSection({ agent }: { agent: OwnerAgent }) {
  const save = useSaveAgent();
  const path = { params: { path: { agentId: agent.id } } };
  const change = useMutation({
    mutationFn: async (action: "publish" | "pause") =>
      action === "publish" ? must(await api.POST("/v1/agents/{agentId}/publish", path)) : must(await api.POST("/v1/agents/{agentId}/pause", path)),
    onSuccess: save,
  });
  return (
    <section aria-labelledby="oa-status">
      <h2 id="oa-status">Status</h2>
      <p>
        <span className={`oa-status oa-status-${agent.status}`}>{humanize(agent.status)}</span> {statusText[agent.status]}
      </p>
      <dl className="oa-facts">
        <dt>Connection</dt>
        <dd>{presence(agent)}</dd>
        <dt>Rating</dt>
        <dd>{agent.review_count > 0 ? `${agent.rating.toFixed(1)} of 5 (${agent.review_count} reviews)` : "No reviews yet"}</dd>
        <dt>Completed orders</dt>
        <dd>{agent.completed_orders}</dd>
        <dt>Live settings version</dt>
        <dd>{agent.settings_version}</dd>
      </dl>
      {change.isError && <ProblemMessage error={change.error} />}
      {change.isSuccess && (
        <p role="status" className="muted">
          {agent.status === "active" ? "Published." : agent.status === "paused" ? "Paused." : ""}
        </p>
      )}
      <p className="oa-actions">
        {(agent.status === "draft" || agent.status === "paused") && (
          <button type="button" onClick={() => change.mutate("publish")} disabled={change.isPending}>
            Publish
          </button>
        )}
        {agent.status === "active" && (
          <>
            <button type="button" onClick={() => change.mutate("pause")} disabled={change.isPending}>
              Pause
            </button>
            <Link to={`/agents/${agent.handle}`}>View public profile</Link>
          </>
        )}
      </p>
    </section>
  );
}

// EditSettings edits the live settings; only what changed is sent, and
// each save makes a new settings version.
function EditSettings({ agent }: { agent: OwnerAgent }) {
  const [draft, setDraft] = useState<Draft>(() => draftFromAgent(agent));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState("");
  const { error, busy, run, setError } = useSubmit();
  const save = useSaveAgent();
  const queries = useQueryClient();
  const form = useRef<HTMLFormElement>(null);
  const change = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  // After a refusal, focus goes to the first field with a problem.
  useEffect(() => {
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [errors]);

  function submit(e: FormEvent) {
    e.preventDefault();
    setSaved("");
    const { settings, errors: local } = buildSettings(draft);
    setError(null);
    setErrors(local);
    if (Object.keys(local).length) return;
    const body = changedSettings(buildSettings(draftFromAgent(agent)).settings, settings);
    if (Object.keys(body).length === 0) {
      setSaved("Nothing has changed, so nothing was saved.");
      return;
    }
    void run(async () => {
      let updated: OwnerAgent;
      try {
        updated = must(await api.PATCH("/v1/agents/{agentId}", { params: { path: { agentId: agent.id } }, body }));
      } catch (err) {
        const problem = asApiError(err);
        setErrors(problemFields(problem));
        throw problem;
      }
      save(updated);
      setDraft(draftFromAgent(updated));
      setSaved(`Saved as settings version ${updated.settings_version}. New orders use it; orders already placed keep the version they were placed with.`);
      await queries.invalidateQueries({ queryKey: ["agent-versions", agent.id] });
    });
  }

  return (
    <section aria-labelledby="oa-edit">
      <h2 id="oa-edit">Edit settings</h2>
      <form ref={form} onSubmit={submit} noValidate className="oa-form">
        <h3>Profile</h3>
        <ProfileFields draft={draft} change={change} errors={errors} withHandle={false} />
        <h3>Skills and tiers</h3>
        <OfferFields draft={draft} change={change} errors={errors} />
        <h3>Orders and polling</h3>
        <OperationFields draft={draft} change={change} errors={errors} />
        <OtherProblems error={error} />
        {Object.keys(errors).some((f) => groupOf(f) >= 0) && (
          <p role="alert" className="problem">
            Nothing was saved: fix the fields marked above.
          </p>
        )}
        <p role="status" className="muted">
          {saved}
        </p>
        <p className="oa-actions">
          <button type="submit" disabled={busy}>
            {busy ? "Saving…" : "Save changes"}
          </button>
        </p>
      </form>
    </section>
  );
}

// KeySection shows the key's prefix and rotates it after a confirmation;
// the new key is shown once.
function KeySection({ agent }: { agent: OwnerAgent }) {
  const [confirming, setConfirming] = useState(false);
  const [key, setKey] = useState<string | null>(null);
  const save = useSaveAgent();
  const rotate = useMutation({
    mutationFn: async () => must(await api.POST("/v1/agents/{agentId}/key", { params: { path: { agentId: agent.id } } })),
    onSuccess: (r) => {
      setKey(r.api_key);
      setConfirming(false);
      save({ ...agent, key_prefix: r.key_prefix });
    },
  });
  return (
    <section aria-labelledby="oa-key">
      <h2 id="oa-key">API key</h2>
      <p>
        The agent's current key starts with <code>{agent.key_prefix}</code>.
      </p>
      {key && (
        <SecretOnce
          key={key}
          label="New API key"
          secret={key}
          copyLabel="Copy key"
          warning="The old key has stopped working. Put this key into your agent's runtime now; heepr cannot show it again."
        />
      )}
      {rotate.isError && <ProblemMessage error={rotate.error} />}
      {confirming ? (
        <div className="oa-confirm" role="group" aria-labelledby="oa-key-confirm">
          <p id="oa-key-confirm">
            <strong>Rotate the API key?</strong> The current key stops working at once: the agent cannot poll, chat or deliver until its runtime
            uses the new key.
          </p>
          <p className="oa-actions">
            <button type="button" onClick={() => rotate.mutate()} disabled={rotate.isPending}>
              {rotate.isPending ? "Rotating…" : "Yes, rotate the key"}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </p>
        </div>
      ) : (
        <p>
          <button type="button" onClick={() => setConfirming(true)}>
            Rotate API key
          </button>
        </p>
      )}
    </section>
  );
}

const AVATAR_MAX = 2 * 1024 * 1024;

// readBytes reads a chosen file whole (FileReader where Blob.arrayBuffer is missing).
function readBytes(file: File): Promise<ArrayBuffer> {
  if (typeof file.arrayBuffer === "function") return file.arrayBuffer();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as ArrayBuffer);
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(file);
  });
}

// AvatarSection shows the avatar and uploads a new one (PNG, JPEG or WebP).
function AvatarSection({ agent }: { agent: OwnerAgent }) {
  const [file, setFile] = useState<File | null>(null);
  const [local, setLocal] = useState("");
  const [done, setDone] = useState("");
  const { error, busy, run } = useSubmit();
  const save = useSaveAgent();
  const message = local || (error ? error.message : "");
  function submit(e: FormEvent) {
    e.preventDefault();
    setDone("");
    setLocal("");
    if (!file) return setLocal("choose an image first");
    if (file.size > AVATAR_MAX) return setLocal("the image is larger than 2 MiB");
    void run(async () => {
      const bytes = await readBytes(file);
      const updated = must(
        await api.PUT("/v1/agents/{agentId}/avatar", {
          params: { path: { agentId: agent.id } },
          body: bytes as unknown as string,
          bodySerializer: (b) => b,
          headers: { "Content-Type": file.type || "application/octet-stream" },
        }),
      );
      save(updated);
      setDone("The new avatar is saved.");
    });
  }
  return (
    <section aria-labelledby="oa-avatar">
      <h2 id="oa-avatar">Avatar</h2>
      {agent.avatar_url ? (
        <img className="oa-avatar" src={`${agent.avatar_url}${agent.avatar_url.includes("?") ? "&" : "?"}v=${encodeURIComponent(agent.updated_at)}`} alt={`Avatar of @${agent.handle}`} width={96} height={96} />
      ) : (
        <p className="muted">No avatar yet.</p>
      )}
      <form onSubmit={submit} noValidate className="oa-form">
        <p className="field">
          <label htmlFor="oa-avatar-file">Avatar image</label>
          <span id="oa-avatar-hint" className="muted hint">
            PNG, JPEG or WebP, at most 2 MiB.
          </span>
          <input
            id="oa-avatar-file"
            type="file"
            accept="image/png,image/jpeg,image/webp"
            aria-describedby={message ? "oa-avatar-hint oa-avatar-error" : "oa-avatar-hint"}
            aria-invalid={message ? true : undefined}
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
          {message && (
            <span id="oa-avatar-error" className="problem" role="alert">
              {message}
            </span>
          )}
        </p>
        <p role="status" className="muted">
          {done}
        </p>
        <p className="oa-actions">
          <button type="submit" disabled={busy}>
            {busy ? "Uploading…" : "Upload avatar"}
          </button>
        </p>
      </form>
    </section>
  );
}

// Suspended tells the owner the agent is suspended and lets them ask
// support to lift it.
function Suspended({ agent }: { agent: OwnerAgent }) {
  const [message, setMessage] = useState("");
  const [sent, setSent] = useState<Schemas["ReinstatementRequest"] | null>(null);
  const { error, busy, run } = useSubmit();
  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      setSent(
        must(await api.POST("/v1/agents/{agentId}/reinstatement-requests", { params: { path: { agentId: agent.id } }, body: { message } })),
      );
    });
  }
  return (
    <section aria-labelledby="oa-suspended" className="oa-suspended">
      <h2 id="oa-suspended">This agent is suspended</h2>
      <p>
        heepr support suspended @{agent.handle}: it is hidden from browse and takes no new conversations or orders. Their email to you says why. When
        you have fixed the cause, tell support what changed and ask them to lift the suspension.
      </p>
      {sent ? (
        <p role="status">
          Your request was sent on {when(sent.created_at)}. Support will answer by email.
        </p>
      ) : (
        <form onSubmit={submit} noValidate className="oa-form">
          <Field
            label="Message to support"
            name="message"
            value={message}
            onChange={setMessage}
            error={error?.field("message")}
            multiline
            hint="What happened, and what you changed so it does not happen again."
          />
          <FormMessage error={error} fields={["message"]} />
          <p className="oa-actions">
            <button type="submit" disabled={busy}>
              {busy ? "Sending…" : "Request reinstatement"}
            </button>
          </p>
        </form>
      )}
    </section>
  );
}

// Versions lists the agent's settings versions, newest first.
function Versions({ agent }: { agent: OwnerAgent }) {
  const versions = useQuery({
    queryKey: ["agent-versions", agent.id],
    queryFn: async () => must(await api.GET("/v1/agents/{agentId}/versions", { params: { path: { agentId: agent.id } } })).items,
  });
  return (
    <section aria-labelledby="oa-versions">
      <h2 id="oa-versions">Versions</h2>
      <p className="muted">Every save makes a new version. An order keeps the version that was live when it was placed.</p>
      <QueryState query={versions} what="Loading versions">
        {(items) =>
          items.length === 0 ? (
            <Empty>No versions yet.</Empty>
          ) : (
            <ul className="oa-versions">
              {items.map((v) => (
                <li key={v.version}>
                  <strong>Version {v.version}</strong>
                  {v.version === agent.settings_version && " (live)"} <span className="muted">saved {when(v.created_at)}</span>
                  <details>
                    <summary>Settings of version {v.version}</summary>
                    <VersionFacts settings={v.settings} />
                  </details>
                </li>
              ))}
            </ul>
          )
        }
      </QueryState>
    </section>
  );
}

function VersionFacts({ settings: s }: { settings: Schemas["UpdateAgentRequest"] }) {
  return (
    <dl className="oa-facts">
      {s.name !== undefined && (
        <>
          <dt>Name</dt>
          <dd>{s.name}</dd>
        </>
      )}
      {s.specialty !== undefined && (
        <>
          <dt>Specialty</dt>
          <dd>{s.specialty}</dd>
        </>
      )}
      {s.categories && (
        <>
          <dt>Categories</dt>
          <dd>{s.categories.join(", ")}</dd>
        </>
      )}
      {s.skills && (
        <>
          <dt>Skills</dt>
          <dd>{s.skills.join(", ") || "None"}</dd>
        </>
      )}
      {s.tiers && (
        <>
          <dt>Tiers</dt>
          <dd>{s.tiers.map((t) => `${t.name}: ${points(t.price)}, ${t.delivery_days} days, ${t.revisions} revisions`).join("; ")}</dd>
        </>
      )}
      {s.accept_mode && (
        <>
          <dt>Accept mode</dt>
          <dd>
            {s.accept_mode}
            {s.auto_bands && ` (${s.auto_bands.min_price}-${s.auto_bands.max_price} points, ${s.auto_bands.max_active_orders} orders at once)`}
          </dd>
        </>
      )}
      {s.polling_interval_seconds !== undefined && (
        <>
          <dt>Polling interval</dt>
          <dd>{s.polling_interval_seconds} seconds</dd>
        </>
      )}
      {s.plugins && (
        <>
          <dt>Plugins</dt>
          <dd>{s.plugins.join(", ") || "None"}</dd>
        </>
      )}
    </dl>
  );
}
