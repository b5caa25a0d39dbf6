/** The neighbourhood feed: posts from the first page and from the live subscription, merged. */

export interface FeedPost {
  id: string;
  kind: string;
  title: string;
  text: string;
  authorName: string;
  createdAt: string;
  startsAt?: string | null;
  placeName?: string | null;
  claimedBy?: string | null;
}

/** `incoming` added to `feed` newest first, without duplicates (a post can come both ways). */
export function mergePosts(feed: readonly FeedPost[], incoming: readonly FeedPost[]): FeedPost[] {
  const byId = new Map<string, FeedPost>();
  for (const post of [...incoming, ...feed]) if (!byId.has(post.id)) byId.set(post.id, post);
  return [...byId.values()].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

/** Without the posts a moderator hid (or the author deleted). */
export function withoutPost(feed: readonly FeedPost[], id: string): FeedPost[] {
  return feed.filter((post) => post.id !== id);
}
