import { Link } from "react-router";
import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { when } from "../../../ui/format";
import { RequireRole } from "../../../ui/session";
import { Empty, Loading } from "../../../ui/states";
import { ProblemMessage } from "../../Problem";
import { QUEUE_REFRESH_MS, QueueShell } from "./QueueShell";

type Conversation = Schemas["Conversation"];

// The API cannot filter conversations by human_requested, so each step of the
// queue reads up to this many pages of the owner's threads and keeps the
// marked ones.
const PAGES_PER_STEP = 5;
const PAGE_SIZE = 100;

// scan reads the owner's conversations from cursor on, keeping those where the
// customer asked for a human; it stops after PAGES_PER_STEP pages.
async function scan(cursor: string | undefined) {
  const found: Conversation[] = [];
  let scanned = 0;
  for (let i = 0; i < PAGES_PER_STEP; i++) {
    const page = must(await api.GET("/v1/conversations", { params: { query: { as: "owner", cursor, limit: PAGE_SIZE } } }));
    scanned += page.items.length;
    found.push(...page.items.filter((c) => c.human_requested));
    cursor = page.next_cursor ?? undefined;
    if (!cursor) break;
  }
  return { found, scanned, next: cursor };
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
    queryFn: ({ pageParam }) => scan(pageParam),
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
          Check older conversations
        </button>
      )}
    </QueueShell>
  );
}

const requestedAt = (c: Conversation) => Date.parse(c.human_requested_at ?? c.last_message_at);

function RequestList({ pages }: { pages: { found: Conversation[] }[] }) {
  const requests = pages
    .flatMap((p) => p.found)
    .sort((a, b) => requestedAt(a) - requestedAt(b));
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
