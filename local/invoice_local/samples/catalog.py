"""The sample set's content: locales, fictional vendors and customers, their goods and services, and a builder per
document that draws quantities, prices, numbers and dates from a seeded RNG.

Every company, person, address, registration and account number here is invented for these samples (nothing is
taken from ../shared/data). IBANs and the French VAT key carry valid check digits so that a validator in the
pipeline sees well-formed identifiers, as it would on real invoices."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from invoice_local.samples.model import Invoice, Layout, LineItem, Locale, Party

# (description, unit printed after the quantity, lowest price, highest price, quantities to choose from)
Item = tuple[str, str, str, str, tuple[str, ...]]

EN_US = Locale(
    tag="en-US", currency="USD", group=",", decimal=".", symbol="$", symbol_first=True, symbol_space=False,
    date_pattern="{month} {d}, {y}",
    words={"title": "INVOICE", "number": "Invoice #", "date": "Invoice Date", "due": "Due Date",
           "bill_to": "BILL TO", "description": "Description", "qty": "Qty", "unit_price": "Rate",
           "amount": "Amount", "pos": "#", "subtotal": "Subtotal", "tax": "Sales Tax ({rate}%)", "total": "Total",
           "page": "Page {n} of {nb}"},
)
EN_GB = Locale(
    tag="en-GB", currency="GBP", group=",", decimal=".", symbol="£", symbol_first=True, symbol_space=False,
    date_pattern="{d:02d}/{m:02d}/{y}",
    words={"title": "Invoice", "number": "Invoice No.", "date": "Invoice Date", "due": "Due Date",
           "bill_to": "Invoice to", "description": "Description", "qty": "Qty", "unit_price": "Unit Price",
           "amount": "Amount", "pos": "No.", "subtotal": "Subtotal", "tax": "VAT {rate}%", "total": "Total",
           "page": "Page {n} of {nb}"},
)
DE_DE = Locale(
    tag="de-DE", currency="EUR", group=".", decimal=",", symbol="€", symbol_first=False, symbol_space=True,
    date_pattern="{d:02d}.{m:02d}.{y}",
    words={"title": "Rechnung", "number": "Rechnungsnummer", "date": "Rechnungsdatum", "due": "Fällig am",
           "bill_to": "Rechnungsempfänger", "description": "Beschreibung", "qty": "Menge",
           "unit_price": "Einzelpreis", "amount": "Gesamt", "pos": "Pos.", "subtotal": "Nettobetrag",
           "tax": "MwSt {rate}%", "total": "Gesamtbetrag", "page": "Seite {n} von {nb}"},
)
DE_CH = Locale(
    tag="de-CH", currency="CHF", group="'", decimal=".", symbol="CHF", symbol_first=True, symbol_space=True,
    date_pattern="{d:02d}.{m:02d}.{y}",
    words={"title": "Rechnung", "number": "Rechnungs-Nr.", "date": "Datum", "due": "Zahlbar bis",
           "bill_to": "Rechnungsadresse", "description": "Bezeichnung", "qty": "Menge", "unit_price": "Preis",
           "amount": "Betrag", "pos": "Pos.", "subtotal": "Zwischensumme", "tax": "MWST {rate}%",
           "total": "Rechnungsbetrag", "page": "Seite {n} von {nb}"},
)
FR_FR = Locale(
    # French groups digits with a (narrow) no-break space; U+202F is outside WinAnsi, U+00A0 is what most
    # French invoicing software prints anyway.
    tag="fr-FR", currency="EUR", group="\u00a0", decimal=",", symbol="€", symbol_first=False, symbol_space=True,
    date_pattern="{d:02d}/{m:02d}/{y}",
    words={"title": "FACTURE", "number": "N° de facture", "date": "Date de facture", "due": "Date d'échéance",
           "bill_to": "Facturé à", "description": "Désignation", "qty": "Qté", "unit_price": "Prix unit. HT",
           "amount": "Montant HT", "pos": "N°", "subtotal": "Total HT", "tax": "TVA {rate}%", "total": "Total TTC",
           "page": "Page {n} sur {nb}"},
)
NL_NL = Locale(
    tag="nl-NL", currency="EUR", group=".", decimal=",", symbol="€", symbol_first=True, symbol_space=True,
    date_pattern="{d:02d}-{m:02d}-{y}",
    words={"title": "Factuur", "number": "Factuurnummer", "date": "Factuurdatum", "due": "Vervaldatum",
           "bill_to": "Factuur aan", "description": "Omschrijving", "qty": "Aantal", "unit_price": "Prijs",
           "amount": "Bedrag", "pos": "Nr.", "subtotal": "Subtotaal", "tax": "BTW {rate}%", "total": "Totaal",
           "page": "Pagina {n} van {nb}"},
)
ES_ES = Locale(
    tag="es-ES", currency="EUR", group=".", decimal=",", symbol="€", symbol_first=False, symbol_space=True,
    date_pattern="{d:02d}/{m:02d}/{y}",
    words={"title": "FACTURA", "number": "Nº factura", "date": "Fecha", "due": "Vencimiento",
           "bill_to": "Cliente", "description": "Descripción", "qty": "Cantidad", "unit_price": "Precio unit.",
           "amount": "Importe", "pos": "Nº", "subtotal": "Base imponible", "tax": "IVA {rate}%", "total": "Total",
           "page": "Página {n} de {nb}"},
)


def iban(country: str, bban: str) -> str:
    """An IBAN with correct ISO 13616 check digits, printed in groups of four."""
    digits = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    raw = f"{country}{98 - int(digits) % 97:02d}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def fr_vat(siren: str) -> str:
    """French intra-community VAT number: FR + key + SIREN, key = (12 + 3 * (SIREN mod 97)) mod 97."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def _issue_date(rng: random.Random) -> date:
    day = date(2024, 1, 8) + timedelta(days=rng.randrange(0, 520))
    while day.weekday() >= 5:  # invoices go out on working days
        day += timedelta(days=1)
    return day


