"""Every CSV the product writes defuses cells a spreadsheet would run as a formula (issue 14, item 3)."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from savegame.csvexport import csv_cell

ROOT = Path(__file__).resolve().parents[2]
EVIL_NAME = "=cmd|' /C calc'!A0"
EVIL_REF = '=HYPERLINK("http://evil.example","x")'


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_cells_that_start_a_formula_are_defused(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Wanjiku", "RKT123", "", 5, Decimal("-100.00"), -3, 1.5, None])
def test_other_cells_are_left_alone(value):
    assert csv_cell(value) == value


def test_ledger_csv_defuses_member_names_and_bill_refs(tenant, org, org_admin, client_for):
    from accounts.factories import UserFactory
    from payments.models import Transaction

    evil = UserFactory(phone_number="+254712000111", name=EVIL_NAME)
    Transaction.objects.create(source="c2b", amount=Decimal("100"), user=evil, status="verified",
                               transaction_id="RKTCSV0001", mpesa_receipt="RKTCSV0001", bill_ref_number="@SUM(1)")
    Transaction.objects.create(source="c2b", amount=Decimal("50"), status="unmatched", transaction_id="RKTCSV0002",
                               mpesa_receipt="RKTCSV0002", bill_ref_number=EVIL_REF)
    client = client_for(org)
    client.force_login(org_admin)
    response = client.get("/manage/transactions/", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
    assert "'" + EVIL_NAME in cells and "'" + EVIL_REF in cells and "'@SUM(1)" in cells
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells)


def test_every_csv_in_the_product_goes_through_the_shared_writer():
    """No module writes CSV with the bare csv module: only savegame/csvexport.py may."""
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "tests/", "bench/", "staticfiles/", ".data/")) or rel == "savegame/csvexport.py":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"csv\.(writer|DictWriter)\(|text/csv", text):
            offenders.append(rel)
    assert offenders == []
