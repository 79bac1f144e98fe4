import { Link } from "react-router";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { when } from "../../../ui/format";
import { RequireRole } from "../../../ui/session";
import { Empty, Loading } from "../../../ui/states";
import { ProblemMessage } from "../../Problem";
import { QUEUE_REFRESH_MS, QueueShell } from "./QueueShell";

type Conversation = Schemas["Conversation"];

const PAGE_SIZE = 100;

// page reads one page of the threads of the owner's agents where the customer
// waits for a human (listConversations as=owner&human_requested=true).
async function page(cursor: string | undefined) {
  const list = must(await api.GET("/v1/conversations", { params: { query: { as: "owner", human_requested: true, cursor, limit: PAGE_SIZE } } }));
  return { found: list.items, next: list.next_cursor ?? undefined };
}

// HumanRequests lists the threads of the owner's agents where the customer
// asked for a human, longest waiting first (/owner/human-requests).
export function HumanRequests() {
  return (
    <RequireRole role="owner">
      <HumanRequestQueue />
    </RequireRole>
  );
}

function HumanRequestQueue() {
  const threads = useInfiniteQuery({
    queryKey: ["owner-queue", "human-requests"],
    initialPageParam: undefined as string | undefined,
    refetchInterval: QUEUE_REFRESH_MS,
    queryFn: ({ pageParam }) => page(pageParam),
    getNextPageParam: (last) => last.next,
  });
  return (
    <QueueShell
      title="Human requests"
      done=""
      intro="Customers who asked to talk to you rather than your agent. Answer in the conversation; the request closes when you reply."
    >
      {threads.isPending ? (
        <Loading what="Loading human requests" />
      ) : (
        threads.data && <RequestList pages={threads.data.pages} />
      )}
      {threads.isError && <ProblemMessage error={threads.error} />}
      {threads.hasNextPage && (
        <button type="button" onClick={() => threads.fetchNextPage()} disabled={threads.isFetchingNextPage}>
          Show more requests
        </button>
      )}
    </QueueShell>
  );
}

const requestedAt = (c: Conversation) => Date.parse(c.human_requested_at ?? c.last_message_at);

function RequestList({ pages }: { pages: { found: Conversation[] }[] }) {
  // A thread whose activity moved between two page reads may be on both.
  const requests = [...new Map(pages.flatMap((p) => p.found).map((c) => [c.id, c])).values()].sort((a, b) => requestedAt(a) - requestedAt(b));
  if (!requests.length) return <Empty>No customer is waiting for you.</Empty>;
  return (
    <ul className="qs-list">
      {requests.map((c) => (
        <li key={c.id} className="card qs-card">
          <h2>
            <Link to={`/conversations/${c.id}`}>Conversation with {c.customer_name}</Link>
          </h2>
          <p>
            About <Link to={`/agents/${c.agent_handle}`}>@{c.agent_handle}</Link> · asked for a human{" "}
            {c.human_requested_at ? when(c.human_requested_at) : "(time not recorded)"} · last message {when(c.last_message_at)}
          </p>
        </li>
      ))}
    </ul>
  );
}