def _lines(rng: random.Random, items: Sequence[Item], count: int) -> tuple[LineItem, ...]:
    picked = rng.sample(list(items), count)
    lines = []
    for description, unit, low, high, quantities in picked:
        cents = rng.randint(int(Decimal(low) * 100), int(Decimal(high) * 100))
        lines.append(LineItem(description, Decimal(rng.choice(quantities)), Decimal(cents).scaleb(-2), unit))
    return tuple(lines)


# ---------------------------------------------------------------------------------------------------------------
# One builder per document. Each gets its own RNG (derived from the seed and the file name), so adding or
# reordering documents never changes the others.


def en_us(rng: random.Random) -> Invoice:
    items: list[Item] = [
        ("Data pipeline consulting", "hrs", "145", "185", ("6", "7.5", "12", "16.5", "24")),
        ("Dashboard design and build", "hrs", "120", "150", ("4", "8", "10.5", "14")),
        ("Analytics platform license, annual seat", "", "480", "720", ("3", "5", "8", "12")),
        ("Cloud hosting, monthly plan (Standard)", "", "299", "349", ("1", "3")),
        ("On-site training workshop, full day", "", "1850", "2400", ("1", "2")),
        ("Data quality audit, fixed fee", "", "2750", "3900", ("1",)),
        ("Priority support retainer, quarterly", "", "1200", "1500", ("1",)),
        ("Travel expenses (billed at cost)", "", "210", "690", ("1",)),
    ]
    issued = _issue_date(rng)
    vendor = Party(
        "Bluefin Ridge Analytics LLC",
        ("2150 Larkspur Avenue, Suite 310", "Columbus, OH 43215"),
        "EIN 84-3172605",
        ("billing@bluefinridge.example", "(614) 555-0142"),
    )
    customer = Party("Tamarack Home Goods, Inc.", ("Attn: Accounts Payable", "88 Cobblestone Road",
                                                   "Lancaster, PA 17602"))
    due = issued + timedelta(days=30)
    return Invoice(
        file="en-us-invoice.pdf", locale=EN_US,
        layout=Layout(accent=(23, 62, 110), meta_stacked=True, table_filled=True, logo=True, symbols_in_table=True),
        vendor=vendor, customer=customer, number=f"INV-{issued.year}-{rng.randint(1000, 9999)}",
        issue_date=issued, due_date=due, tax_rate=Decimal("0.075"), lines=_lines(rng, items, rng.randint(4, 6)),
        extra_meta=(("P.O. Number", f"PO-{rng.randint(40000, 49999)}"), ("Terms", "Net 30")),
        terms="Payment due within 30 days. Please reference the invoice number on your remittance.",
        footer=(("Bluefin Ridge Analytics LLC", "2150 Larkspur Avenue, Suite 310", "Columbus, OH 43215"),
                ("Pay by ACH or wire:", "Lakeshore Commerce Bank", "Routing 044115290 · Account 7730019482"),
                ("Questions about this invoice?", "billing@bluefinridge.example", "(614) 555-0142")),
    )


