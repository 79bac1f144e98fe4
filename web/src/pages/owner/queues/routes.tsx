import type { RouteObject } from "react-router";
import { Approvals } from "./Approvals";
import { Deliveries } from "./Deliveries";
import { HumanRequests } from "./HumanRequests";
import "./queues.css";

// The routes of this area; App mounts them.
export const routes: RouteObject[] = [
  { path: "/owner/approvals", element: <Approvals /> },
  { path: "/owner/deliveries", element: <Deliveries /> },
  { path: "/owner/human-requests", element: <HumanRequests /> },
];
