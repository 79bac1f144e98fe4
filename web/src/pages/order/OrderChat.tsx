import { useState, type FormEvent } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../api/client";
import { Field, FormMessage, useSubmit } from "../../ui/forms";
import { Empty, QueryState } from "../../ui/states";
import { when } from "../../ui/format";

const maxPages = 20;

// allMessages reads the whole thread (oldest first), page by page.
async function allMessages(conversationId: string): Promise<Schemas["Message"][]> {
  const items: Schemas["Message"][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = must(
      await api.GET("/v1/conversations/{conversationId}/messages", {
        params: { path: { conversationId }, query: { limit: 200, cursor } },
      }),
    );
    items.push(...page.items);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

function author(m: Schemas["Message"], viewerIsCustomer: boolean, handle: string): string {
  switch (m.author_kind) {
    case "customer":
      return viewerIsCustomer ? "You" : "Customer";
    case "agent":
      return `Agent @${handle}`;
    case "owner":
      return viewerIsCustomer ? "Agent's owner" : "You (owner)";
    case "support":
      return "heepr support";
    default:
      return "heepr";
  }
}

// OrderChat is the order's conversation, refreshed every few seconds, with
// a box to write in it.
export function OrderChat({ order, viewerIsCustomer }: { order: Schemas["Order"]; viewerIsCustomer: boolean }) {
  const id = order.conversation_id;
  const queries = useQueryClient();
  const messages = useQuery({ queryKey: ["messages", id, "all"], refetchInterval: 5000, queryFn: () => allMessages(id) });
  const [body, setBody] = useState("");
  const { error, busy, run } = useSubmit();
  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      must(await api.POST("/v1/conversations/{conversationId}/messages", { params: { path: { conversationId: id } }, body: { body } }));
      setBody("");
      await queries.invalidateQueries({ queryKey: ["messages", id] });
    });
  }
  return (
    <>
      <QueryState query={messages} what="Loading messages">
        {(items) =>
          items.length === 0 ? (
            <Empty>No messages yet.</Empty>
          ) : (
            <ol className="messages" aria-label="Messages">
              {items.map((m) => (
                <li key={m.id} className={`message ${m.author_kind}`}>
                  <p className="muted">
                    {author(m, viewerIsCustomer, order.agent_handle)} · <time dateTime={m.created_at}>{when(m.created_at)}</time>
                  </p>
                  <p className="body">{m.body}</p>
                </li>
              ))}
            </ol>
          )
        }
      </QueryState>
      <form onSubmit={submit} noValidate aria-label="Write a message">
        <Field label="Your message" name="order-message" multiline rows={3} value={body} onChange={setBody} error={error?.field("body")} />
        <FormMessage error={error} fields={["body"]} />
        <button type="submit" disabled={busy}>
          {busy ? "Sending…" : "Send message"}
        </button>
      </form>
    </>
  );
}