def de_de(rng: random.Random) -> Invoice:
    items: list[Item] = [
        ("Drehteil Welle Ø 12 mm, Edelstahl 1.4305", "Stk.", "8.40", "14.90", ("25", "50", "120", "200")),
        ("Frästeil Gehäusedeckel, AlMg3 eloxiert", "Stk.", "23.50", "38.00", ("10", "20", "40")),
        ("Gewindebuchse M8, Stahl verzinkt", "Stk.", "0.85", "1.45", ("250", "500", "1000")),
        ("Montage und Inbetriebnahme vor Ort", "Std.", "78.00", "96.00", ("3", "4.5", "6", "7.5")),
        ("Oberflächenbehandlung Pulverbeschichtung", "psch.", "180.00", "340.00", ("1",)),
        ("Prüfprotokoll Maßkontrolle (Erstmuster)", "psch.", "95.00", "145.00", ("1",)),
        ("Konstruktionsänderung nach Kundenvorgabe", "Std.", "88.00", "105.00", ("2", "3.5", "5")),
        ("Verpackung und Versand (Spedition)", "psch.", "48.00", "89.00", ("1",)),
    ]
    issued = _issue_date(rng)
    delivered = issued - timedelta(days=rng.randint(1, 6))
    vendor = Party(
        "Kesselring Feinmechanik GmbH",
        ("Am Mühlbach 14", "73431 Aalen"),
        "USt-IdNr.: DE284615937",
        ("Tel. 07361 55 40 10", "buchhaltung@kesselring-fm.example"),
    )
    customer = Party("Brandhorst Logistik AG", ("Abteilung Einkauf", "Industriestraße 7", "28197 Bremen"))
    due = issued + timedelta(days=14)
    return Invoice(
        file="de-rechnung.pdf", locale=DE_DE,
        layout=Layout(accent=(150, 30, 30), title_left=True, sender_line=True, position_column=True),
        vendor=vendor, customer=customer, number=f"RE-{issued.year}-{rng.randint(10000, 99999)}",
        issue_date=issued, due_date=due, tax_rate=Decimal("0.19"), lines=_lines(rng, items, rng.randint(4, 7)),
        extra_meta=(("Kundennummer", f"K-{rng.randint(1000, 9999)}"), ("Leistungsdatum", DE_DE.date(delivered))),
        terms=f"Zahlbar innerhalb von 14 Tagen ohne Abzug bis zum {DE_DE.date(due)}.",
        footer=(("Kesselring Feinmechanik GmbH", "Am Mühlbach 14 · 73431 Aalen", "Geschäftsführer: Jonas Kesselring"),
                ("Amtsgericht Ulm HRB 729114", "USt-IdNr.: DE284615937", "Steuernr.: 50012/40817"),
                ("Ostalb Handelsbank", f"IBAN {iban('DE', '61450920' + '0038271604')}", "BIC OSHBDE61XXX")),
    )


