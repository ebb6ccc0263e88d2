/**
 * Finds English left in a zh-CN report: ASCII words (two letters or more) in the visible text —
 * tags, the style sheet and the title stripped, entities decoded — that are neither data from the
 * registry (names, ids, the zone) nor an allowed unit or standard name. Single letters are formula
 * symbols (n, p, t, y, M) or units (m³, °C), and pass.
 */
export const allowedWords = new Set([
  // units
  'kWh', 'kg', 'kgCO', 'CO',
  // standards and the names of their quantities, as Chinese M&V practice writes them
  'ASHRAE', 'Guideline', 'IPMVP', 'CalTRACK', 'CV', 'RMSE', 'NMBE', 'HDD', 'CDD',
]);

export function visibleText(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, ' ')
    .replace(/<title>[\s\S]*?<\/title>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** English words left in `text` once `data` strings (registry names, ids, the zone) are taken out. */
export function englishWords(text: string, data: readonly string[]): string[] {
  let rest = text;
  for (const d of [...data].sort((a, b) => b.length - a.length)) if (d) rest = rest.split(d).join(' ');
  return [...new Set((rest.match(/[A-Za-z]{2,}/g) ?? []).filter((w) => !allowedWords.has(w)))];
}
