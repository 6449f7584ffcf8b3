// The terminal side of the live view: the full-screen view on a terminal (alternate screen, hidden
// cursor, restored however we leave), a status line every few seconds when stdout is a pipe.
import { frame, renderView, statusLine, type ViewState } from './view.ts';

const STATUS_LINE_MS = 5_000;

export class Screen {
  readonly isTty = process.stdout.isTTY === true;
  private readonly state: () => ViewState;
  private lastStatusLine = 0;
  private readonly onResize = (): void => this.draw();

  /** `state` is read at each draw. */
  constructor(state: () => ViewState) {
    this.state = state;
  }

  /** Takes over the terminal, or prints `startLine` when there is none. */
  enter(startLine: string): void {
    if (this.isTty) {
      process.stdout.write('\x1b[?1049h\x1b[?25l');
      process.stdout.on('resize', this.onResize);
    } else process.stdout.write(`${startLine}\n`);
  }

  /** Redraws the full view (terminal only). */
  draw(): void {
    if (!this.isTty) return;
    const lines = renderView(this.state(), {
      width: process.stdout.columns || 120,
      height: process.stdout.rows || 40,
      color: true,
    });
    process.stdout.write(frame(lines));
  }

  /** After each refresh: the view on a terminal, else a status line now and then. */
  update(): void {
    if (this.isTty) this.draw();
    else if (Date.now() - this.lastStatusLine >= STATUS_LINE_MS) {
      this.lastStatusLine = Date.now();
      process.stdout.write(`${statusLine(this.state())}\n`);
    }
  }

  /** A line for logs and pipes; on a terminal the view says it. */
  note(line: string): void {
    if (!this.isTty) process.stdout.write(`${line}\n`);
  }

  /** Gives the terminal back; safe to call more than once. */
  restore(): void {
    if (!this.isTty) return;
    process.stdout.off('resize', this.onResize);
    process.stdout.write('\x1b[?25h\x1b[?1049l');
  }
}
