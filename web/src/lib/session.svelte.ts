/** Who is signed in, as the API says (`me`): the page never holds a token, only this. */
import { graphql, type ResultOf } from "../graphql";
import { client, closeSession, resetConnection } from "./client";

export const MeQuery = graphql(`
  query Me {
    me {
      id
      displayName
      email
      isAdmin
      household {
        id
        name
        exactLocation { lng lat }
        neighbourhood { id name }
      }
    }
    myMembership { status }
  }
`);

export type Me = NonNullable<ResultOf<typeof MeQuery>["me"]>;

const ModerationCountQuery = graphql(`
  query ModerationCount($id: ID!) {
    moderationQueue(neighbourhoodId: $id, first: 1) { totalCount }
  }
`);

export const session = $state({
  loaded: false,
  me: null as Me | null,
  membership: null as string | null,
  /** Open reports in the viewer's neighbourhood; null when the viewer does not moderate it. */
  openReports: null as number | null,
  /** Bumped at every log-in and log-out: live screens resubscribe on a new connection. */
  generation: 0,
});

export async function refreshSession(): Promise<void> {
  const result = await client.query(MeQuery, {}).toPromise();
  session.me = result.data?.me ?? null;
  session.membership = result.data?.myMembership?.status ?? null;
  session.loaded = true;
  await refreshModeration();
}

export async function refreshModeration(): Promise<void> {
  const id = session.me?.household?.neighbourhood.id;
  if (!id) {
    session.openReports = null;
    return;
  }
  const result = await client.query(ModerationCountQuery, { id }).toPromise();
  session.openReports = result.data?.moderationQueue.totalCount ?? null;
}

/** After a log-in or sign-up set the cookie: a new WebSocket, and who we are now. */
export async function sessionOpened(): Promise<void> {
  resetConnection();
  session.generation += 1;
  await refreshSession();
}

const LogOutMutation = graphql(`
  mutation LogOut { logOut { __typename } }
`);

export async function logOut(): Promise<void> {
  await client.mutation(LogOutMutation, {}).toPromise();
  await closeSession();
  resetConnection();
  session.me = null;
  session.membership = null;
  session.openReports = null;
  session.generation += 1;
}