def fr_fr(rng: random.Random) -> Invoice:
    items: list[Item] = [
        ("Suspension laiton brossé Ø 40 cm", "", "265.00", "340.00", ("2", "4", "6")),
        ("Applique murale en verre soufflé", "", "138.00", "176.00", ("4", "8", "10")),
        ("Abat-jour lin naturel, sur mesure", "", "64.00", "92.00", ("6", "12")),
        ("Ampoule LED filament 4 W, 2700 K", "", "7.90", "11.50", ("24", "40", "60")),
        ("Pose et raccordement (heure)", "h", "58.00", "72.00", ("5", "7.5", "12")),
        ("Restauration lustre à pampilles", "", "420.00", "610.00", ("1",)),
        ("Déplacement forfaitaire Avignon", "", "85.00", "120.00", ("1", "2")),
    ]
    issued = _issue_date(rng)
    siren = "812447905"
    vendor = Party(
        "Atelier Clairval SARL",
        ("18 rue des Tanneurs", "69002 Lyon"),
        f"N° TVA : {fr_vat(siren)}",
        ("SIRET 812 447 905 00027", "contact@atelier-clairval.example"),
    )
    customer = Party("Hôtel Les Trois Platanes", ("Service comptabilité", "4 place du Marché", "84000 Avignon"))
    due = issued + timedelta(days=30)
    return Invoice(
        file="fr-facture.pdf", locale=FR_FR,
        layout=Layout(font="Times", accent=(60, 70, 50), table_filled=True),
        vendor=vendor, customer=customer, number=f"F{issued.year}-{rng.randint(1, 999):05d}",
        issue_date=issued, due_date=due, tax_rate=Decimal("0.20"), lines=_lines(rng, items, rng.randint(3, 6)),
        extra_meta=(("N° client", f"C{rng.randint(100, 999)}"),),
        terms=f"Paiement à 30 jours date de facture, soit le {FR_FR.date(due)}. Pas d'escompte pour paiement "
              "anticipé.",
        footer=(("Atelier Clairval SARL au capital de 8 000 €", "RCS Lyon 812 447 905", f"TVA {fr_vat(siren)}"),
                ("Pénalités de retard : 3 fois le taux d'intérêt légal.",
                 "Indemnité forfaitaire pour frais de recouvrement : 40 €."),
                ("Banque Rhône-Saône", f"IBAN {iban('FR', '20041' + '01007' + '0513267K022' + '48')}",
                 "BIC BRSAFRPPXXX")),
    )


def nl_nl(rng: random.Random) -> Invoice:
    items: list[Item] = [
        ("Flyers A5, 135 g/m² gesatineerd, 2.500 st.", "", "118.00", "164.00", ("1", "2", "4")),
        ("Visitekaartjes 350 g/m², 500 st.", "", "39.00", "56.00", ("2", "3", "6")),
        ("Posters A2, mat, 50 st.", "", "142.00", "189.00", ("1", "2")),
        ("Brochures A4, 12 pagina's, geniet", "", "2.35", "3.10", ("250", "500", "750")),
        ("Ontwerp en opmaak", "uur", "68.00", "85.00", ("3", "4.5", "6", "8")),
        ("Drukproef en kleurcorrectie", "", "45.00", "65.00", ("1",)),
        ("Verzendkosten (pakketdienst)", "", "12.50", "24.90", ("1",)),
    ]
    issued = _issue_date(rng)
    vendor = Party(
        "Van Dalsum Drukwerk B.V.",
        ("Havenkade 52", "3024 EH Rotterdam"),
        "BTW-nr.: NL861245337B01",
        ("KvK 74123689", "info@vandalsumdrukwerk.example"),
    )
    customer = Party("Stichting De Groene Linde", ("t.a.v. de penningmeester", "Kerkstraat 9", "3811 CV Amersfoort"))
    due = issued + timedelta(days=30)
    return Invoice(
        file="nl-factuur.pdf", locale=NL_NL,
        layout=Layout(accent=(0, 110, 110), title_left=True, meta_stacked=True),
        vendor=vendor, customer=customer, number=f"{issued.year}{rng.randint(1, 999):04d}",
        issue_date=issued, due_date=due, tax_rate=Decimal("0.21"), lines=_lines(rng, items, rng.randint(3, 6)),
        extra_meta=(("Klantnummer", str(rng.randint(3000, 3999))),),
        terms="Wij verzoeken u het totaalbedrag binnen 30 dagen over te maken onder vermelding van het "
              "factuurnummer.",
        footer=(("Van Dalsum Drukwerk B.V.", "Havenkade 52, 3024 EH Rotterdam", "KvK 74123689"),
                ("BTW-nr. NL861245337B01", "Tel. 010 555 0188"),
                ("Maasstad Bank", f"IBAN {iban('NL', 'MSBK' + '0417729036')}", "BIC MSBKNL2A")),
    )


