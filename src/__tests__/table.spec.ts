/**
 * @jest-environment jsdom
 */
import { gridTable, labelTable } from '../table';

describe('the table builder', () => {
  it('puts labels and values in as text, never as HTML', () => {
    const table = labelTable([
      ['Kernel', '<img src=x onerror=alert(1)>'],
      ['Where', 'Slurm batch job']
    ]);
    expect(table.querySelectorAll('img')).toHaveLength(0);
    const rows = [...table.rows].map(r => [...r.cells].map(c => c.textContent));
    expect(rows).toEqual([
      ['Kernel', '<img src=x onerror=alert(1)>'],
      ['Where', 'Slurm batch job']
    ]);
    const th = table.querySelector('th') as HTMLTableCellElement;
    expect(th.scope).toBe('row');
  });

  it('makes column headers and gives back the body rows, nodes kept', () => {
    const button = document.createElement('button');
    button.textContent = 'Revoke';
    const { table, rows } = gridTable(
      ['Notebook', 'Opens', ''],
      [
        ['a.ipynb', '2', button],
        ['<b>b</b>.ipynb', '0', '']
      ]
    );
    const head = [...(table.tHead as HTMLTableSectionElement).rows[0].cells];
    expect(head.map(c => c.textContent)).toEqual(['Notebook', 'Opens', '']);
    expect(head.every(c => (c as HTMLTableCellElement).scope === 'col')).toBe(
      true
    );
    expect(rows).toHaveLength(2);
    expect(rows[0].cells[2].firstChild).toBe(button);
    expect(rows[1].cells[0].textContent).toBe('<b>b</b>.ipynb');
    expect(table.querySelectorAll('b')).toHaveLength(0);
  });
});
