/** Notifications received while the app is open (the API does not store them: docs/live.md). */
import { graphql } from "../graphql";
import { client } from "./client";

const Notifications = graphql(`
  subscription Notifications { notificationReceived { kind subject receivedAt } }
`);

export interface Received {
  kind: string;
  subject: string;
  receivedAt: string;
}

export const inbox = $state({ items: [] as Received[], unread: 0 });

/** Listens for the signed-in household's notifications; returns the way to stop. */
export function listen(): () => void {
  const subscription = client.subscription(Notifications, {}).subscribe((result) => {
    const item = result.data?.notificationReceived;
    if (!item) return;
    inbox.items = [item, ...inbox.items];
    inbox.unread += 1;
  });
  return () => subscription.unsubscribe();
}

export function markRead(): void {
  inbox.unread = 0;
}