def es_es(rng: random.Random) -> Invoice:
    items: list[Item] = [
        ("Cambio de aceite y filtro, motor diésel", "", "145.00", "189.00", ("1", "2")),
        ("Pastillas de freno delanteras (juego)", "", "96.00", "138.00", ("1", "2")),
        ("Neumático 315/80 R22.5", "", "385.00", "452.00", ("2", "4")),
        ("Mano de obra mecánico", "h", "42.00", "49.50", ("1.5", "3", "4.5", "6")),
        ("Diagnosis electrónica", "", "55.00", "75.00", ("1",)),
        ("Líquido refrigerante 5 L", "", "18.90", "26.40", ("2", "3")),
        ("Escobillas limpiaparabrisas (par)", "", "24.50", "36.00", ("1", "2")),
    ]
    issued = _issue_date(rng)
    vendor = Party(
        "Talleres Mecánicos Iruña, S.L.",
        ("Calle de la Estafeta 27", "31001 Pamplona (Navarra)"),
        "NIF: B31874562",
        ("Tel. 948 555 271", "taller@talleres-iruna.example"),
    )
    customer = Party("Transportes Hermanos Aldaz, S.A.", ("NIF: A31556093", "Polígono Landaben, Calle E, 12",
                                                         "31012 Pamplona"))
    due = issued + timedelta(days=30)
    return Invoice(
        file="es-factura.pdf", locale=ES_ES,
        layout=Layout(accent=(170, 80, 0), meta_stacked=True, table_filled=True),
        vendor=vendor, customer=customer, number=f"A-{issued.year}/{rng.randint(1, 999):04d}",
        issue_date=issued, due_date=due, tax_rate=Decimal("0.21"), lines=_lines(rng, items, rng.randint(3, 6)),
        extra_meta=(("Matrícula", f"{rng.randint(1000, 9999)} KZT"),),
        terms="Forma de pago: transferencia bancaria a 30 días fecha factura.",
        footer=(("Talleres Mecánicos Iruña, S.L. · NIF B31874562",
                 "Inscrita en el Registro Mercantil de Navarra, Tomo 1482, Folio 77, Hoja NA-30914"),
                ("Caja Rural del Arga", f"IBAN {iban('ES', '3008' + '0217' + '41' + '2709836514')}")),
    )


