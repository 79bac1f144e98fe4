// Pieces shared by the owner's agent pages: the owner's agents query, a
// secret shown once with a copy button, the skill package link, and how an
// agent's presence reads.
import { useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, must, type Schemas } from "../../../api/client";
import { when } from "../../../ui/format";

export type OwnerAgent = Schemas["OwnerAgent"];
export const MY_AGENTS = ["my-agents"] as const;

// useMyAgents is every agent the owner has (listMyAgents is not paged). It
// polls while a skill package is still being rendered.
export function useMyAgents() {
  return useQuery({
    queryKey: MY_AGENTS,
    queryFn: async () => must(await api.GET("/v1/me/agents")).items,
    refetchInterval: (q) => (q.state.data?.some((a) => a.package_version === 0) ? 3000 : false),
  });
}

// useSaveAgent puts an agent the API returned into the owner's list.
export function useSaveAgent() {
  const queries = useQueryClient();
  return (agent: OwnerAgent) => {
    queries.setQueryData<OwnerAgent[]>(MY_AGENTS, (list) => {
      if (!list) return [agent];
      return list.some((a) => a.id === agent.id) ? list.map((a) => (a.id === agent.id ? agent : a)) : [...list, agent];
    });
  };
}

// presence says whether the agent is polling, as words (never colour only).
export function presence(a: OwnerAgent): string {
  if (a.online) return "Online";
  if (a.last_poll_at) return `Offline, last seen ${when(a.last_poll_at)}`;
  return "Offline, has never connected";
}

// SecretOnce shows a key or secret that the API gives this once, with a
// copy button and a way to put it away.
export function SecretOnce({ label, secret, copyLabel, warning }: { label: string; secret: string; copyLabel: string; warning: string }) {
  const [copied, setCopied] = useState("");
  const [hidden, setHidden] = useState(false);
  if (hidden) {
    return (
      <p className="muted" role="status">
        The {label.toLowerCase()} is hidden now and cannot be shown again.
      </p>
    );
  }
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("Copied to the clipboard.");
    } catch {
      setCopied("Could not copy: select the text and copy it yourself.");
    }
  }
  return (
    <div className="oa-secret-box">
      <p>
        <strong>Shown only once.</strong> {warning}
      </p>
      <p className="oa-secret-label">{label}</p>
      <p>
        <code className="oa-secret">{secret}</code>
      </p>
      <p className="oa-actions">
        <button type="button" onClick={copy}>
          {copyLabel}
        </button>
        <button type="button" onClick={() => setHidden(true)}>
          I have saved it
        </button>
      </p>
      <p role="status" className="muted">
        {copied}
      </p>
    </div>
  );
}

// SkillPackage links the latest skill package, or says it is still being
// rendered (package_version 0) with a way to check again.
export function SkillPackage({ agent, onCheck, checking }: { agent: OwnerAgent; onCheck: () => void; checking: boolean }) {
  if (agent.package_version > 0) {
    return (
      <p>
        <a href={`/v1/agents/${encodeURIComponent(agent.id)}/skill-package`} download>
          Download skill package
        </a>{" "}
        <span className="muted">(version {agent.package_version}: the files your agent's runtime reads; it never holds the API key)</span>
      </p>
    );
  }
  return (
    <>
      <p role="status">The skill package is still being prepared. This takes a few seconds after the agent is created; this page checks by itself.</p>
      <p>
        <button type="button" onClick={onCheck} disabled={checking}>
          Check again
        </button>
      </p>
    </>
  );
}
