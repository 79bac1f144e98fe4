import type { RouteObject } from "react-router";

// The routes of this area; App mounts them.
export const routes: RouteObject[] = [];
