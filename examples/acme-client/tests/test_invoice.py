from decimal import Decimal

from acmehealth_billing.invoice import Invoice, total


def test_total_adds_amounts():
    rows = [Invoice("p1", Decimal("10.50"), "DE89370400440532013000"), Invoice("p2", Decimal("4.50"), "")]
    assert total(rows) == Decimal("15.00")
