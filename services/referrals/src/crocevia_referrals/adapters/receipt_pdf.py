"""A receipt as a one-page PDF, and its QR code (of what identifies it in the trail)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

from reportlab.graphics import renderPDF, renderSVG
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

QR_SIZE = 45 * mm


def qr_drawing(text: str, size: float = QR_SIZE) -> Drawing:
    """``text`` as a QR code drawing of ``size`` points a side."""
    widget = QrCodeWidget(text)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def qr_svg(text: str) -> str:
    """``text`` as a QR code in SVG, base64 (for a ``data:`` image the pages' CSP allows)."""
    return base64.b64encode(renderSVG.drawToString(qr_drawing(text)).encode()).decode()


def receipt_pdf(title: str, rows: Sequence[tuple[str, str]], qr_text: str, footer: Sequence[str]) -> bytes:
    """One A4 page: ``title``, the label/value ``rows``, the QR code of ``qr_text`` and the
    ``footer`` lines (how to check it). Text in the PDF is not compressed, so what it says
    can be searched and checked."""
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=A4, pageCompression=0, invariant=1)
    height = A4[1]
    pdf.setTitle(title)
    pdf.setFont("Helvetica-Bold", 16)
    y = height - 25 * mm
    pdf.drawString(20 * mm, y, title)
    y -= 12 * mm
    for label, value in rows:
        pdf.setFont("Helvetica-Bold", 10)
        pdf.drawString(20 * mm, y, label)
        pdf.setFont("Helvetica", 10)
        for i in range(0, max(len(value), 1), 70):  # long hashes wrap
            pdf.drawString(75 * mm, y, value[i : i + 70])
            y -= 5.5 * mm
        y -= 1.5 * mm
    renderPDF.draw(qr_drawing(qr_text), pdf, 20 * mm, y - QR_SIZE - 4 * mm)
    y -= QR_SIZE + 12 * mm
    pdf.setFont("Helvetica", 8)
    for line in footer:
        pdf.drawString(20 * mm, y, line)
        y -= 4.5 * mm
    pdf.showPage()
    pdf.save()
    return out.getvalue()
