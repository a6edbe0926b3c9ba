/**
 * A modal on top of the native <dialog> (showModal makes the rest of the page inert and
 * turns Escape into `cancel`), plus what it lacks: Tab and Shift+Tab wrap inside the dialog
 * instead of leaving it, the first focus goes where we say, and focus returns to the control
 * that opened it (or to one we name, when that control is gone).
 */

const FOCUSABLE = [
  'a[href]',
  'button:not([disabled])',
  'input:not([disabled]):not([type="hidden"])',
  'select:not([disabled])',
  'textarea:not([disabled])',
  '[tabindex]:not([tabindex="-1"])',
].join(',');

/** Elements Tab can reach inside `root`, in document order. */
export function tabbable(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => el.tabIndex >= 0 && !el.closest('[hidden]') && el.getClientRects().length > 0);
}

export class Modal {
  private opener: HTMLElement | null = null;
  private returnTo: HTMLElement | null = null;
  private active = false;

  constructor(
    readonly dialog: HTMLDialogElement,
    private readonly onClose?: () => void,
  ) {
    dialog.addEventListener('keydown', (e) => this.trapTab(e));
    // Escape (the native `cancel`) closes the dialog without us: finish when `close` arrives.
    // That event is queued, so it can come after the dialog was opened again (a quick
    // Escape then Enter): open() has finished that close already, and the event is ignored.
    dialog.addEventListener('close', () => {
      if (!this.dialog.open) this.finish();
    });
  }

  get isOpen(): boolean {
    return this.dialog.open;
  }

  open(initialFocus: HTMLElement, opener: HTMLElement | null): void {
    if (this.active && !this.dialog.open) this.finish(); // closed by Escape, `close` not yet here
    this.opener = opener;
    this.returnTo = null;
    this.active = true;
    if (!this.dialog.open) this.dialog.showModal();
    initialFocus.focus();
  }

  /** Closes the dialog; focus goes to `returnTo` if given and visible, else to the opener. */
  close(returnTo?: HTMLElement): void {
    if (!this.dialog.open) return;
    this.returnTo = returnTo ?? null;
    this.dialog.close();
    // The `close` event comes a task later; clean up and move focus now.
    this.finish();
  }

  private finish(): void {
    if (!this.active) return;
    this.active = false;
    this.onClose?.();
    const target = [this.returnTo, this.opener].find((el) => el?.isConnected && !el.closest('[hidden]'));
    this.opener = this.returnTo = null;
    target?.focus();
  }

  private trapTab(e: KeyboardEvent): void {
    if (e.key !== 'Tab' || e.altKey || e.ctrlKey || e.metaKey) return;
    const items = tabbable(this.dialog);
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) {
      e.preventDefault();
      return;
    }
    const active = document.activeElement;
    const inside = active instanceof HTMLElement && this.dialog.contains(active) && active !== this.dialog;
    if (e.shiftKey && (!inside || active === first)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (!inside || active === last)) {
      e.preventDefault();
      first.focus();
    }
  }
}
