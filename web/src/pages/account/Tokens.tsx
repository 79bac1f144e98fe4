import { useEffect, useRef, useState, type FormEvent } from "react";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../api/client";
import { when } from "../../ui/format";
import { Field, FormMessage, useSubmit } from "../../ui/forms";
import { Empty } from "../../ui/states";
import { ProblemMessage } from "../Problem";
import { PagedState, ScrollTable, nextCursor } from "./common";

type Token = Schemas["PersonalToken"];

// Tokens lists the personal API tokens, creates one (its secret shown once)
// and revokes one after a confirmation.
export function Tokens() {
  const queries = useQueryClient();
  const tokens = useInfiniteQuery({
    queryKey: ["tokens"],
    initialPageParam: "",
    queryFn: async ({ pageParam }) => must(await api.GET("/v1/me/tokens", { params: { query: { cursor: pageParam || undefined } } })),
    getNextPageParam: nextCursor,
  });
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Schemas["CreatedPersonalToken"] | null>(null);
  const [revoked, setRevoked] = useState("");
  const { error, busy, run } = useSubmit();

  function submit(e: FormEvent) {
    e.preventDefault();
    run(async () => {
      const t = must(await api.POST("/v1/me/tokens", { body: { name } }));
      setCreated(t);
      setRevoked("");
      setName("");
      await queries.invalidateQueries({ queryKey: ["tokens"] });
    });
  }

  return (
    <section className="acct-section" aria-labelledby="acct-tokens-h">
      <h2 id="acct-tokens-h">Personal API tokens</h2>
      <p className="muted">
        Scripts send a token as <code>Authorization: Bearer &lt;token&gt;</code> to act as you. Revoke a token you no longer use.
      </p>
      {created && <NewToken token={created} onDone={() => setCreated(null)} />}
      <form onSubmit={submit} aria-labelledby="acct-token-new-h" noValidate>
        <h3 id="acct-token-new-h">Create a token</h3>
        <Field
          label="Token name"
          name="name"
          value={name}
          onChange={setName}
          error={error?.field("name")}
          hint="What the token is for, such as “nightly report script”. Up to 80 characters."
        />
        <FormMessage error={error} fields={["name"]} />
        <p>
          <button type="submit" disabled={busy}>
            Create token
          </button>
        </p>
      </form>
      <h3>Your tokens</h3>
      {revoked && <p role="status">Token “{revoked}” revoked. Requests that use it are now refused.</p>}
      <PagedState query={tokens} what="Loading your tokens" more="Load more tokens">
        {(items) =>
          items.length === 0 ? (
            <Empty>You have no tokens.</Empty>
          ) : (
            <ScrollTable label="Tokens table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Starts with</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last used</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((t) => (
                    <TokenRow key={t.id} token={t} onRevoked={() => setRevoked(t.name)} />
                  ))}
                </tbody>
              </table>
            </ScrollTable>
          )
        }
      </PagedState>
    </section>
  );
}

// NewToken shows a just-created token's secret, the only time it is shown, with a Copy button.
function NewToken({ token, onDone }: { token: Schemas["CreatedPersonalToken"]; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const [copied, setCopied] = useState<"" | "yes" | "no">("");
  useEffect(() => heading.current?.focus(), []);
  async function copy() {
    try {
      await navigator.clipboard.writeText(token.token);
      setCopied("yes");
    } catch {
      setCopied("no");
    }
  }
  return (
    <div className="card acct-secret">
      <h3 ref={heading} tabIndex={-1}>
        New token “{token.name}”
      </h3>
      <p>
        <strong>Copy it now: heepr will not show this token again.</strong> If you lose it, revoke it and create another.
      </p>
      <p className="field">
        <label htmlFor="acct-new-token">Your new token</label>
        <input id="acct-new-token" readOnly value={token.token} onFocus={(e) => e.currentTarget.select()} className="acct-token" />
      </p>
      <p className="acct-actions">
        <button type="button" onClick={copy}>
          Copy token
        </button>
        <button type="button" onClick={onDone}>
          Done, hide it
        </button>
      </p>
      <p role="status">
        {copied === "yes" ? "Copied to the clipboard." : copied === "no" ? "Could not copy; select the token and copy it yourself." : ""}
      </p>
    </div>
  );
}

// TokenRow is one token; Revoke asks for confirmation before revoking it.
function TokenRow({ token, onRevoked }: { token: Token; onRevoked: () => void }) {
  const queries = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const revoke = useMutation({
    mutationFn: async () => {
      const r = await api.DELETE("/v1/me/tokens/{tokenId}", { params: { path: { tokenId: token.id } } });
      if (!r.response.ok) must(r);
    },
    onSuccess: async () => {
      onRevoked();
      await queries.invalidateQueries({ queryKey: ["tokens"] });
    },
  });
  return (
    <tr>
      <td>{token.name}</td>
      <td>
        <code>{token.prefix}…</code>
      </td>
      <td className="acct-nowrap">{when(token.created_at)}</td>
      <td className="acct-nowrap">{token.last_used_at ? when(token.last_used_at) : "Never"}</td>
      <td>
        {confirming ? (
          <div className="acct-actions">
            <span>Revoke it? Anything using it stops working at once.</span>
            <button type="button" aria-label={`Yes, revoke token ${token.name}`} onClick={() => revoke.mutate()} disabled={revoke.isPending}>
              Yes, revoke
            </button>
            <button type="button" autoFocus onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" aria-label={`Revoke token ${token.name}`} onClick={() => setConfirming(true)}>
            Revoke
          </button>
        )}
        {revoke.isError && <ProblemMessage error={revoke.error} />}
      </td>
    </tr>
  );
}
