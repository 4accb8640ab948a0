/**
 * Just enough of a DOM for `renderEmptyState`, and no HTML parser at all: every
 * markup entry point throws, so a test passing here proves text went in as text.
 */
type Listener = () => void;

export class FakeText {
  constructor(public data: string) {}
  get textContent(): string {
    return this.data;
  }
}

export class FakeElement {
  constructor(public readonly tagName: string) {}
  className = '';
  title = '';
  readonly childNodes: (FakeElement | FakeText)[] = [];
  private readonly _listeners = new Map<string, Listener[]>();

  appendChild<T extends FakeElement | FakeText>(child: T): T {
    this.childNodes.push(child);
    return child;
  }
  get textContent(): string {
    return this.childNodes.map(child => child.textContent).join('');
  }
  set textContent(value: string) {
    this.childNodes.splice(0, this.childNodes.length, new FakeText(value));
  }
  set innerHTML(_: string) {
    throw new Error('innerHTML used');
  }
  set outerHTML(_: string) {
    throw new Error('outerHTML used');
  }
  insertAdjacentHTML(): void {
    throw new Error('insertAdjacentHTML used');
  }
  addEventListener(type: string, listener: Listener): void {
    this._listeners.set(type, [...(this._listeners.get(type) ?? []), listener]);
  }
  click(): void {
    for (const listener of this._listeners.get('click') ?? []) {
      listener();
    }
  }
  /** Every element in the subtree, this one first. */
  all(): FakeElement[] {
    const found: FakeElement[] = [this];
    for (const child of this.childNodes) {
      if (child instanceof FakeElement) {
        found.push(...child.all());
      }
    }
    return found;
  }
  byClass(name: string): FakeElement[] {
    return this.all().filter(element => element.className.split(' ').includes(name));
  }
}

export class FakeDocument {
  createElement(tag: string): FakeElement {
    return new FakeElement(tag.toUpperCase());
  }
  createTextNode(text: string): FakeText {
    return new FakeText(text);
  }
}

/** The fake, typed as the `Document` the renderer expects. */
export function fakeDocument(): Document {
  return new FakeDocument() as unknown as Document;
}
