import type { RouteObject } from "react-router";
import { Orders } from "./Orders";
import { OrderPage } from "./OrderPage";
import "./order.css";

// The routes of this area; App mounts them.
export const routes: RouteObject[] = [
  { path: "/orders", element: <Orders /> },
  { path: "/orders/:id", element: <OrderPage /> },
];
