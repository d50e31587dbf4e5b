/**
 * The text of a PDF this module wrote with `compress: false` (tests only): pdfkit shows text as
 * glyph ids (`[<0001> 44.9 <0002...>] TJ`) of a subset font, and writes the font's ToUnicode map
 * (`beginbfrange` / `beginbfchar`), so mapping ids back to characters gives the text, one string per
 * text run (a line of a cell). Enough for documents with the one embedded font pdf.ts uses.
 */
export function pdfText(pdf: Buffer): string[] {
  const s = pdf.toString('latin1');
  if (s.includes('/FlateDecode')) throw new Error('pdfText reads uncompressed PDFs only (compress: false)');
  const map = new Map<number, string>();
  // A ligature maps to several characters: `<0066 0066>` is "ff".
  const hexText = (h: string): string =>
    String.fromCharCode(...(h.replace(/\s+/g, '').match(/.{4}/g) ?? []).map((u) => Number.parseInt(u, 16)));
  for (const block of s.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const m of block[1]!.matchAll(/<([0-9a-f]+)>\s*<([0-9a-f]+)>\s*(\[[^\]]*\]|<[0-9a-f]+>)/gi)) {
      const start = Number.parseInt(m[1]!, 16);
      const target = m[3]!;
      if (target.startsWith('[')) {
        [...target.matchAll(/<([0-9a-f\s]+)>/gi)].forEach((t, i) => map.set(start + i, hexText(t[1]!)));
      } else {
        const end = Number.parseInt(m[2]!, 16);
        const base = Number.parseInt(target.slice(1, -1), 16);
        for (let c = start; c <= end; c++) map.set(c, String.fromCodePoint(base + c - start));
      }
    }
  }
  for (const block of s.matchAll(/beginbfchar([\s\S]*?)endbfchar/g))
    for (const m of block[1]!.matchAll(/<([0-9a-f]+)>\s*<([0-9a-f\s]+)>/gi))
      map.set(Number.parseInt(m[1]!, 16), hexText(m[2]!));
  const runs: string[] = [];
  for (const m of s.matchAll(/\[([^\]]*)\]\s*TJ/g)) {
    let text = '';
    for (const h of m[1]!.matchAll(/<([0-9a-f]+)>/gi))
      for (const code of h[1]!.match(/.{4}/g) ?? []) text += map.get(Number.parseInt(code, 16)) ?? '\uFFFD';
    runs.push(text);
  }
  return runs;
}
