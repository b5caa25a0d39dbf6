/**
 * A small history router: client paths are served `index.html` by the API (api/static.py), so
 * every screen has its own address, and Back works.
 */
export const route = $state({ path: location.pathname, search: location.search });

export function navigate(to: string, { replace = false } = {}): void {
  const url = new URL(to, location.origin);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  route.path = url.pathname;
  route.search = url.search;
  window.scrollTo(0, 0);
}

/** Follows same-origin links without reloading the page. */
export function interceptLinks(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest?.("a");
  if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/graphql")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

addEventListener("popstate", () => {
  route.path = location.pathname;
  route.search = location.search;
});
