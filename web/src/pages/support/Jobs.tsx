import { useInfiniteQuery } from "@tanstack/react-query";
import { api, must } from "../../api/client";
import { Empty, Loading } from "../../ui/states";
import { when } from "../../ui/format";
import { ProblemMessage } from "../Problem";
import { More, Scroll, SupportPage, useFilters } from "./shared";

type State = "retryable" | "discarded";

// FailedJobs lists background jobs waiting to retry or given up on, newest
// first, with their last error; filtered by state.
export function FailedJobs() {
  return (
    <SupportPage>
      <JobList />
    </SupportPage>
  );
}

function JobList() {
  const filters = useFilters();
  const state = filters.get("state");
  const jobs = useInfiniteQuery({
    queryKey: ["support", "jobs", state],
    initialPageParam: "",
    queryFn: async ({ pageParam }) =>
      must(
        await api.GET("/v1/jobs/failed", {
          params: { query: { state: (state || undefined) as State | undefined, cursor: pageParam || undefined } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = jobs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <h1>Failed jobs</h1>
      <div className="filters">
        <label>
          State
          <select value={state} onChange={(e) => filters.set({ state: e.target.value })}>
            <option value="">Any state</option>
            <option value="retryable">Waiting to retry</option>
            <option value="discarded">Given up (discarded)</option>
          </select>
        </label>
      </div>
      {jobs.isPending && <Loading what="Loading failed jobs" />}
      {jobs.isError && <ProblemMessage error={jobs.error} />}
      {jobs.isSuccess && items.length === 0 && <Empty>No failed jobs. Everything in the background is running.</Empty>}
      {items.length > 0 && (
        <Scroll label="Failed jobs">
          <table className="sup-table">
            <caption className="muted">Newest first</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">State</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
                <th scope="col">Created</th>
                <th scope="col">Last attempt</th>
                <th scope="col">Next attempt or given up</th>
              </tr>
            </thead>
            <tbody>
              {items.map((j) => (
                <tr key={j.id}>
                  <td>
                    {j.kind}
                    {j.queue && <span className="muted"> ({j.queue})</span>}
                    <br />
                    <span className="sup-id muted">{j.id}</span>
                  </td>
                  <td>{j.state === "retryable" ? "Waiting to retry" : "Discarded"}</td>
                  <td>
                    {j.attempt} of {j.max_attempts}
                  </td>
                  <td className="sup-error">{j.last_error || <span className="muted">none recorded</span>}</td>
                  <td>{when(j.created_at)}</td>
                  <td>{when(j.attempted_at)}</td>
                  <td>{j.state === "retryable" ? when(j.scheduled_at) : when(j.finalized_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      <More show={!!jobs.hasNextPage} busy={jobs.isFetchingNextPage} onMore={() => jobs.fetchNextPage()} label="More jobs" />
    </>
  );
}