def en_gb(rng: random.Random) -> Invoice:
    items: list[Item] = [
        ("Oak shelving, fitted (per metre)", "m", "96.00", "128.00", ("3", "4.5", "6")),
        ("Bespoke counter top, European oak", "", "1150.00", "1480.00", ("1",)),
        ("Sash window repair and draught proofing", "", "285.00", "360.00", ("2", "3", "4")),
        ("Joiner labour", "hrs", "38.00", "46.00", ("8", "12.5", "16", "22")),
        ("Materials: fixings, glue and sundries", "", "42.00", "88.00", ("1",)),
        ("Hardwood skirting board, 2.4 m length", "", "21.50", "29.00", ("6", "10", "14")),
        ("Delivery and waste removal", "", "65.00", "95.00", ("1",)),
    ]
    issued = _issue_date(rng)
    vendor = Party(
        "Thornbury & Vale Joinery Ltd",
        ("Unit 4, Millfield Trading Estate", "Skipton Road", "Harrogate HG1 4QS"),
        "VAT Reg No: GB 318 4472 05",
        ("accounts@thornburyvale.example", "01423 555 907"),
    )
    customer = Party("The Old Granary Café Ltd", ("12 Market Place", "Knaresborough", "HG5 8AG"))
    due = issued + timedelta(days=14)
    return Invoice(
        file="en-gb-invoice.pdf", locale=EN_GB,
        layout=Layout(accent=(30, 80, 50), logo=True, position_column=True),
        vendor=vendor, customer=customer, number=f"TVJ-{rng.randint(1000, 9999)}",
        issue_date=issued, due_date=due, tax_rate=Decimal("0.20"), lines=_lines(rng, items, rng.randint(3, 6)),
        extra_meta=(("Your ref.", f"OGC/{rng.randint(100, 999)}"),),
        terms="Payment within 14 days of the invoice date by bank transfer. Thank you for your business.",
        footer=(("Thornbury & Vale Joinery Ltd", "Registered in England and Wales No. 09876543",
                 "VAT Reg No: GB 318 4472 05"),
                ("Northern Dales Bank · Sort code 40-12-76 · Account 31926604",
                 f"IBAN {iban('GB', 'NDDB' + '401276' + '31926604')}")),
    )


