import type { RouteObject } from "react-router";
import { AccountPage } from "./Account";
import { NotificationsPage } from "./Notifications";
import { ConversationsPage } from "./Conversations";
import "./account.css";

// The routes of this area; App mounts them.
export const routes: RouteObject[] = [
  { path: "/account", element: <AccountPage /> },
  { path: "/notifications", element: <NotificationsPage /> },
  { path: "/conversations", element: <ConversationsPage /> },
];
