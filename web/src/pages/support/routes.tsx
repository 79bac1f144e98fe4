import type { RouteObject } from "react-router";
import { Cases } from "./Cases";
import { CaseDetail } from "./CaseDetail";
import { Suspensions } from "./Suspensions";
import { AuditLog } from "./Audit";
import { FailedJobs } from "./Jobs";
import "./support.css";

// The support console's routes; App mounts them.
export const routes: RouteObject[] = [
  { path: "/support", element: <Cases /> },
  { path: "/support/cases/:id", element: <CaseDetail /> },
  { path: "/support/suspensions", element: <Suspensions /> },
  { path: "/support/audit", element: <AuditLog /> },
  { path: "/support/jobs", element: <FailedJobs /> },
];