MULTIPAGE_ITEMS: list[Item] = [
    (f"{kind}, {colour}", "Stk.", low, high, ("5", "10", "20", "25", "50"))
    for kind, low, high in (
        ("Schuko-Steckdose UP", "3.20", "5.60"),
        ("Aus-/Wechselschalter UP", "3.80", "6.10"),
        ("Serienschalter UP", "5.40", "8.20"),
        ("Abdeckrahmen 1-fach", "0.95", "1.80"),
        ("Abdeckrahmen 3-fach", "2.60", "4.10"),
    )
    for colour in ("reinweiß", "anthrazit")
] + [
    (f"Mantelleitung NYM-J {size} mm², Ring 100 m", "Ring", low, high, ("1", "2", "3", "5"))
    for size, low, high in (("3x1,5", "62.00", "79.00"), ("5x1,5", "96.00", "118.00"), ("3x2,5", "98.00", "121.00"),
                            ("5x2,5", "152.00", "184.00"), ("5x6", "389.00", "442.00"))
] + [
    (f"Leitungsschutzschalter {rating}, 1-polig", "Stk.", "2.90", "4.80", ("6", "12", "24"))
    for rating in ("B10", "B13", "B16", "C16")
] + [
    ("FI-Schutzschalter 40 A / 30 mA, 4-polig", "Stk.", "28.50", "39.90", ("1", "2", "4")),
    ("FI/LS-Kombischalter B16 / 30 mA", "Stk.", "34.00", "46.50", ("2", "4", "6")),
    ("Kleinverteiler AP 3-reihig, 36 TE", "Stk.", "54.00", "72.00", ("1", "2")),
    ("Zählerschrank 2 Zählerplätze, komplett", "Stk.", "389.00", "455.00", ("1",)),
    ("Abzweigdose AP 85x85 mm, IP54", "Stk.", "1.20", "2.10", ("20", "50", "100")),
    ("Geräteverbindungsdose UP Ø 68 mm", "Stk.", "0.32", "0.58", ("50", "100", "200")),
    ("Hohlwanddose Ø 68 mm, luftdicht", "Stk.", "0.69", "1.10", ("50", "100")),
    ("Verbindungsklemme 5x 0,2-4 mm² (Pack 50)", "Pack", "11.50", "15.90", ("2", "4", "6")),
    ("Kabelkanal 40x60 mm, 2 m, reinweiß", "Stk.", "6.40", "8.90", ("10", "20", "30")),
    ("Installationsrohr M20, flexibel, 50 m", "Rolle", "16.80", "22.40", ("2", "4")),
    ("Nagelschelle 7-11 mm (Pack 100)", "Pack", "3.10", "4.60", ("2", "5")),
    ("LED-Panel 62x62 cm, 36 W, 4000 K", "Stk.", "27.90", "39.00", ("4", "8", "12")),
    ("LED-Einbaustrahler 6 W, 2700 K, schwenkbar", "Stk.", "8.40", "12.90", ("10", "20", "30")),
    ("LED-Feuchtraumleuchte 150 cm, 48 W", "Stk.", "32.00", "44.50", ("2", "4", "6")),
    ("Bewegungsmelder AP 180°, IP55", "Stk.", "17.90", "26.50", ("2", "3", "5")),
    ("Dämmerungsschalter AP, IP54", "Stk.", "14.20", "19.80", ("1", "2")),
    ("Rauchwarnmelder 10-Jahres-Batterie", "Stk.", "13.90", "19.90", ("5", "10")),
    ("Türsprechanlage Audio, 2-Familienhaus", "Set", "149.00", "198.00", ("1",)),
    ("Netzwerkdose Cat.6A, 2x RJ45, UP", "Stk.", "9.80", "14.20", ("4", "8", "12")),
    ("Verlegekabel Cat.7 S/FTP, 100 m", "Ring", "74.00", "96.00", ("1", "2")),
    ("Patchkabel Cat.6A, 2 m", "Stk.", "2.40", "3.90", ("10", "20")),
    ("Potentialausgleichsschiene mit Abdeckung", "Stk.", "8.90", "13.50", ("1", "2")),
    ("Erdungsband Edelstahl 30x3,5 mm, 10 m", "Rolle", "41.00", "58.00", ("1", "2")),
    ("Überspannungsschutz Typ 1+2, 3-polig", "Stk.", "138.00", "179.00", ("1",)),
    ("Wärmeschrumpfschlauch-Sortiment", "Set", "12.90", "18.40", ("1", "2")),
    ("Kabelbinder 4,8x300 mm, schwarz (Pack 100)", "Pack", "3.90", "5.80", ("3", "5")),
    ("Herdanschlussdose UP", "Stk.", "2.80", "4.20", ("2", "3")),
    ("Steckdosenleiste 6-fach mit Schalter", "Stk.", "9.90", "15.40", ("2", "4")),
]


def de_multipage(rng: random.Random) -> Invoice:
    issued = _issue_date(rng)
    vendor = Party(
        "Elektro Sonnleitner GmbH & Co. KG",
        ("Großhandel für Elektrotechnik", "Gewerbepark Süd 3", "84034 Landshut"),
        "USt-IdNr.: DE317540286",
        ("Tel. 0871 555 930", "rechnung@sonnleitner-elektro.example"),
    )
    customer = Party("Haustechnik Obermaier e.K.", ("Ludwigstraße 41", "85354 Freising"))
    due = issued + timedelta(days=30)
    return Invoice(
        file="de-rechnung-mehrseitig.pdf", locale=DE_DE,
        layout=Layout(accent=(0, 70, 140), title_left=True, sender_line=True, position_column=True,
                      table_filled=True),
        vendor=vendor, customer=customer, number=f"AR-{issued.year}-{rng.randint(100000, 999999)}",
        issue_date=issued, due_date=due, tax_rate=Decimal("0.19"),
        lines=_lines(rng, MULTIPAGE_ITEMS, rng.randint(38, 42)),
        extra_meta=(("Kundennummer", str(rng.randint(20000, 29999))),
                    ("Lieferschein", f"LS-{rng.randint(500000, 599999)}"),
                    ("Lieferdatum", DE_DE.date(issued - timedelta(days=2)))),
        terms=f"Zahlbar bis zum {DE_DE.date(due)} ohne Abzug. Die Ware bleibt bis zur vollständigen Bezahlung "
              "unser Eigentum.",
        footer=(("Elektro Sonnleitner GmbH & Co. KG", "Gewerbepark Süd 3 · 84034 Landshut",
                 "Amtsgericht Landshut HRA 11482"),
                ("Pers. haftende Gesellschafterin:", "Sonnleitner Verwaltungs GmbH",
                 "Geschäftsführerin: Veronika Sonnleitner"),
                ("Isar-Donau Bank", f"IBAN {iban('DE', '74350061' + '0004187725')}", "BIC IDBADEM1LAN")),
    )


