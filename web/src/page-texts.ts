/**
 * For the page tests: texts on the page that did not come from the catalogue, as an expression to
 * evaluate in the page. Text nodes (hidden views included) and accessible names with letters that are
 * not pseudo-localised ("[...]"), outside data (translate="no") and API-worded texts
 * (data-from="api"). A string, because this package is compiled for Node without DOM types.
 */
export const UNLOCALISED_TEXTS = `(() => {
  const localised = (text) => /^\\[[\\s\\S]*\\]$/.test(text.trim());
  const isData = (el) => el.closest('[translate="no"], [data-from="api"]') !== null;
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!/\\p{L}/u.test(text) || !el || isData(el) || localised(text)) continue;
    found.push(el.tagName.toLowerCase() + ': ' + text);
  }
  for (const attr of ['aria-label', 'alt', 'placeholder']) {
    for (const el of document.querySelectorAll('[' + attr + ']')) {
      const text = el.getAttribute(attr);
      if (/\\p{L}/u.test(text) && !isData(el) && !localised(text)) found.push(attr + ': ' + text);
    }
  }
  if (!localised(document.title)) found.push('title: ' + document.title);
  return found;
})()`;
