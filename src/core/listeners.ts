/**
 * Synchronous listeners in the order they were added: the stage cycle's event listeners (the
 * journal) and the runner's checkpoint listeners.
 */
export class Listeners<A extends unknown[]> {
  private readonly list: Array<(...args: A) => void> = [];

  /** Adds `listener`; returns a function that removes it. */
  add(listener: (...args: A) => void): () => void {
    this.list.push(listener);
    return () => {
      const at = this.list.indexOf(listener);
      if (at >= 0) this.list.splice(at, 1);
    };
  }

  /** Calls every listener with `args`, in order. */
  notify(...args: A): void {
    for (const listener of this.list) listener(...args);
  }
}
