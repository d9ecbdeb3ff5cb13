// Light or dark, as the Cockpit shell says: its `shell:style` setting (auto/light/dark, shared through
// localStorage and the `cockpit-style` event) and, for auto, the system's colour preference. Sets
// `pf-theme-dark` on <html> as Cockpit's own pages do; the stylesheet does the rest.

const DARK_QUERY = '(prefers-color-scheme: dark)';

function apply(style?: string): void {
  let wanted = style;
  if (!wanted) {
    try {
      wanted = window.localStorage.getItem('shell:style') ?? 'auto';
    } catch {
      wanted = 'auto';
    }
  }
  const systemDark = window.matchMedia?.(DARK_QUERY).matches ?? false;
  const dark = wanted === 'dark' || (wanted === 'auto' && systemDark);
  document.documentElement.classList.toggle('pf-theme-dark', dark);
}

export function followShellTheme(): void {
  window.addEventListener('storage', (e) => {
    if (e.key === 'shell:style') apply();
  });
  window.addEventListener('cockpit-style', (e) => {
    const detail = (e as CustomEvent<{ style?: string }>).detail;
    apply(detail?.style);
  });
  window.matchMedia?.(DARK_QUERY).addEventListener('change', () => apply());
  apply();
}
