/**
 * The panel's view: a title bar and one body, either a notebook's explorer view or
 * the empty state. It holds no notebook state; `ExplorerPanel` tells it what to show.
 */
import { Panel, Widget } from '@lumino/widgets';

import { IEmptyStateOptions, renderEmptyState } from './emptystate';

export class ExplorerView extends Panel {
  constructor() {
    super();
    this.addClass('nasnb-Explorer');
    this._header.addClass('nasnb-Explorer-title');
    this.addWidget(this._header);
    this._empty.addClass('nasnb-Explorer-body');
  }

  /** Show `view` (a renderer the caller owns and caches) under a title. */
  showView(view: Widget, title: string): void {
    this._header.node.textContent = title;
    this._setBody(view);
  }

  /** Show the empty state, rebuilt from scratch so no stale node survives. */
  showEmpty(options: IEmptyStateOptions): void {
    this._header.node.textContent = 'NAS Explorer';
    this._empty.node.replaceChildren(renderEmptyState(document, options));
    this._setBody(this._empty);
  }

  /** Detach `view` if it is shown, without disposing it (the caller may show it again). */
  release(view: Widget): void {
    if (view.parent === this) {
      view.parent = null;
    }
  }

  private _setBody(body: Widget): void {
    if (this._body === body && body.parent === this) {
      return;
    }
    if (this._body && this._body.parent === this) {
      this._body.parent = null;
    }
    this._body = body;
    this.addWidget(body);
  }

  private _header = new Widget();
  private _empty = new Widget();
  private _body: Widget | null = null;
}
