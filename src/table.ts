/**
 * The one builder of the extension's DOM tables (dialogs). Every value is put
 * into the page as text (`textContent`), never as HTML; a cell may also be a
 * node the caller built (a button).
 */

/** A cell: text, or a node built by the caller. */
export type Cell = string | Node;

function fill(cell: HTMLTableCellElement, value: Cell): HTMLTableCellElement {
  if (typeof value === 'string') {
    cell.textContent = value;
  } else {
    cell.appendChild(value);
  }
  return cell;
}

/** A two-column table of `[label, value]` rows, the label as the row's header. */
export function labelTable(rows: [string, Cell][]): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'jp-sdcc-SessionTable';
  const body = table.createTBody();
  for (const [label, value] of rows) {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    tr.appendChild(fill(th, label));
    fill(tr.insertCell(), value);
  }
  return table;
}

/**
 * A table with column headers; returns the table and its body rows (in the
 * order of `rows`), so a caller can remove one.
 */
export function gridTable(
  head: string[],
  rows: Cell[][]
): { table: HTMLTableElement; rows: HTMLTableRowElement[] } {
  const table = document.createElement('table');
  table.className = 'jp-sdcc-SessionTable jp-sdcc-GridTable';
  const headRow = table.createTHead().insertRow();
  for (const label of head) {
    const th = document.createElement('th');
    th.scope = 'col';
    headRow.appendChild(fill(th, label));
  }
  const body = table.createTBody();
  const made = rows.map(cells => {
    const tr = body.insertRow();
    for (const value of cells) {
      fill(tr.insertCell(), value);
    }
    return tr;
  });
  return { table, rows: made };
}
