/**
 * Placeholder rows hold a list's space until its data arrives (the `.placeholder-row` style in app.css): in
 * the page's markup when the list is filled on load, or made here when the page learns later how many rows
 * are coming. Text-free and hidden from assistive technology; the list is `aria-busy` meanwhile.
 */

/** `count` placeholder rows for a list (`<li>`s), to put in it while its rows are fetched. */
export function placeholderRows(count: number): HTMLLIElement[] {
  return Array.from({ length: count }, () => {
    const li = document.createElement('li');
    li.className = 'placeholder-row';
    li.setAttribute('aria-hidden', 'true');
    return li;
  });
}

/** The list's data is in (or is not coming): its placeholder rows go and it is no longer busy. */
export function endPlaceholders(list: HTMLElement): void {
  for (const row of list.querySelectorAll(':scope > .placeholder-row')) row.remove();
  list.removeAttribute('aria-busy');
}
