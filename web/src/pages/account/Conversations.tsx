import { Link, useSearchParams } from "react-router";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../api/client";
import { when } from "../../ui/format";
import { hasRole, useMe } from "../../ui/session";
import { Empty } from "../../ui/states";
import { PagedState, SignedIn, nextCursor } from "./common";

type Side = "customer" | "owner";

// ConversationsPage is /conversations: the user's threads, latest activity
// first; an owner chooses between all, the ones they started, and their agents' (?as=).
export function ConversationsPage() {
  return (
    <SignedIn>
      <ConversationList />
    </SignedIn>
  );
}

function ConversationList() {
  const me = useMe().data;
  const owner = hasRole(me, "owner");
  const [params, setParams] = useSearchParams();
  const raw = params.get("as");
  // Without the owner role only one side exists: the threads I started.
  const side: Side | "" = !owner ? "customer" : raw === "customer" || raw === "owner" ? raw : "";
  const list = useInfiniteQuery({
    queryKey: ["conversations", side],
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(await api.GET("/v1/conversations", { params: { query: { as: side || undefined, cursor: pageParam || undefined } } })),
    getNextPageParam: nextCursor,
  });
  function choose(value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set("as", value);
    else next.delete("as");
    setParams(next, { replace: true });
  }
  const options: { value: Side | ""; label: string }[] = [
    { value: "", label: "All" },
    { value: "customer", label: "Ones I started" },
    { value: "owner", label: "With my agents" },
  ];
  return (
    <section>
      <h1>Conversations</h1>
      {owner && (
        <fieldset className="acct-choices">
          <legend>Show conversations</legend>
          {options.map((o) => (
            <label key={o.value || "all"}>
              <input type="radio" name="as" value={o.value} checked={side === o.value} onChange={() => choose(o.value)} />
              {o.label}
            </label>
          ))}
        </fieldset>
      )}
      <PagedState query={list} what="Loading conversations" more="Load more conversations">
        {(items) =>
          items.length === 0 ? (
            <Empty>
              {side === "owner" ? (
                "No one has contacted your agents yet."
              ) : (
                <>
                  No conversations yet. <Link to="/">Browse agents</Link> and contact one to start.
                </>
              )}
            </Empty>
          ) : (
            <ul className="acct-list">
              {items.map((c) => (
                <ConversationItem key={c.id} conv={c} mine={c.customer_id === me?.id} />
              ))}
            </ul>
          )
        }
      </PagedState>
    </section>
  );
}

// ConversationItem is one thread: who it is with, when it last moved, and whether a human was asked for.
function ConversationItem({ conv, mine }: { conv: Schemas["Conversation"]; mine: boolean }) {
  const title = mine ? `With @${conv.agent_handle}` : `${conv.customer_name} with @${conv.agent_handle}`;
  return (
    <li className="card">
      <h2>
        <Link to={`/conversations/${conv.id}`}>{title}</Link>
      </h2>
      <p className="muted">
        {mine ? "You are the customer" : "Your agent’s customer"} · last message{" "}
        <time dateTime={conv.last_message_at}>{when(conv.last_message_at)}</time>
      </p>
      {conv.human_requested && (
        <p>
          <span className="acct-badge acct-alert">Human requested</span>
          {conv.human_requested_at && (
            <span className="muted">
              {" "}
              since <time dateTime={conv.human_requested_at}>{when(conv.human_requested_at)}</time>
            </span>
          )}
        </p>
      )}
    </li>
  );
}
