// A few lines of DOM building for the page's views (no framework: the page is small and Cockpit's
// own pages of this size do the same). Text always goes in as text nodes, never as HTML.

export type Child = Node | string | null | undefined | false;

/** An element with attributes (`class`, `aria-*`, `data-*`, …) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** The element with this id; a page that lacks it is a packaging error worth a clear message. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`bound-images: index.html has no element #${id}`);
  return el as T;
}

/**
 * A path or reference that may wrap after each `/` (and `:` or `@` before a tag or digest) instead of
 * in the middle of a name: the text with <wbr> break opportunities.
 */
export function breakable(text: string): DocumentFragment {
  const frag = document.createDocumentFragment();
  for (const part of text.split(/(?<=[/:@])/)) {
    if (frag.childNodes.length > 0) frag.append(document.createElement('wbr'));
    frag.append(document.createTextNode(part));
  }
  return frag;
}
