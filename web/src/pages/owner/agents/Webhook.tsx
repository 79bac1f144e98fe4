import { useState, type FormEvent } from "react";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { Field, FormMessage, useSubmit } from "../../../ui/forms";
import { when } from "../../../ui/format";
import { Empty, Loading } from "../../../ui/states";
import { ProblemMessage } from "../../Problem";
import { SecretOnce } from "./shared";

type Webhook = Schemas["Webhook"];

const disabledWhy: Record<NonNullable<Webhook["disabled_reason"]>, string> = {
  gone: "your endpoint answered 410 Gone",
  failing: "no delivery succeeded for 24 hours",
};

// WebhookSection registers, replaces or deletes the agent's webhook, rotates
// its signing secret (shown once) and lists its deliveries.
export function WebhookSection({ agentId }: { agentId: string }) {
  const queries = useQueryClient();
  const key = ["webhook", agentId];
  const hook = useQuery({
    queryKey: key,
    queryFn: async (): Promise<Webhook | null> => {
      const r = await api.GET("/v1/agents/{agentId}/webhook", { params: { path: { agentId } } });
      if (r.response.status === 404) return null; // none registered
      return must(r);
    },
  });
  const [secret, setSecret] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const registered = (r: Schemas["RegisteredWebhook"]) => {
    queries.setQueryData(key, r.webhook);
    setSecret(r.secret);
    void queries.invalidateQueries({ queryKey: ["webhook-deliveries", agentId] });
  };
  const rotate = useMutation({
    mutationFn: async () => must(await api.POST("/v1/agents/{agentId}/webhook/secret", { params: { path: { agentId } } })),
    onSuccess: registered,
  });
  const remove = useMutation({
    mutationFn: async () => {
      const r = await api.DELETE("/v1/agents/{agentId}/webhook", { params: { path: { agentId } } });
      if (!r.response.ok) must(r);
    },
    onSuccess: () => {
      queries.setQueryData(key, null);
      queries.removeQueries({ queryKey: ["webhook-deliveries", agentId] });
      setSecret(null);
      setConfirmDelete(false);
    },
  });

  return (
    <section aria-labelledby="oa-webhook">
      <h2 id="oa-webhook">Webhook</h2>
      <p className="muted">
        Optional: heepr also pushes the agent's events to an HTTPS address you run, signed with a secret. Polling keeps working either way.
      </p>
      {hook.isPending ? (
        <Loading what="Loading the webhook" />
      ) : hook.isError ? (
        <ProblemMessage error={hook.error} />
      ) : (
        <>
          {hook.data ? <WebhookFacts hook={hook.data} /> : <p>No webhook: events reach the agent by polling only.</p>}
          {secret && (
            <SecretOnce
              key={secret}
              label="Webhook signing secret"
              secret={secret}
              copyLabel="Copy secret"
              warning="Your endpoint checks each request's signature with this secret. heepr cannot show it again."
            />
          )}
          <WebhookForm key={hook.data?.url ?? ""} agentId={agentId} current={hook.data} onSaved={registered} />
          {hook.data && (
            <>
              {rotate.isError && <ProblemMessage error={rotate.error} />}
              {remove.isError && <ProblemMessage error={remove.error} />}
              {confirmDelete ? (
                <div className="oa-confirm" role="group" aria-labelledby="oa-webhook-confirm">
                  <p id="oa-webhook-confirm">
                    <strong>Delete the webhook?</strong> Its delivery log is deleted too, and attempts not yet made are dropped.
                  </p>
                  <p className="oa-actions">
                    <button type="button" onClick={() => remove.mutate()} disabled={remove.isPending}>
                      Yes, delete the webhook
                    </button>
                    <button type="button" onClick={() => setConfirmDelete(false)}>
                      Cancel
                    </button>
                  </p>
                </div>
              ) : (
                <p className="oa-actions">
                  <button type="button" onClick={() => rotate.mutate()} disabled={rotate.isPending}>
                    {rotate.isPending ? "Rotating…" : "Rotate secret"}
                  </button>
                  <button type="button" onClick={() => setConfirmDelete(true)}>
                    Delete webhook
                  </button>
                </p>
              )}
              <Deliveries agentId={agentId} />
            </>
          )}
        </>
      )}
    </section>
  );
}

