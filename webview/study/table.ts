// The study table: one row per cell, sortable by any column (a click on its header: ascending,
// descending, off) and filtered by a text box over the cell id and its settings. The rows, the
// sorting and the filter are @tanstack/table-core's (headless); this file only draws its row model
// into a <table>, with text nodes (a setting's value is the workspace's, never markup).

import {
  createTable,
  getCoreRowModel,
  getFilteredRowModel,
  getSortedRowModel,
  type ColumnDef,
  type SortingState,
  type Table,
  type TableState,
  type Updater,
} from '@tanstack/table-core';
import { gainText, pValueText, sortValue, summaryText, type CellRow } from './rows';

interface ColumnMeta {
  title: string;
  /** Right-aligned numbers. */
  numeric: boolean;
  text: (row: CellRow) => string;
}

function column(id: string, title: string, value: (row: CellRow) => number | string | undefined, text: (row: CellRow) => string, numeric = true): ColumnDef<CellRow, unknown> {
  const meta: ColumnMeta = { title, numeric, text };
  return { id, accessorFn: value, meta, sortUndefined: 'last', enableGlobalFilter: !numeric, sortingFn: numeric ? 'basic' : 'alphanumeric' };
}

const COLUMNS: ColumnDef<CellRow, unknown>[] = [
  column('cell', 'Cell', (r) => r.id, (r) => r.id, false),
  column('settings', 'Settings', (r) => r.settings, (r) => r.settings, false),
  column('n', 'n', (r) => r.n, (r) => (r.runs > r.n ? `${r.n}/${r.runs}` : String(r.n))),
  column('aom', 'AOM mean ± std', (r) => sortValue(r.aom?.mean), (r) => summaryText(r.aom)),
  column('dom', 'DOM mean ± std', (r) => sortValue(r.dom?.mean), (r) => summaryText(r.dom)),
  column('baseline', 'Baseline', (r) => sortValue(r.baseline?.mean), (r) => summaryText(r.baseline)),
  column('gainAom', 'AOM gain [95% CI]', (r) => sortValue(r.gainAom?.mean), (r) => gainText(r.gainAom)),
  column('pAom', 'p (AOM)', (r) => sortValue(r.gainAom?.pValue), (r) => pValueText(r.gainAom)),
  column('gainDom', 'DOM gain [95% CI]', (r) => sortValue(r.gainDom?.mean), (r) => gainText(r.gainDom)),
  column('pDom', 'p (DOM)', (r) => sortValue(r.gainDom?.pValue), (r) => pValueText(r.gainDom)),
];

export interface StudyTableHandlers {
  /** A row was clicked (or Enter on it): its cell id. */
  onSelect(cellId: string): void;
  /** Sorting or filter changed (the page saves them). */
  onStateChange(sorting: SortingState, filter: string): void;
}

export class StudyTable {
  private readonly table: Table<CellRow>;
  private state: TableState;
  private selected: string | null = null;
  private readonly element: HTMLTableElement;

  constructor(
    container: HTMLElement,
    private readonly handlers: StudyTableHandlers,
    initial: { sorting: SortingState; filter: string },
  ) {
    this.element = container.appendChild(document.createElement('table'));
    this.element.className = 'study-table';
    this.table = createTable<CellRow>({
      data: [],
      columns: COLUMNS,
      state: {},
      onStateChange: () => undefined,
      renderFallbackValue: null,
      getCoreRowModel: getCoreRowModel(),
      getSortedRowModel: getSortedRowModel(),
      getFilteredRowModel: getFilteredRowModel(),
      globalFilterFn: 'includesString',
      getColumnCanGlobalFilter: (col) => col.id === 'cell' || col.id === 'settings',
    });
    this.state = { ...this.table.initialState, sorting: initial.sorting, globalFilter: initial.filter };
    this.table.setOptions((prev) => ({ ...prev, state: this.state, onStateChange: (updater: Updater<TableState>) => this.setState(updater) }));
  }

  get sorting(): SortingState {
    return this.state.sorting;
  }

  get filter(): string {
    return String(this.state.globalFilter ?? '');
  }

  setRows(rows: CellRow[], selected: string | null): void {
    this.selected = selected;
    this.table.setOptions((prev) => ({ ...prev, data: rows, state: this.state }));
    this.render();
  }

  setFilter(text: string): void {
    this.table.setGlobalFilter(text);
  }

  /** The rows in the order shown (sorted, filtered). */
  shownRows(): CellRow[] {
    return this.table.getRowModel().rows.map((r) => r.original);
  }

  shownIds(): string[] {
    return this.shownRows().map((r) => r.id);
  }

  private setState(updater: Updater<TableState>): void {
    this.state = typeof updater === 'function' ? updater(this.state) : updater;
    this.table.setOptions((prev) => ({ ...prev, state: this.state }));
    this.handlers.onStateChange(this.state.sorting, this.filter);
    this.render();
  }

  private render(): void {
    const head = document.createElement('thead');
    for (const group of this.table.getHeaderGroups()) {
      const tr = head.appendChild(document.createElement('tr'));
      for (const header of group.headers) {
        const meta = header.column.columnDef.meta as ColumnMeta;
        const th = tr.appendChild(document.createElement('th'));
        th.className = meta.numeric ? 'numeric' : '';
        const sorted = header.column.getIsSorted();
        th.setAttribute('aria-sort', sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : 'none');
        const button = th.appendChild(document.createElement('button'));
        button.type = 'button';
        button.dataset.column = header.column.id;
        button.textContent = `${meta.title}${sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}`;
        button.addEventListener('click', header.column.getToggleSortingHandler() ?? (() => undefined));
      }
    }
    const body = document.createElement('tbody');
    for (const row of this.table.getRowModel().rows) {
      const tr = body.appendChild(document.createElement('tr'));
      tr.dataset.cell = row.original.id;
      tr.tabIndex = 0;
      if (row.original.id === this.selected) tr.classList.add('selected');
      tr.addEventListener('click', () => this.handlers.onSelect(row.original.id));
      tr.addEventListener('keydown', (e) => e.key === 'Enter' && this.handlers.onSelect(row.original.id));
      for (const cell of row.getVisibleCells()) {
        const meta = cell.column.columnDef.meta as ColumnMeta;
        const td = tr.appendChild(document.createElement('td'));
        td.dataset.column = cell.column.id;
        if (meta.numeric) td.className = 'numeric';
        td.textContent = meta.text(row.original);
      }
    }
    this.element.replaceChildren(head, body);
  }
}
