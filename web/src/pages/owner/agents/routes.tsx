import type { RouteObject } from "react-router";
import { OwnerDashboardPage } from "./Dashboard";
import { CreateAgentPage } from "./CreateAgent";
import { AgentSettingsPage } from "./AgentSettings";
import "./owner-agents.css";

// The routes of this area; App mounts them.
export const routes: RouteObject[] = [
  { path: "/owner", element: <OwnerDashboardPage /> },
  { path: "/owner/agents/new", element: <CreateAgentPage /> },
  { path: "/owner/agents/:id", element: <AgentSettingsPage /> },
];