// WebhookFacts is the webhook's address and health.
function WebhookFacts({ hook }: { hook: Webhook }) {
  return (
    <dl className="oa-facts">
      <dt>Address</dt>
      <dd className="oa-break">{hook.url}</dd>
      <dt>State</dt>
      <dd>
        {hook.enabled
          ? "Enabled"
          : `Disabled${hook.disabled_reason ? `: ${disabledWhy[hook.disabled_reason]}` : ""}${hook.disabled_at ? ` (${when(hook.disabled_at)})` : ""}. Save the address again to turn it back on with a new secret.`}
      </dd>
      {hook.consecutive_failures > 0 && (
        <>
          <dt>Failed attempts since the last success</dt>
          <dd>
            {hook.consecutive_failures}
            {hook.failing_since && `, failing since ${when(hook.failing_since)}`}
          </dd>
        </>
      )}
      {hook.previous_secret_expires_at && (
        <>
          <dt>Previous secret</dt>
          <dd>Still signs beside the new one until {when(hook.previous_secret_expires_at)}</dd>
        </>
      )}
    </dl>
  );
}

// WebhookForm registers or replaces the webhook's address.
function WebhookForm({ agentId, current, onSaved }: { agentId: string; current: Webhook | null | undefined; onSaved: (r: Schemas["RegisteredWebhook"]) => void }) {
  const [url, setUrl] = useState(current?.url ?? "");
  const { error, busy, run } = useSubmit();
  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      onSaved(must(await api.PUT("/v1/agents/{agentId}/webhook", { params: { path: { agentId } }, body: { url: url.trim() } })));
    });
  }
  return (
    <form onSubmit={submit} noValidate className="oa-form">
      <Field
        label="Webhook URL"
        name="url"
        type="url"
        value={url}
        onChange={setUrl}
        error={error?.field("url")}
        autoComplete="url"
        hint="An https address on the public internet, e.g. https://hooks.example.com/heepr. Saving issues a new secret."
      />
      <FormMessage error={error} fields={["url"]} />
      <p className="oa-actions">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Save webhook"}
        </button>
      </p>
    </form>
  );
}

// Deliveries is the webhook's delivery log, newest first, page by page.
function Deliveries({ agentId }: { agentId: string }) {
  const log = useInfiniteQuery({
    queryKey: ["webhook-deliveries", agentId],
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(await api.GET("/v1/agents/{agentId}/webhook/deliveries", { params: { path: { agentId }, query: { cursor: pageParam || undefined, limit: 20 } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = log.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <h3>Delivery log</h3>
      {log.isPending ? (
        <Loading what="Loading deliveries" />
      ) : log.isError ? (
        <ProblemMessage error={log.error} />
      ) : items.length === 0 ? (
        <Empty>No deliveries yet. Each event the agent gets is listed here once it is pushed.</Empty>
      ) : (
        <div className="oa-scroll" tabIndex={0} role="region" aria-label="Webhook deliveries">
          <table>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">State</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Last attempt</th>
                <th scope="col">Next attempt</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id}>
                  <td>
                    {d.event_type} <span className="muted">#{d.event_id}</span>
                  </td>
                  <td>{d.state}</td>
                  <td>{d.attempts}</td>
                  <td>{d.last_status ? `HTTP ${d.last_status}` : ""}{d.last_error ? `${d.last_status ? ": " : ""}${d.last_error}` : ""}</td>
                  <td>{when(d.last_attempt_at)}</td>
                  <td>{d.state === "delivered" ? `Delivered ${when(d.delivered_at)}` : when(d.next_attempt_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {log.hasNextPage && (
        <p>
          <button type="button" onClick={() => void log.fetchNextPage()} disabled={log.isFetchingNextPage}>
            {log.isFetchingNextPage ? "Loading…" : "Load more deliveries"}
          </button>
        </p>
      )}
    </>
  );
}
