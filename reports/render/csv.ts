/**
 * CSV building blocks (RFC 4180): CRLF line ends, a field with a comma, quote or line break quoted,
 * quotes doubled. A UTF-8 BOM first, or Excel on a Chinese Windows reads the file as GBK. Text
 * cells starting with = + - @ (tab, CR) get a leading apostrophe: a formula would run in Excel
 * (OWASP CSV injection). Numbers are written plain (`1234.5`, dot decimal, no grouping) whatever
 * the language, so a spreadsheet reads them as numbers.
 */

export const BOM = '\uFEFF';

export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  let s = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(cells: readonly unknown[]): string {
  return cells.map(csvField).join(',');
}

/** A named table: `# section` marker row, header row, data rows. */
export interface CsvTable {
  readonly section: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

/**
 * Several tables in one file: each starts with a row holding only `# <section>`, then its header,
 * then its rows; a blank line between tables. One file per report keeps a download a download;
 * a spreadsheet shows the tables one under the other, and a script splits on the `# ` rows.
 */
export function csvDocument(tables: readonly CsvTable[]): string {
  const lines: string[] = [];
  tables.forEach((t, i) => {
    if (i > 0) lines.push('');
    lines.push(csvRow([`# ${t.section}`]), csvRow(t.header));
    for (const r of t.rows) lines.push(csvRow(r));
  });
  return `${BOM}${lines.join('\r\n')}\r\n`;
}
