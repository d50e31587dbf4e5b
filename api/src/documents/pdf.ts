import PDFDocument from 'pdfkit';

/**
 * PDF layout shared by receipts, invoices and payout statements (pdfkit). One font, DejaVu Sans,
 * embedded (subset) so every text of the catalogue prints, Arabic script included once a catalogue
 * has it (right-to-left shaping is pdfkit's, through fontkit). Texts come from the caller, already
 * translated: nothing here writes words of its own.
 */

export const DOCUMENT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export interface PdfOptions {
  /** Deflate the content streams (default true); tests turn it off to read the text back. */
  compress?: boolean | undefined;
  /** Another TTF (tests on machines without DejaVu); default DOCUMENT_FONT. */
  fontPath?: string | undefined;
}

export interface Column {
  /** Share of the usable width (they add up to 1). */
  width: number;
  align?: 'left' | 'right';
}

const MARGIN = 50;

/** A thin writer over pdfkit: headings, label/value lines, tables; new pages as needed. */
export class PdfWriter {
  private constructor(private readonly doc: PDFKit.PDFDocument) {}

  static async render(title: string, build: (w: PdfWriter) => void, options: PdfOptions = {}): Promise<Buffer> {
    const doc = new PDFDocument({
      size: 'A4',
      margin: MARGIN,
      compress: options.compress ?? true,
      info: { Title: title, Producer: 'Clutch', Creator: 'Clutch' },
      // Each document says where it was made and when in its text; no PDF-level clock needed.
      bufferPages: false,
    });
    doc.registerFont('body', options.fontPath ?? DOCUMENT_FONT);
    doc.font('body');
    const chunks: Buffer[] = [];
    const done = new Promise<Buffer>((resolve, reject) => {
      doc.on('data', (c: Buffer) => chunks.push(c));
      doc.on('end', () => resolve(Buffer.concat(chunks)));
      doc.on('error', reject);
    });
    build(new PdfWriter(doc));
    doc.end();
    return done;
  }

  private get width(): number {
    return this.doc.page.width - 2 * MARGIN;
  }

  private ensureRoom(height: number): void {
    if (this.doc.y + height > this.doc.page.height - MARGIN) this.doc.addPage();
  }

  heading(text: string): this {
    this.doc.fontSize(20).text(text, MARGIN, this.doc.y, { width: this.width });
    this.doc.moveDown(0.5);
    return this;
  }

  subheading(text: string): this {
    this.ensureRoom(40);
    this.doc.moveDown(0.5);
    this.doc.fontSize(13).text(text, MARGIN, this.doc.y, { width: this.width });
    this.doc.moveDown(0.3);
    return this;
  }

  line(text: string): this {
    this.ensureRoom(16);
    this.doc.fontSize(10).text(text, MARGIN, this.doc.y, { width: this.width });
    return this;
  }

  /** `label: value` with the value right-aligned (totals). */
  amount(label: string, value: string, size = 10): this {
    this.ensureRoom(18);
    const y = this.doc.y;
    this.doc.fontSize(size).text(label, MARGIN, y, { width: this.width * 0.6 });
    const after = this.doc.y;
    this.doc.fontSize(size).text(value, MARGIN + this.width * 0.6, y, { width: this.width * 0.4, align: 'right' });
    this.doc.y = Math.max(after, this.doc.y);
    return this;
  }

  space(lines = 1): this {
    this.doc.moveDown(lines);
    return this;
  }

  /** A table: a header row, then rows, each cell in its column. */
  table(columns: readonly Column[], header: readonly string[], rows: readonly (readonly string[])[]): this {
    const row = (cells: readonly string[], size: number): void => {
      this.ensureRoom(16);
      const y = this.doc.y;
      let x = MARGIN;
      let bottom = y;
      cells.forEach((cell, i) => {
        const column = columns[i]!;
        const w = this.width * column.width;
        this.doc.fontSize(size).text(cell, x + 2, y, { width: w - 4, align: column.align ?? 'left' });
        bottom = Math.max(bottom, this.doc.y);
        x += w;
      });
      this.doc.y = bottom + 2;
    };
    row(header, 9);
    const y = this.doc.y;
    this.doc
      .moveTo(MARGIN, y)
      .lineTo(MARGIN + this.width, y)
      .lineWidth(0.5)
      .stroke();
    this.doc.y = y + 3;
    for (const r of rows) row(r, 9);
    return this;
  }
}

/** Answers with a rendered PDF shown inline, named `filename` when saved. */
export function inlinePdf(
  ctx: { type: string; set(field: string, value: string): void },
  filename: string,
  pdf: Buffer,
): Buffer {
  ctx.type = 'application/pdf';
  ctx.set('Content-Disposition', `inline; filename="${filename}"`);
  return pdf;
}
