import { describe, expect, it } from "vitest";
import { mergePosts, withoutPost, type FeedPost } from "./feed";

const post = (id: string, createdAt: string): FeedPost => ({
  id,
  kind: "GIVEAWAY",
  title: id,
  text: "",
  authorName: "Claire",
  createdAt,
});

describe("mergePosts", () => {
  it("puts the newest first and drops a post received twice (live and from the page)", () => {
    const feed = [post("a", "2026-12-01T10:00:00Z"), post("b", "2026-12-01T09:00:00Z")];
    const merged = mergePosts(feed, [post("c", "2026-12-02T08:00:00Z"), post("a", "2026-12-01T10:00:00Z")]);
    expect(merged.map((p) => p.id)).toEqual(["c", "a", "b"]);
  });
  it("removes a hidden post", () => {
    expect(withoutPost([post("a", "2026-12-01T10:00:00Z")], "a")).toEqual([]);
  });
});