def de_ch_scan(rng: random.Random) -> Invoice:
    items: list[Item] = [
        ("Jahresservice Gas-Heizkessel", "", "285.00", "340.00", ("1",)),
        ("Arbeitszeit Servicemonteur", "Std.", "98.00", "118.00", ("1.5", "2", "3.5", "4")),
        ("Thermostatventil ersetzt, inkl. Kopf", "", "62.00", "84.00", ("2", "3", "5")),
        ("Entkalkung Warmwasserspeicher 300 l", "", "260.00", "320.00", ("1",)),
        ("Kleinmaterial pauschal", "", "18.00", "35.00", ("1",)),
        ("Anfahrtspauschale Region Winterthur", "", "45.00", "65.00", ("1",)),
    ]
    issued = _issue_date(rng)
    vendor = Party(
        "Bergmatter Haustechnik AG",
        ("Zürcherstrasse 88", "8400 Winterthur"),
        "CHE-214.583.906 MWST",
        ("052 555 41 20", "service@bergmatter.example"),
    )
    customer = Party("Wohnbaugenossenschaft Lindenhof", ("Verwaltung", "Lindenhofweg 5", "8406 Winterthur"))
    due = issued + timedelta(days=30)
    return Invoice(
        file="de-ch-rechnung-scan.jpg", locale=DE_CH,
        layout=Layout(accent=(0, 0, 0), title_left=True, sender_line=True),
        vendor=vendor, customer=customer, number=str(rng.randint(24000, 24999)),
        issue_date=issued, due_date=due, tax_rate=Decimal("0.081"), lines=_lines(rng, items, rng.randint(3, 5)),
        extra_meta=(("Kunden-Nr.", str(rng.randint(700, 799))), ("Objekt", "Lindenhofweg 5")),
        terms="Zahlbar innert 30 Tagen netto. Besten Dank für Ihren Auftrag.",
        footer=(("Bergmatter Haustechnik AG", "Zürcherstrasse 88, 8400 Winterthur", "CHE-214.583.906 MWST"),
                ("Zürcher Oberland Kantonalbank", f"IBAN {iban('CH', '00762' + '011623852957')}")),
    )


# file name -> builder. The order is the order of labels.jsonl.
BUILDERS: dict[str, Callable[[random.Random], Invoice]] = {
    "en-us-invoice.pdf": en_us,
    "de-rechnung.pdf": de_de,
    "fr-facture.pdf": fr_fr,
    "nl-factuur.pdf": nl_nl,
    "es-factura.pdf": es_es,
    "en-gb-invoice.pdf": en_gb,
    "de-rechnung-mehrseitig.pdf": de_multipage,
    "de-ch-rechnung-scan.jpg": de_ch_scan,
}


def build_invoices(seed: int) -> list[Invoice]:
    """Every invoice of the set for this seed. A str seed goes through SHA-512 in random.seed, so it does not
    depend on PYTHONHASHSEED."""
    invoices = []
    for name, builder in BUILDERS.items():
        invoice = builder(random.Random(f"{seed}:{name}"))
        if invoice.file != name:
            raise AssertionError(f"builder for {name} produced {invoice.file}")
        invoices.append(invoice)
    return invoices
