/**
 * The GraphQL client: queries and mutations by POST on the same origin, subscriptions over one
 * WebSocket (graphql-transport-ws), both authenticated by the httpOnly session cookie the API sets
 * at log-in: no token is ever held by page scripts.
 *
 * `X-Voisinage-Web` is what lets the API use the cookie: a custom header a page on another origin
 * cannot send without a CORS preflight the API refuses (docs/web.md, "Session").
 */
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";

export const WEB_HEADERS = { "x-voisinage-web": "1" } as const;

let ws: WsClient | null = null;

function wsUrl(): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/graphql`;
}

function socket(): WsClient {
  if (ws === null) {
    ws = createWsClient({
      url: wsUrl(),
      lazy: true,
      retryAttempts: Infinity,
      shouldRetry: () => true,
    });
  }
  return ws;
}

function build(): Client {
  return new Client({
    url: "/graphql",
    preferGetMethod: false,
    fetchOptions: () => ({ credentials: "same-origin", headers: { ...WEB_HEADERS } }),
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = socket().subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}

export let client: Client = build();

/**
 * After logging in or out, the WebSocket must reconnect: it was authenticated by the cookie of
 * its handshake. Live screens resubscribe when they see the session change.
 */
export function resetConnection(): void {
  const old = ws;
  ws = null;
  void old?.dispose();
  client = build();
}

/** Headers that ask the API to turn a log-in result into the session cookie. */
export const OPEN_SESSION_HEADERS = { ...WEB_HEADERS, "x-voisinage-session": "open" } as const;

/** Forgets the session cookie (the token itself is revoked by the `logOut` mutation first). */
export async function closeSession(): Promise<void> {
  await fetch("/session", { method: "DELETE", credentials: "same-origin", headers: WEB_HEADERS });
}
