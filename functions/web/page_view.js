// The page image of the review view: a PNG/JPEG shown as it is, a PDF page drawn in the browser by pdf.js
// (served by the page's own origin under vendor/pdfjs/, never from a CDN), and a box over it where the field
// being edited was read (provenance.fields[name]: page and bbox, ratios of the page size, as Textract gives
// them). The box is placed in percentages of the page, so it stays on the text whatever size the page is drawn.

const PDFJS = "vendor/pdfjs/pdf.min.mjs";
const PDFJS_WORKER = "vendor/pdfjs/pdf.worker.min.mjs";
const IMAGE_TYPES = new Set(["image/png", "image/jpeg"]);

export class PdfViewerMissing extends Error {}

let pdfjsModule = null;
async function pdfjs() {
  if (!pdfjsModule) {
    try {
      pdfjsModule = await import(new URL(PDFJS, document.baseURI).href);
    } catch {
      throw new PdfViewerMissing("PDF pages are drawn by pdf.js, which this server does not have: run `make run` " +
        "(or python -m invoice_local.vendor_pdfjs) once to fetch it into build/pdfjs/.");
    }
    pdfjsModule.GlobalWorkerOptions.workerSrc = new URL(PDFJS_WORKER, document.baseURI).href;
  }
  return pdfjsModule;
}

export class PageView {
  constructor(root) {
    this.root = root;
    this.frame = root.querySelector(".page-frame");
    this.box = root.querySelector(".highlight");
    this.note = root.querySelector(".page-note");
    this.pager = root.querySelector(".page-number");
    this.pdf = null;
    this.page = 0;
    this.pageCount = 0;
    this.token = 0; // a newer open() wins over a slower older one
  }

  message(text) {
    this.note.textContent = text || "";
    this.note.hidden = !text;
  }

  clear() {
    this.token += 1;
    this.pdf?.destroy();
    this.pdf = null;
    this.page = 0;
    this.pageCount = 0;
    this.frame.querySelector(".page-image")?.remove();
    this.frame.hidden = true;
    this.box.hidden = true;
    this.updatePager();
    this.message("");
  }

  /** Show page 1 of the document at `url` (a presigned GET). */
  async open(url, mediaType) {
    this.clear();
    const token = this.token;
    this.mediaType = mediaType;
    if (IMAGE_TYPES.has(mediaType)) {
      const img = document.createElement("img");
      img.className = "page-image";
      img.alt = "the invoice's page";
      await new Promise((resolve, reject) => {
        img.onload = resolve;
        img.onerror = () => reject(new Error("the image could not be loaded (its link may have expired)"));
        img.src = url;
      });
      if (token !== this.token) return;
      this.pageCount = 1;
      this.page = 1;
      this.frame.prepend(img);
      this.frame.hidden = false;
    } else if (mediaType === "application/pdf") {
      const lib = await pdfjs();
      const doc = await lib.getDocument({ url, isEvalSupported: false, disableAutoFetch: true }).promise;
      if (token !== this.token) { doc.destroy(); return; }
      this.pdf = doc;
      this.pageCount = doc.numPages;
      await this.show(1);
    } else {
      this.message(`A ${mediaType || "document of unknown type"} has no page image to show here.`);
    }
    this.updatePager();
  }

  async show(number) {
    if (!this.pdf || number === this.page || number < 1 || number > this.pageCount) return;
    const token = this.token;
    const page = await this.pdf.getPage(number);
    const width = Math.max(this.root.clientWidth, 400);
    const base = page.getViewport({ scale: 1 });
    const viewport = page.getViewport({ scale: (width / base.width) * (window.devicePixelRatio || 1) });
    const canvas = document.createElement("canvas");
    canvas.className = "page-image";
    canvas.width = Math.ceil(viewport.width);
    canvas.height = Math.ceil(viewport.height);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `page ${number} of the invoice`);
    await page.render({ canvas, canvasContext: canvas.getContext("2d"), viewport }).promise;
    if (token !== this.token) return;
    this.frame.querySelector(".page-image")?.remove();
    this.frame.prepend(canvas);
    this.frame.hidden = false;
    this.page = number;
    this.updatePager();
  }

  updatePager() {
    const many = this.pageCount > 1;
    this.pager.textContent = many ? `page ${this.page} of ${this.pageCount}` : "";
    for (const button of this.root.querySelectorAll("figcaption button")) button.hidden = !many;
  }

  /** Put the box on a field's source ({page, bbox}); hide it when the field has no stored box. */
  async highlight(source) {
    const bbox = source?.bbox;
    if (!bbox || !this.pageCount) {
      this.box.hidden = true;
      return;
    }
    if (source.page && source.page !== this.page) await this.show(source.page);
    if (source.page && source.page !== this.page) { this.box.hidden = true; return; }
    const pad = 0.004; // a little air around the text
    const pct = (v) => `${(Math.min(Math.max(v, 0), 1) * 100).toFixed(3)}%`;
    this.box.style.left = pct(bbox.left - pad);
    this.box.style.top = pct(bbox.top - pad);
    this.box.style.width = pct(bbox.width + 2 * pad);
    this.box.style.height = pct(bbox.height + 2 * pad);
    this.box.hidden = false;
    this.box.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
}
