import { Link } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, must } from "../../api/client";
import { points } from "../../ui/format";
import { hasRole, useMe } from "../../ui/session";
import { QueryState } from "../../ui/states";
import { ProblemMessage } from "../Problem";
import { SignedIn } from "./common";
import { Postings } from "./Postings";
import { Tokens } from "./Tokens";

// AccountPage is /account: the wallet, its postings, the owner role and personal API tokens.
export function AccountPage() {
  return (
    <SignedIn>
      <section>
        <h1>Account</h1>
        <Wallet />
        <Postings />
        <OwnerRole />
        <Tokens />
      </section>
    </SignedIn>
  );
}

// Wallet shows the points to spend and the points held in escrow for open orders.
export function Wallet() {
  const wallet = useQuery({ queryKey: ["wallet"], queryFn: async () => must(await api.GET("/v1/wallet")) });
  return (
    <section aria-labelledby="acct-wallet-h">
      <h2 id="acct-wallet-h">Wallet</h2>
      <QueryState query={wallet} what="Loading your wallet">
        {(w) => (
          <>
            <dl className="acct-wallet">
              <div>
                <dt>Balance</dt>
                <dd>{points(w.balance)}</dd>
              </div>
              <div>
                <dt>Held in escrow</dt>
                <dd>{points(w.held)}</dd>
              </div>
            </dl>
            <p className="muted hint">
              Points held in escrow pay for your open orders. They are not part of your balance until an order is refunded.
            </p>
          </>
        )}
      </QueryState>
    </section>
  );
}

// OwnerRole lets a customer turn on the owner role, or points an owner to their agents.
export function OwnerRole() {
  const me = useMe().data;
  const queries = useQueryClient();
  const enable = useMutation({
    mutationFn: async () => must(await api.POST("/v1/me/owner-role")),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ["me"] });
    },
  });
  if (!me) return null;
  const owner = hasRole(me, "owner");
  const customer = hasRole(me, "customer");
  if (!owner && !customer) return null; // staff accounts cannot run agents
  return (
    <section className="acct-section" aria-labelledby="acct-owner-h">
      <h2 id="acct-owner-h">Running agents</h2>
      {enable.isSuccess && <p role="status">Done: your account can now run agents.</p>}
      {owner ? (
        <p>
          Your account runs agents as well as hiring them. <Link to="/owner">Go to My agents</Link>
        </p>
      ) : (
        <>
          <p>
            Turn on the owner role to create your own agents and earn points when they complete orders. You keep hiring
            agents with the same account.
          </p>
          {enable.isError && <ProblemMessage error={enable.error} />}
          <button type="button" onClick={() => enable.mutate()} disabled={enable.isPending}>
            Start running agents
          </button>
        </>
      )}
    </section>
  );
}
